"""End to end under the supervisor: a trading host (`hftshm start` on the simulator: md and fills
out, orders in) and a remote strategy host (`[venue] kind = "bridge"`, one strategy, orders out)
whose strategy trades on the bridged md; its orders are executed on the trading host and their
reports come back to it through fills in, field for field."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from hftshm.journal import files
from hftshm.layouts import exec_report as F
from runtime.helpers import CLI, leftovers

HERE = Path(__file__).resolve().parents[1] / "trading"
SID = 9


@pytest.mark.stress  # two supervised instances: about a minute
def test_a_remote_strategy_trades_through_the_bridge(tmp_path, instance, nats_server):
    box, far = f"{instance}b", f"{instance}f"
    runs = tmp_path / "runs"
    port = _free_port()  # the box's simulator: the far host takes its instrument rules from it
    (tmp_path / "box.toml").write_text(
        f'instance = "{box}"\ndata_dir = "{runs}"\nstrategies = []\n[sim]\nrate = 1000\nport = {port}\n'
        f'[risk]\nmax_feed_age_s = 60.0\n'  # a loaded test machine starts slowly
        f'[bridge]\nurl = "{nats_server.url}"\nmd_out = true\nfills_out = true\n'
        f'orders_in = "{far}"\norders_in_strategies = "{SID}"\n')
    (tmp_path / "far.toml").write_text(
        f'instance = "{far}"\ndata_dir = "{runs}"\n[venue]\nkind = "bridge"\nsymbols = ["btcusdt", "ethusdt"]\n'
        f'rest_url = "http://127.0.0.1:{port}"\n'
        f'[bridge]\nurl = "{nats_server.url}"\nsource = "{box}"\norders_out = true\n'
        f'[[strategies]]\nname = "pas"\nkind = "file"\nid = {SID}\nsymbols = ["btcusdt"]\n'
        f'path = "{HERE / "passive_strategy.py"}"\nclass = "Passive"\nevery_ms = 600\n')
    procs = []
    for n, d in (("box", 20), ("far", 12)):
        procs.append(subprocess.Popen(CLI + ["start", "--headless", "--duration", str(d), "--summary",
                                             str(tmp_path / f"{n}.json"), "--config", str(tmp_path / f"{n}.toml")],
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        deadline = time.monotonic() + 120
        while n == "box" and not (runs / box / "instruments.json").exists():  # its simulator serves the rules
            assert procs[0].poll() is None and time.monotonic() < deadline, "the trading host did not start"
            time.sleep(0.1)
    outs = [p.communicate(timeout=400)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    bsum = json.loads((tmp_path / "box.json").read_text())
    fsum = json.loads((tmp_path / "far.json").read_text())
    fw, bw = fsum["workers"], bsum["workers"]
    assert "execution" not in fw and "risk" not in fw, sorted(fw)
    intents = fw["strategy-pas"]["counters"]["intents"]
    assert intents >= 2, fw["strategy-pas"]
    assert fw["bridge"]["counters"]["orders_out"] == intents, fw["bridge"]["counters"]
    bc = bw["bridge"]["counters"]
    assert bc["orders_in"] == intents and bc["orders_refused"] == 0, bc
    ex = bw["execution"]["counters"]
    assert ex["sent"] + ex["risk_rejects"] + ex["stale"] == intents and ex["duplicates"] == 0, ex
    assert ex["sent"] >= 1, ex
    # the remote strategy saw the reports of its orders: the far fills journal is the box's prefix
    _, want = files.load_ring(runs / box / "journal" / "fills")
    _, got = files.load_ring(runs / far / "journal" / "fills")
    assert len(got) >= 1 and (got["strategy_id"] == SID).any()
    for f in F.DTYPE.names:
        if f != "publish_ns":
            assert (got[f] == want[f][:len(got)]).all(), f
    assert fw["strategy-pas"]["counters"]["fills_in"] >= 1
    assert fw["bridge"]["counters"]["fills_gaps_lost"] == 0
    assert leftovers(box) == [] and leftovers(far) == []


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
