"""What the runtime tests share: publishing and journaling records, running `hftshm` as a
subprocess against a config, and watching an instance's workers from outside."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np

from hftshm.journal import files
from hftshm.layouts import md
from hftshm.runtime import control_layout as C
from hftshm.runtime import rings
from hftshm.runtime.control import ControlBlock

DATA_FIELDS = [f for f in md.DTYPE.names if f not in ("seq", "publish_ns")]  # the ring stamps the others


def publish(ring, records, chunk=256, pause=0.0):
    pub = ring.publisher()
    for i in range(0, len(records), chunk):
        pub.publish_batch(np.ascontiguousarray(records[i:i + chunk]))
        if pause:
            time.sleep(pause)
    pub.close()


def wait_journaled(h, n, timeout=60):
    """Until the hand-run journal worker has `n` more records on disk (written or found there)."""
    slot = h.control.find_worker("journal")
    deadline = time.monotonic() + timeout
    while True:
        c = h.control.counter_values(slot)
        if c.get("records", 0) + c.get("skipped", 0) >= n:
            return
        assert time.monotonic() < deadline, c
        time.sleep(0.02)


def journal_records(h, records, chunk=256, pause=0.0):
    """Run a journal worker in `h`, publish `records` into md, stop it: the md journal directory."""
    h.spawn("journal", "journal")
    h.wait_running("journal")
    ring = rings.attach(h.cfg.instance, "md")
    publish(ring, records, chunk, pause)
    wait_journaled(h, len(records))
    assert h.stop("journal") == 0
    ring.close()
    return files.ring_dir(h.cfg.run_dir(), "md")


def run_config(tmp_path, name, extra=""):
    """A config file for instance `name` whose data goes under tmp_path/runs."""
    path = tmp_path / f"{name}.toml"
    path.write_text(f'instance = "{name}"\ndata_dir = "{tmp_path / "runs"}"\n{extra}')
    return path


def example_config(tmp_path, name, example, extra=()):
    """A copy of a shipped example config (docs/examples) with instance ``name`` and its data
    under tmp_path/runs; ``extra``: more (pattern, replacement) pairs, each matching once."""
    text = example.read_text()
    for pattern, value in ((r'(?m)^instance = ".*"$', f'instance = "{name}"'),
                           (r'(?m)^data_dir = ".*"$', f'data_dir = "{tmp_path / "runs"}"'), *extra):
        text, n = re.subn(pattern, value, text)
        assert n == 1, f"the example config no longer has {pattern!r}"
    path = tmp_path / example.name
    path.write_text(text)
    return path


def leftovers(name):
    return [f for f in os.listdir("/dev/shm") if f".{name}." in f]


def workers(name, started=None):
    """{worker name: (pid, state)} of a running instance; ``started`` (a list) gets whether the
    supervisor has started every worker (the instance state RUNNING)."""
    ctl = ControlBlock.attach(name)
    try:
        if started is not None:
            started.append(ctl.state == C.RUNNING)
        return {ctl.worker_name(s): (ctl.worker_field(s, C.W_PID), ctl.worker_field(s, C.W_STATE))
                for s in ctl.worker_slots()}
    finally:
        ctl.close()


def wait_running(name, only=None, timeout=180, gone=()):
    """{worker: pid} once every worker (or those in `only`) of instance `name` runs. Without
    `only`, only once the supervisor has started them all: it starts them one at a time, so the
    slots present earlier are just the first few. `gone`: pids of killed workers, whose slots
    still read RUNNING until the supervisor notices; they must have been replaced."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            started = []
            w = workers(name, started)
            want = only or list(w)
            if (want and (only or started[0]) and all(w.get(n, (0, 0))[1] == C.W_RUNNING for n in want)
                    and not {pid for pid, _ in w.values()} & set(gone)):
                return {n: pid for n, (pid, _) in w.items()}
        except Exception:  # the instance may not exist yet
            pass
        assert time.monotonic() < deadline, "workers did not start"
        time.sleep(0.05)


CLI = [sys.executable, "-m", "hftshm.cli"]


@contextlib.contextmanager
def supervisor(*args, output=True):
    """`hftshm ARGS` as a subprocess (stdout and stderr piped when ``output``), killed on the way
    out if it still runs; ``stop(sup)`` ends it like Ctrl-C."""
    pipe = subprocess.PIPE if output else subprocess.DEVNULL
    sup = subprocess.Popen(CLI + [str(a) for a in args], stdout=pipe,
                           stderr=subprocess.STDOUT if output else subprocess.DEVNULL, text=True)
    try:
        yield sup
    finally:
        if sup.poll() is None:
            sup.kill()
            sup.communicate()


def stop(sup, timeout=180) -> str:
    """Ctrl-C the supervisor; its output once it has exited."""
    sup.send_signal(signal.SIGINT)
    return sup.communicate(timeout=timeout)[0]


def cli_ok(*args) -> subprocess.CompletedProcess:
    """`hftshm ARGS` run to its end; it must succeed."""
    out = subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def status_json(instance: str) -> dict:
    """`hftshm status --json` of a running instance."""
    import json

    return json.loads(cli_ok("status", "--json", "--instance", instance).stdout)
