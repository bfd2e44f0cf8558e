"""iceoryx2 (Python binding) publish-subscribe as a benchmark peer.

64-byte samples (8 x uint64) written in place into loaned shared memory, through the public API.
Lossless needs care: with safe overflow off, a full subscriber buffer makes ``send()`` return 0
(sample dropped) rather than block in binding 0.10, whatever the backpressure strategy says, so
the publisher loans and sends again until one subscriber got it. ``receive()`` never blocks: the
subscriber polls (busy-spin). Each run gets its own root path and shm prefix, removed afterwards.
"""

from __future__ import annotations

import ctypes
import glob
import multiprocessing as mp
import os
import shutil
import time

import iceoryx2 as iox2

from .transport_case import LatencyLog
from .pacer import Pacer

FORK = mp.get_context("fork")
BUFFER = 256


class _Sample(ctypes.Structure):
    _fields_ = [("v", ctypes.c_uint64 * 8)]


_Head = ctypes.c_uint64 * 3  # counter, send ns, end marker


def _node_and_service(root, prefix):
    iox2.set_log_level(iox2.LogLevel.Error)
    cfg = iox2.config.default()
    cfg.global_cfg.root_path = iox2.Path.new(root)
    cfg.global_cfg.prefix = iox2.FileName.new(prefix)
    node = iox2.NodeBuilder.new().config(cfg).create(iox2.ServiceType.Ipc)
    svc = (node.service_builder(iox2.ServiceName.new("hftshm/bench")).publish_subscribe(_Sample)
           .enable_safe_overflow(False).subscriber_max_buffer_size(BUFFER).history_size(0)
           .max_publishers(1).max_subscribers(1).open_or_create())
    return node, svc


class Iceoryx2Peer:
    transport = "iceoryx2"
    api = "record"
    wait = "busy-spin"

    def setup(self):
        tag = f"{os.getpid()}x{time.monotonic_ns() % 1_000_000}"
        return {"root": f"/tmp/hftshm-iox-{tag}/", "prefix": f"hfiox{tag}_", "done": FORK.Event()}

    def teardown(self, res):
        for path in glob.glob(f"/dev/shm/{res['prefix']}*"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        shutil.rmtree(res["root"], ignore_errors=True)

    def consume(self, res, phase, ready, totals):
        node, svc = _node_and_service(res["root"], res["prefix"])
        sub = svc.subscriber_builder().buffer_size(BUFFER).create()
        ready.set()
        recv, head = sub.receive, _Head.from_address
        try:
            if phase.name == "throughput":
                count, t0 = 0, 0.0
                while True:
                    s = recv()
                    if s is None:
                        continue
                    end = head(s.payload_ptr)[2]
                    s.delete()
                    if end:
                        break
                    if count == 0:
                        t0 = time.perf_counter()
                    count += 1
                elapsed = time.perf_counter() - t0
                total = -1
                while total < 0:
                    total = totals.known()
                return {"received": count, "lost": total - count, "seconds": elapsed}
            log = LatencyLog(phase.count)
            while log.count < phase.count:
                s = recv()
                if s is not None:
                    sent = head(s.payload_ptr)[1]
                    log.add(sent)
                    s.delete()
            return log.result()
        finally:
            res["done"].set()
            del sub, svc, node

    def produce(self, res, phase, totals):
        node, svc = _node_and_service(res["root"], res["prefix"])
        pub = svc.publisher_builder().create()
        while svc.dynamic_config.number_of_subscribers < 1:
            time.sleep(0.001)
        pub.update_connections()
        loan, head = pub.loan_uninit, _Head.from_address

        def send(counter, end=0):
            while True:  # send() drops instead of blocking on a full buffer: retry
                s = loan()
                h = head(s.payload_ptr)
                h[0], h[1], h[2] = counter, time.time_ns(), end
                if s.assume_init().send():
                    return

        if phase.name == "latency":
            pacer = Pacer(phase.rate)
            for i in range(phase.count):
                pacer.wait()
                send(i)
        else:
            stop = time.perf_counter() + phase.seconds
            sent = 0
            while time.perf_counter() < stop:
                for _ in range(1024):
                    send(sent)
                    sent += 1
            send(sent, end=1)
            totals.sent(sent)
        res["done"].wait(60)  # samples live in our memory until the subscriber is done
        del pub, svc, node
