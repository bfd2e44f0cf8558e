"""Nobody gets in (issue 16, points 11-14).

11. The API key pair reaches the execution worker alone, through an inherited pipe: no other
    worker (nor execution itself) has it in its environment, a ``kind = "file"`` strategy cannot
    find it, and execution signs with it.
12. Wake-up sockets and semaphores have random names: another user who took the names a reader
    used to draw (``<pid>.<n>``) stops nothing.
13. Every directory hftshm creates is 0700, every file 0600, every shared object 0600.
14. A second OS user (uid 65534, nobody) gets named errors, sees the owner of another user's
    instance and never calls it dead, cleans only their own, and runs their own side by side.

The second user is real: the tests run as root and switch to uid 65534 in a child process; not
as root, they fail saying so.
"""

import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import posix_ipc
import pytest

from hftshm import instances, naming, procinfo
from hftshm.exchange.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from hftshm.layouts import bench
from hftshm.risk import reasons as R
from hftshm.ring import BroadcastRing
from hftshm.ring import header as H
from hftshm.runtime import control_layout as C
from hftshm.runtime.control import ControlBlock
from hftshm.runtime.worker_env import WorkerEnv
from hftshm.trading import credentials
from hftshm.launch.trading_instance import TradingInstance as Harness
from hftshm.wait import fdwake
from hftshm.wait.blocking import Blocking
from hftshm.wait.fdwake import FdWake
from support import bench_records
from .helpers import CLI, leftovers, run_config, wait_running

NOBODY = 65534
ROOT_DIR = Path(__file__).resolve().parents[2]

SNOOP = '''
import json, os
from hftshm.layouts import order as O
from hftshm.trading.strategy import Strategy


class Snoop(Strategy):
    """Reports what it can find of the environment, then buys small and far from the market."""

    def on_start(self):
        with open("/proc/self/environ", "rb") as f:
            raw = f.read().decode(errors="replace")
        with open(self.params["report"], "w") as f:
            json.dump({"environ": dict(os.environ), "raw": raw}, f)
        self.next_ns = 0

    def on_quote(self, r):
        now = int(r["recv_ns"])
        if now < self.next_ns or r["price_e8"] <= 0:
            return
        self.next_ns = now + 300_000_000
        px = int(r["price_e8"]) * 995 // 1000 // 1_000_000 * 1_000_000
        self.buy(int(r["symbol_id"]), 10_000, px, O.LIMIT, O.GTC)
'''


def _become_nobody():
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


