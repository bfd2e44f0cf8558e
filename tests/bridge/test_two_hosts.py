"""Two hosts for real: the source (nats-server and the md-out bridge) in one network namespace,
the receiver's bridge in another, joined by a veth pair, so every message crosses an interface.
Where namespaces cannot be made (no root, no CAP_NET_ADMIN), the same test runs on loopback and
says so in the test summary."""

import os
import subprocess
import sys

from .conftest import ROOT, NatsServer, note
from .helpers import RingCollector, check_exact


def _ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True)


class Hosts:
    """Namespaces A (10.251.X.1) and B (10.251.X.2) joined by veth; undone on close."""

    def __init__(self):
        tag = os.getpid() % 100_000
        self.a, self.b = f"hftA{tag}", f"hftB{tag}"
        self.net = 16 + os.getpid() % 200
        self.addr_a, self.addr_b = f"10.251.{self.net}.1", f"10.251.{self.net}.2"
        self.made = []

    def make(self) -> str | None:
        """None when made, else why not."""
        steps = [("netns", "add", self.a), ("netns", "add", self.b),
                 ("link", "add", f"hv{self.net}a", "type", "veth", "peer", "name", f"hv{self.net}b"),
                 ("link", "set", f"hv{self.net}a", "netns", self.a),
                 ("link", "set", f"hv{self.net}b", "netns", self.b),
                 ("-n", self.a, "addr", "add", f"{self.addr_a}/30", "dev", f"hv{self.net}a"),
                 ("-n", self.b, "addr", "add", f"{self.addr_b}/30", "dev", f"hv{self.net}b"),
                 ("-n", self.a, "link", "set", f"hv{self.net}a", "up"),
                 ("-n", self.b, "link", "set", f"hv{self.net}b", "up"),
                 ("-n", self.a, "link", "set", "lo", "up"), ("-n", self.b, "link", "set", "lo", "up")]
        for step in steps:
            try:
                r = _ip(*step)
            except FileNotFoundError:
                return "no `ip` command"
            if r.returncode:
                return f"`ip {' '.join(step)}` failed: {r.stderr.strip()}"
            if step[0] == "netns":
                self.made.append(step[2])
        return None

    def close(self):
        for ns in self.made:  # deleting a namespace deletes its end of the veth, and so the pair
            _ip("netns", "del", ns)


def _publish_in(netns, instance, start, n):
    code = (f"import sys; sys.path.insert(0, {str(ROOT / 'tests')!r}); from bridge.helpers import publish; "
            f"publish('md', {instance!r}, {start}, {n})")
    cmd = [sys.executable, "-c", code]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    subprocess.run(cmd, check=True, timeout=120)


def test_md_across_two_hosts(make_instance, tmp_path):
    hosts = Hosts()
    why = hosts.make()
    try:
        if why is None:
            server = NatsServer(tmp_path / "js", host=hosts.addr_a, netns=hosts.a).start()
            where = f"two network namespaces over veth ({hosts.addr_a} <-> {hosts.addr_b})"
            ns_src, ns_dst = hosts.a, hosts.b
        else:
            server = NatsServer(tmp_path / "js").start()
            where = f"loopback ({why})"
            ns_src = ns_dst = None
        note(f"bridge two-host test ran on {where}")
        print(f"bridge two-host test ran on {where}")
        try:
            src = make_instance(rings={"md": {"capacity": 1 << 20}}, bridge={"url": server.url, "md_out": True})
            dst = make_instance(rings={"md": {"capacity": 1 << 16, "policy": "wait"}}, venue={"kind": "bridge"},
                                bridge={"url": server.url, "source": src.name})
            src.spawn(netns=ns_src); src.wait_running()
            dst.spawn(netns=ns_dst); dst.wait_running()
            col = RingCollector(dst.name)
            try:
                _publish_in(ns_src, src.name, 0, 50_000)
                check_exact(col.drain(50_000), 0, 50_000)
            finally:
                col.close()
            if why is None:  # the receiver really is on the other side of the pair
                r = subprocess.run(["ip", "netns", "exec", hosts.b, "ip", "-s", "link", "show", f"hv{hosts.net}b"],
                                   capture_output=True, text=True)
                rx_bytes = int(r.stdout.split("RX:")[1].splitlines()[1].split()[0])
                assert rx_bytes > 50_000 * 128, r.stdout
        finally:
            server.stop()
    finally:
        hosts.close()
