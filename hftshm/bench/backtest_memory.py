"""``hftshm bench backtest --day-records N``: a day of one symbol's md records through the grid
backtest, with the memory of the process that runs it watched from outside.

The journal is the capture's imported records tiled in time up to N records: each copy shifted
by the capture's span plus a second, sequence numbers continued, written in journal files of
1 GiB as ``hftshm start`` rotates them. A backtest maps each file and streams it a chunk at a
time, so its memory should stay near one file's touched pages plus a few chunks, whatever the
journal's size. The parent samples the child's ``/proc/PID/status`` every 20 ms (``RssAnon``:
the process's own memory; ``RssFile``: mapped journal pages, which the kernel can drop at any
time) and takes its ``VmHWM`` (the peak of both together) at the end.

    python -m hftshm.bench.backtest_memory JOURNAL CONFIG_JSON  ->  one JSON object (the child)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROTATE_BYTES = 1 << 30
STATUS_KEYS = ("VmHWM", "VmRSS", "RssAnon", "RssFile")


def tile(md_dir: Path, out_dir: Path, records: int) -> dict:
    """Write ``records`` md records into ``out_dir``: ``md_dir``'s, again and again, later each time."""
    from ..journal import files
    from ..journal.writer import RingJournal, RingSpec
    from ..layouts import md as M

    meta, recs = files.load_ring(md_dir)
    if not len(recs):
        raise ValueError(f"{md_dir}: no records to tile")
    need = records * recs.dtype.itemsize * 1.05  # (the batch frames and file headers: well under 5%)
    free = shutil.disk_usage(out_dir.parent).free
    if free < need:
        raise ValueError(f"{records:,} records need {need / 1e9:.1f} GB in {out_dir.parent}; "
                         f"{free / 1e9:.1f} GB free (set TMPDIR to a larger disk)")
    span = int(recs["recv_ns"].max() - recs["recv_ns"].min()) + 1_000_000_000  # every copy after the last
    journal = RingJournal(out_dir, RingSpec("md", M.LAYOUT, tuple(meta["symbols"])), "bench", ROTATE_BYTES)
    batch = 1 << 15
    written, copy = 0, 0
    try:
        while written < records:
            shifted = recs.copy()
            for field in ("exch_ns", "txn_ns", "recv_ns", "publish_ns"):
                col = shifted[field]
                col[col > 0] += copy * span
            shifted["seq"] = np.arange(written + 1, written + len(shifted) + 1)
            shifted = shifted[: records - written]
            for lo in range(0, len(shifted), batch):
                journal.write(shifted[lo: lo + batch])
            written += len(shifted)
            copy += 1
    finally:
        journal.close()
    size = sum(p.stat().st_size for p in files.ring_files(out_dir))
    return {"records": written, "bytes": size, "copies": copy, "files": len(files.ring_files(out_dir)),
            "span_s": copy * span / 1e9}


def _status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in STATUS_KEYS:
                    out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def measure(journal: Path, data: dict) -> dict:
    """The grid backtest of ``journal`` in a child process; its figures and its memory. The
    child never outlives this call (an error, Ctrl-C); RuntimeError when it fails."""
    peak = {k: 0 for k in STATUS_KEYS}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:  # (a pipe could fill)
        child = subprocess.Popen([sys.executable, "-m", "hftshm.bench.backtest_memory", str(journal),
                                  json.dumps(data)], stdout=out, stderr=err, text=True)
        try:
            while child.poll() is None:
                for k, v in _status(child.pid).items():
                    peak[k] = max(peak[k], v)
                time.sleep(0.02)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise RuntimeError(f"the backtest's process exited {child.returncode}: {err.read().strip()[-400:]}")
        result = json.loads(out.read().strip().splitlines()[-1])
    result.update({"peak_rss_anon_bytes": peak["RssAnon"], "peak_rss_file_bytes": peak["RssFile"],
                   "peak_rss_sampled_bytes": peak["VmRSS"]})
    return result


def main() -> None:
    import resource

    from ..backtest import config as C
    from ..backtest.run import run

    journal, data = Path(sys.argv[1]), json.loads(sys.argv[2])
    t, c = time.perf_counter(), time.process_time()
    r = run(journal, None, cfg=C.from_dict(data, list(data["backtest"]["symbols"])))
    t, c = time.perf_counter() - t, time.process_time() - c
    hwm = _status(os.getpid()).get("VmHWM", 0)
    print(json.dumps({"records": r["records"], "engine": r["engine"], "s": t, "cpu_s": c,
                      "records_per_s": r["records"] / t, "trades": r["summary"]["trades"],
                      "peak_rss_bytes": hwm, "ru_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
