"""End to end under the supervisor: a source `hftshm start` on the simulator with md_out, and a
receiving `hftshm start` with `[venue] kind = "bridge"`; the receiver's md journal must be the
source's, sequence for sequence and field for field (but the local publish time)."""

import json
import subprocess

import numpy as np

from hftshm.journal import files
from hftshm.layouts import md
from runtime.helpers import CLI, leftovers

FIELDS = [f for f in md.DTYPE.names if f != "publish_ns"]


def test_supervised_source_and_receiver(tmp_path, instance, nats_server):
    src, dst = f"{instance}s", f"{instance}r"
    common = f'data_dir = "{tmp_path / "runs"}"\nstrategies = []\n'
    (tmp_path / "src.toml").write_text(
        f'instance = "{src}"\n{common}[sim]\nrate = 2000\n[bridge]\nurl = "{nats_server.url}"\nmd_out = true\n')
    (tmp_path / "dst.toml").write_text(
        f'instance = "{dst}"\n{common}[venue]\nkind = "bridge"\n'
        f'[bridge]\nurl = "{nats_server.url}"\nsource = "{src}"\n')
    procs = [subprocess.Popen(CLI + ["start", "--headless", "--duration", str(d), "--summary",
                                     str(tmp_path / f"{n}.json"), "--config", str(tmp_path / f"{n}.toml")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for n, d in (("src", 15), ("dst", 20))]
    outs = [p.communicate(timeout=400)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    ssum = json.loads((tmp_path / "src.json").read_text())
    dsum = json.loads((tmp_path / "dst.json").read_text())
    _, want = files.load_ring(tmp_path / "runs" / src / "journal" / "md")
    _, got = files.load_ring(tmp_path / "runs" / dst / "journal" / "md")
    assert len(got) > 1000 and len(got) <= len(want), (len(got), len(want))
    c = dsum["workers"]["bridge"]["counters"]
    assert c["src_base"] == 0 and c["gaps_lost"] == 0 and c["src_lost"] == 0 and c["duplicates"] == 0, c
    assert ssum["workers"]["bridge"]["counters"]["lapped_out"] == 0
    for f in FIELDS:
        assert (got[f] == want[f][:len(got)]).all(), f
    assert (got["seq"] == np.arange(len(got))).all()
    assert leftovers(src) == [] and leftovers(dst) == []