class Nobody:
    """Runs commands as uid 65534 in a directory of its own. Its Python is this one if that user
    can run it, else the system's of the same version, given this environment's packages."""

    def __init__(self):
        # the system's temporary directory, not the test session's (tests/conftest.py): that one
        # is under pytest's base temp, which only this user may enter
        tmp = os.environ.get("TMPDIR") or "/tmp"
        self.home = Path(tempfile.mkdtemp(prefix="hftshm-nobody-", dir=tmp))
        os.chown(self.home, NOBODY, NOBODY)
        # numba's compiled code, kept between runs (a cold compile costs minutes on a busy machine)
        cache = Path(tmp) / f"hftshm-test-numba-{NOBODY}"
        cache.mkdir(mode=0o700, exist_ok=True)
        os.chown(cache, NOBODY, NOBODY)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HFTSHM_")}
        self.env.update(HOME=str(self.home), NUMBA_CACHE_DIR=str(cache))
        paths = [str(ROOT_DIR), str(ROOT_DIR / "tests")]
        self.python = sys.executable
        try:
            subprocess.run([self.python, "-c", "pass"], preexec_fn=_become_nobody, cwd=self.home, check=True,
                           timeout=60)
        except PermissionError:  # e.g. an interpreter under /root (0700)
            version = f"python{sys.version_info.major}.{sys.version_info.minor}"
            self.python = shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")
            if self.python is None:
                pytest.fail(f"uid {NOBODY} can run neither {sys.executable} nor a system {version}")
            custom = self.home / "sitecustomize.py"
            custom.write_text(f"import site\nsite.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
            os.chmod(custom, 0o644)  # readable by that user whatever this process's umask is
            paths.insert(0, str(self.home))
        self.env["PYTHONPATH"] = os.pathsep.join(paths)

    def popen(self, args, **kw) -> subprocess.Popen:
        return subprocess.Popen([self.python, *args], cwd=self.home, env=self.env, preexec_fn=_become_nobody, **kw)

    def run(self, args, timeout=180) -> subprocess.CompletedProcess:
        return subprocess.run([self.python, *args], cwd=self.home, env=self.env, preexec_fn=_become_nobody,
                              capture_output=True, text=True, timeout=timeout)

    def close(self):
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture
def nobody():
    if os.geteuid() != 0:
        pytest.fail("this test needs root: it switches to uid 65534 (nobody) to act as a second OS user")
    n = Nobody()
    yield n
    n.close()


def _environ(pid: int) -> bytes:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return f.read()


def _memory_holds(pid: int, needle: bytes) -> bool:
    """Whether any writable memory of process ``pid`` (heap, stack, anonymous maps: where an
    inherited environment and every Python object live) holds ``needle``."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("rw"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            tail = b""
            for at in range(start, end, 1 << 22):
                try:
                    mem.seek(at)
                    chunk = mem.read(min(1 << 22, end - at))
                except OSError:
                    break
                if needle in tail + chunk:
                    return True
                tail = chunk[-len(needle):]
    return False


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    st = f.read()
            except OSError:
                continue
            if int(st[st.rindex(b")") + 2:].split()[1]) == pid:
                out.append(int(entry))
    return out


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# --- 11: secrets ---------------------------------------------------------------------------------

def test_handover_takes_the_pair_out_and_gives_it_to_one_child_through_a_pipe():
    environ = {"HFTSHM_API_KEY": "k-handover", "HFTSHM_API_SECRET": "s-handover-secret", "PATH": "/bin"}
    h = credentials.Handover.take("binance", environ=environ)
    assert "HFTSHM_API_KEY" not in environ and "HFTSHM_API_SECRET" not in environ
    assert "s-handover-secret" not in repr(h) and "k-handover" not in repr(h)
    fd = h.pipe()
    env = WorkerEnv("{}", credentials_fd=fd).environ(
        dict(os.environ, HFTSHM_API_SECRET="leak", HFTSHM_API_KEY="leak", HFTSHM_CREDENTIALS_FD="99"))
    assert "HFTSHM_API_SECRET" not in env and "HFTSHM_API_KEY" not in env
    assert env["HFTSHM_CREDENTIALS_FD"] == str(fd)
    child = ("import os, sys\n"
             "from hftshm.trading import credentials\n"
             "fd = int(os.environ['HFTSHM_CREDENTIALS_FD'])\n"
             "s = credentials.load('binance')\n"
             "try:\n    os.fstat(fd); closed = False\n"
             "except OSError:\n    closed = True\n"
             "raw = open('/proc/self/environ', 'rb').read()\n"
             "print(s.api_key, s.signature({'a': '1'}), closed, b'secret' in raw, "
             "'HFTSHM_CREDENTIALS_FD' in os.environ)\n")
    try:
        out = subprocess.run([sys.executable, "-c", child], env=env, pass_fds=(fd,), capture_output=True,
                             text=True, timeout=60)
    finally:
        os.close(fd)
    assert out.returncode == 0, out.stderr
    key, sig, closed, in_environ, fd_var = out.stdout.split()
    assert key == "k-handover"
    assert sig == hmac.new(b"s-handover-secret", b"a=1", hashlib.sha256).hexdigest()
    assert (closed, in_environ, fd_var) == ("True", "False", "False")


def test_credentials_refuse_half_a_pair_and_a_real_venue_without_one():
    with pytest.raises(credentials.CredentialsError, match="both"):
        credentials.Handover.take("binance", environ={"HFTSHM_API_KEY": "k"})
    with pytest.raises(credentials.CredentialsError, match="no API key"):
        credentials.Handover.take("binance", environ={})
    assert "demo" in repr(credentials.Handover.take("sim", environ={}))


def test_harness_execution_signs_with_the_given_secret_and_no_other_worker_sees_it(instance, tmp_path,
                                                                                    monkeypatch):
    key, secret = "k-" + os.urandom(6).hex(), "s-" + os.urandom(12).hex()
    monkeypatch.setenv("HFTSHM_API_KEY", key)
    monkeypatch.setenv("HFTSHM_API_SECRET", secret)
    (tmp_path / "snoop.py").write_text(SNOOP)
    report = tmp_path / "report.json"
    strategies = [{"name": "snoop", "kind": "file", "path": str(tmp_path / "snoop.py"), "class": "Snoop",
                   "symbols": ["btcusdt"], "report": str(report)}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=500, log_dir=str(tmp_path / "logs"),
                risk={"max_orders_per_s": 4, "max_orders_per_s_total": 4})
    # the venue knows this pair only: an ack proves execution signed with the secret handed over
    h.sim_cfg = dataclasses.replace(h.sim_cfg, api_key=key, api_secret=secret)
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=120)
        deadline = time.monotonic() + 60
        while h.counters("execution")["acked"] < 1:
            assert time.monotonic() < deadline, (h.counters("execution"), h.log("execution")[-2000:])
            time.sleep(0.1)
        assert h.counters("execution")["venue_rejects"] == 0
        for name, proc in h.procs.items():
            assert secret.encode() not in _environ(proc.pid), name
            if name != "execution":  # the one that signs holds it, the others nowhere in memory
                assert not _memory_holds(proc.pid, secret.encode()), name
        seen = json.loads(report.read_text())
        assert secret not in json.dumps(seen) and key not in json.dumps(seen)
        for name in h.procs:
            assert secret not in h.log(name), name
    finally:
        h.stop()


# --- 12: wake-up names ---------------------------------------------------------------------------

SQUAT_SOCKETS = r'''
import resource, socket, sys
inst, pids, ns = sys.argv[1], [int(p) for p in sys.argv[2].split(",")], int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for pid in pids:
    for n in range(ns):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.bind(f"\0hftshm.{inst}.f.{pid}.{n}".encode())
        except OSError:
            s.close()
            continue
        held.append(s)
print(len(held), flush=True)
sys.stdin.read()
'''


def _next_pids(count: int) -> list[int]:
    """The next ``count`` pids the kernel will hand out (wrapping at pid_max above 300)."""
    last = int(Path("/proc/sys/kernel/ns_last_pid").read_text())
    top = int(Path("/proc/sys/kernel/pid_max").read_text())
    out, pid = [], last
    while len(out) < count:
        pid += 1
        if pid >= top:
            pid = 301
        out.append(pid)
    return out



@contextlib.contextmanager
def squatting(nobody, instance: str, pids: list[int], ns: int = 1):
    """uid 65534 holds the abstract socket names ``\\0hftshm.<instance>.f.<pid>.<n>``."""
    proc = nobody.popen(["-c", SQUAT_SOCKETS, instance, ",".join(map(str, pids)), str(ns)],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        held = int(proc.stdout.readline() or 0)
        assert held > 0.9 * len(pids) * ns, f"the squatter bound only {held} names"
        yield held
    finally:
        proc.stdin.close()
        proc.wait(30)
        proc.stdout.close()


def test_squatted_old_wake_names_stop_no_reader(instance, nobody):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    squatted_sems = [naming.semaphore(instance, f"w{os.getpid()}.{n}") for n in range(64)]
    made = nobody.run(["-c", "import posix_ipc, sys\n"
                             "for name in sys.argv[1:]:\n"
                             "    posix_ipc.Semaphore(name, posix_ipc.O_CREX, mode=0o666).close()\n"] + squatted_sems)
    assert made.returncode == 0, made.stderr
    try:
        with squatting(nobody, instance, [os.getpid()], ns=64):
            pub = ring.publisher()
            fd_wake, sem_wake = FdWake(), Blocking()
            a = ring.reader("a", wait=fd_wake)  # before: bind() raised 'Address already in use'
            b = ring.reader("b", wait=sem_wake)  # before: silently opened the squatter's semaphore
            assert not fd_wake.wake[1:].startswith(f"{os.getpid()}.")
            assert sem_wake._sem_name not in squatted_sems
            assert fd_wake.arm() and sem_wake.arm()
            pub.publish_batch(bench_records(1, 0, 1))
            for wait, reader in ((fd_wake, a), (sem_wake, b)):
                assert wait._sleep(), "the parked reader was not woken"
                wait.disarm()
                assert len(reader.read_batch()) == 1
            a.close()
            b.close()
            fd_wake.close()
            sem_wake.close()
            pub.close()
    finally:
        ring.close()
        for name in squatted_sems:
            posix_ipc.unlink_semaphore(name)


def test_a_random_wake_name_already_taken_is_drawn_again(instance, monkeypatch):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    taken = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    taken.bind(fdwake.address(instance, fdwake.PREFIX + "a" * 24))
    sem_name = naming.semaphore(instance, "w" + "a" * 24)
    squatter = posix_ipc.Semaphore(sem_name, posix_ipc.O_CREX, mode=0o600)
    tokens = iter(["a" * 24, "b" * 24, "a" * 24, "c" * 24])
    monkeypatch.setattr(naming, "wake_token", lambda: next(tokens))
    try:
        fd_wake, sem_wake = FdWake(), Blocking()
        a = ring.reader("a", wait=fd_wake)
        b = ring.reader("b", wait=sem_wake)
        assert (fd_wake.wake, sem_wake.wake) == ("@" + "b" * 24, "w" + "c" * 24)
        a.close()
        b.close()
        fd_wake.close()
        sem_wake.close()
    finally:
        taken.close()
        squatter.close()
        posix_ipc.unlink_semaphore(sem_name)
        ring.close()


# --- 11, 12, 13 through `hftshm start` ---------------------------------------------------------

def test_start_hands_the_secret_to_execution_alone_survives_squatters_and_writes_owner_only(tmp_path, instance,
                                                                                             nobody):
    (tmp_path / "snoop.py").write_text(SNOOP)
    report = tmp_path / "report.json"
    cfg = run_config(tmp_path, instance, f"""[venue]
symbols = ["btcusdt"]
[sim]
rate = 300
[risk]
max_orders_per_s = 4
max_orders_per_s_total = 4
max_feed_age_s = 120
[[strategies]]
name = "snoop"
kind = "file"
path = "{tmp_path / 'snoop.py'}"
class = "Snoop"
report = "{report}"
""")
    run_dir = tmp_path / "runs" / instance
    # an earlier run's files, left with wider modes: hftshm makes them owner-only again
    (run_dir / "logs").mkdir(parents=True)
    for path in (run_dir, run_dir / "logs"):
        path.chmod(0o755)
    for path in (run_dir / "config.json", run_dir / "logs" / "journal.log"):
        path.write_text("")
        path.chmod(0o644)
    # a pair of the operator's in the supervisor's environment (the simulator knows only its demo
    # pair, which every process that reads a config has in memory: no use as a probe)
    key, secret_text = "k-" + os.urandom(6).hex(), "s-" + os.urandom(12).hex()
    env = dict(os.environ, HFTSHM_API_KEY=key, HFTSHM_API_SECRET=secret_text)
    secret = secret_text.encode()
    summary_path = tmp_path / "s.json"
    # another user holds the wake-up socket names the next pids would have used before
    squatted = _next_pids(15000)
    with squatting(nobody, instance, squatted):
        sup = subprocess.Popen(CLI + ["start", "--headless", "--duration", "30", "--summary", str(summary_path),
                                      "--config", str(cfg)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        try:
            pids = wait_running(instance, ["journal", "risk", "execution", "strategy-snoop", "ingest"])
            assert pids["execution"] in set(squatted), "execution's pid was not among the squatted ones"
            children = _children(sup.pid)
            assert set(pids.values()) <= set(children) and len(children) > len(pids)  # and the simulator
            for pid in children:
                assert secret not in _environ(pid), pid
                if pid != pids["execution"]:  # no worker but execution, nor the simulator
                    assert not _memory_holds(pid, secret), pid
            assert _memory_holds(sup.pid, secret)  # the probe finds it where it is: the supervisor
            assert _mode(run_dir / "exchange.port") == 0o600
            for name in leftovers(instance):  # every segment and semaphore of the instance: 0600
                assert _mode(f"/dev/shm/{name}") == 0o600, name
            ctl = ControlBlock.attach(instance)
            slot = ctl.find_worker("execution")
            deadline = time.monotonic() + 60
            # execution's first signed request, start-up reconciliation, is refused by the venue
            # (an unknown key): trading halts with RECONCILE_FAILED before any order is sent
            while ctl.trading_reason != R.RECONCILE_FAILED:
                assert time.monotonic() < deadline, (ctl.trading_reason, ctl.counter_values(slot))
                time.sleep(0.1)
            ctl.close()
            out = sup.communicate(timeout=300)[0]
        finally:
            if sup.poll() is None:
                sup.kill()
                sup.communicate()
    # exit 3: trading ended halted (RECONCILE_FAILED, below), which it did not start with
    assert sup.returncode == 3, out
    assert "trading ended HALTED (RECONCILE_FAILED" in out and "stopped with exit code" not in out, out
    assert secret_text not in out
    summary = json.loads(summary_path.read_text())
    counters = summary["workers"]["execution"]["counters"]
    # the simulator knows only its demo pair: it refused execution's signed reconciliation request
    # (-2015), so execution signed with the operator's pair handed over (the harness test shows a
    # venue accepting it); halted, nothing was sent
    assert counters["sent"] == 0 and counters["acked"] == 0
    assert summary["trading"]["trading_reason"] == "RECONCILE_FAILED"
    assert "reconciliation with the venue failed (error -2015" in (run_dir / "logs" / "execution.log").read_text()
    assert summary["workers"]["execution"]["restarts"] == 0  # its wake-up socket bound first time
    seen = json.dumps(json.loads(report.read_text()))
    assert secret_text not in seen and "HFTSHM_API" not in seen
    # 13: every directory 0700, every file 0600
    assert _mode(summary_path) == 0o600
    checked = 0
    for path in [run_dir, *run_dir.rglob("*")]:
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), (path, oct(_mode(path)))
        checked += 1
        if path.is_file():
            assert secret_text not in path.read_text(errors="replace"), path
    names = {p.name for p in run_dir.rglob("*")}
    assert {"config.json", "exchange.log", "execution.log", "journal"} <= names, names
    assert leftovers(instance) == []


# --- 14: another OS user -------------------------------------------------------------------------

@contextlib.contextmanager
def roots_instances(instance):
    """Two live instances of root's: a real one (this process's control block and md ring) and a
    bare control segment naming this process as its owner (to a user who cannot read it, both
    looked dead before: its `clean` and `start` tried to unlink them). A dead one would not stay:
    any other root process on the machine may clean it."""
    ctl = ControlBlock.create(instance)
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    other = instance + "b"
    leftover = Path(f"/dev/shm/{naming.control_segment(other)}")
    pre = bytearray(4096)
    struct.pack_into("<qq", pre, H.OWNER_PID_OFFSET, *procinfo.me())
    fd = os.open(leftover, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, bytes(pre))
    os.close(fd)
    try:
        yield other
    finally:
        ring.close()
        ctl.close()
        leftover.unlink(missing_ok=True)


def _row(listing: str, name: str) -> str:
    rows = [line for line in listing.splitlines() if f" {name} " in line]
    assert len(rows) == 1, listing
    return rows[0]


def test_a_second_user_gets_named_errors_and_never_calls_anothers_live_instance_dead(instance, nobody):
    nobody.env["COLUMNS"] = "200"
    with roots_instances(instance) as other:
        ls = nobody.run(["-m", "hftshm.cli", "ls"])
        assert ls.returncode == 0, ls.stdout + ls.stderr
        for name in (instance, other):  # neither can be read by nobody: neither is called dead
            row = _row(ls.stdout, name)
            assert "unknown" in row and "root" in row and "dead" not in row, row

        clean = nobody.run(["-m", "hftshm.cli", "clean"])
        assert clean.returncode == 0 and "Traceback" not in clean.stderr, clean.stdout + clean.stderr
        assert f"kept {instance}: user root's" in clean.stdout and f"kept {other}: user root's" in clean.stdout
        named = nobody.run(["-m", "hftshm.cli", "clean", other])
        assert named.returncode == 0 and f"kept {other}: user root's" in named.stdout, named.stdout + named.stderr
        assert set(leftovers(instance)) == {naming.control_segment(instance), naming.ring_segment(instance, "md")}
        assert leftovers(other) == [naming.control_segment(other)]

        for args in (["status", "--instance", instance], ["tail", "md", "--instance", instance, "--count", "1"],
                     ["top", "--instance", instance, "--duration", "1"]):
            out = nobody.run(["-m", "hftshm.cli", *args])
            assert out.returncode == 2, (args, out.stdout, out.stderr)
            assert "Traceback" not in out.stderr and "belongs to user root" in out.stderr, (args, out.stderr)
        halt = nobody.run(["-m", "hftshm.cli", "halt", "--instance", instance])
        assert halt.returncode == 2 and "Traceback" not in halt.stderr, halt.stderr
        assert "belongs to user root" in " ".join(halt.stderr.split()), halt.stderr

        probe = ("import sys, hftshm\n"
                 "for args in ((sys.argv[1],), ()):\n"
                 "    try:\n"
                 "        hftshm.attach('md', *args)\n"
                 "    except Exception as exc:\n"
                 "        print(type(exc).__name__, '|', exc)\n")
        out = nobody.run(["-c", probe, instance])
        assert out.returncode == 0, out.stderr
        named, unnamed = out.stdout.splitlines()
        assert named.startswith("AccessDenied |") and "belongs to user root" in named, named
        assert unnamed.startswith("InstanceError |") and f"{instance} (user root)" in unnamed, unnamed
        mine = instances.scan()  # root reads both: it knows they run
        assert mine[instance].state == mine[other].state == "live"
        assert mine[instance].owner == mine[other].owner == "root" and mine[instance].mine


def test_a_second_user_runs_their_own_instance_beside_roots(instance, nobody):
    data = nobody.home / "data"
    cfg = nobody.home / "own.toml"
    cfg.write_text(f'data_dir = "{data}"\n[venue]\nsymbols = ["btcusdt"]\n[sim]\nrate = 200\n')
    os.chown(cfg, NOBODY, NOBODY)
    with roots_instances(instance) as other:
        sup = nobody.popen(["-m", "hftshm.cli", "start", "--headless", "--duration", "6", "--summary",
                            str(nobody.home / "s.json"), "--config", str(cfg)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            theirs = seen = None
            deadline = time.monotonic() + 400
            while seen is None and sup.poll() is None:  # root sees it live, and whose it is
                assert time.monotonic() < deadline, "the second user's instance did not start"
                for name, inst in instances.scan().items():
                    ctl = f"/dev/shm/{naming.control_segment(name)}"
                    if name not in (instance, other) and os.path.exists(ctl) and os.stat(ctl).st_uid == NOBODY:
                        theirs = inst
                        if inst.alive:
                            seen = (inst.state, inst.owner)
                time.sleep(0.2)
            out = sup.communicate(timeout=400)[0]
        finally:
            if sup.poll() is None:
                sup.kill()
                sup.communicate()
        assert sup.returncode == 0 and "Traceback" not in out, out
        assert seen == ("live", "nobody")
        summary = json.loads((nobody.home / "s.json").read_text())
        assert summary["rings"]["md"]["published"] > 0
        assert leftovers(theirs.name) == []  # it removed its own on the way out...
        assert set(leftovers(instance)) == {naming.control_segment(instance), naming.ring_segment(instance, "md")}
        assert leftovers(other) == [naming.control_segment(other)]  # ...and none of root's
        assert _mode(data) == 0o700 and _mode(data / theirs.name) == 0o700


def test_hftshm_commands_run_with_an_owner_only_umask(tmp_path):
    probe = ("import os\n"
             "from hftshm.cli import app\n"
             "app(['ls'], standalone_mode=False)\n"
             "print(oct(os.umask(0o022)))\n")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT_DIR, capture_output=True, text=True, timeout=120,
                         preexec_fn=lambda: os.umask(0o022))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "0o77"
