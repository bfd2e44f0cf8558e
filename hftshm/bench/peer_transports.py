"""The transports hftshm is compared with, as benchmark cases (see transport_case.py).

Every peer moves the same 64-byte message, through its ordinary blocking API (the way a user of
it would wait): multiprocessing.Queue and Pipe always; faster-fifo, pyzmq (PUSH/PULL over ipc://)
and iceoryx2 when the ``peers`` extra is installed. Throughput runs end with a marker message
(first byte 0xFF); latency messages carry the send time in their first 8 bytes.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import struct
import tempfile
import time

from .transport_case import LatencyLog
from .pacer import Pacer

FORK = mp.get_context("fork")
SIZE = 64
PAYLOAD = bytes(SIZE)
END = b"\xff" + bytes(SIZE - 1)
_stamp = struct.Struct("<q56x")


class _Peer:
    api = "record"
    wait = "blocking"

    def teardown(self, resource):
        pass

    # subclasses give send(res) / recv(res) factories used by both phases
    def consume(self, resource, phase, ready, totals):
        recv = self.receiver(resource)
        ready.set()
        if phase.name == "throughput":
            count = 0
            msg = recv()
            t0 = time.perf_counter()
            while msg[0] != 0xFF:
                count += 1
                msg = recv()
            elapsed = time.perf_counter() - t0
            total = -1
            while total < 0:
                total = totals.known()
            return {"received": count, "lost": total - count, "seconds": elapsed}
        log = LatencyLog(phase.count)
        unpack = _stamp.unpack_from
        while log.count < phase.count:
            msg = recv()
            log.add(unpack(msg)[0])
        return log.result()

    def produce(self, resource, phase, totals):
        send = self.sender(resource)
        try:
            self._produce(send, phase, totals)
        finally:
            self.close_sender()  # child processes end with os._exit: flush explicitly

    def close_sender(self):
        pass

    def _produce(self, send, phase, totals):
        if phase.name == "latency":
            pacer = Pacer(phase.rate)
            pack = _stamp.pack
            for _ in range(phase.count):
                pacer.wait()
                send(pack(time.time_ns()))
            return
        end = time.perf_counter() + phase.seconds
        sent = 0
        while time.perf_counter() < end:
            for _ in range(1024):
                send(PAYLOAD)
            sent += 1024
        send(END)
        totals.sent(sent)


class QueuePeer(_Peer):
    transport = "multiprocessing.Queue"

    def setup(self):
        return FORK.Queue(maxsize=4096)

    def receiver(self, q):
        return q.get

    def sender(self, q):
        put = q.put

        def send(msg):
            put(msg)

        return send

    def produce(self, q, phase, totals):
        super().produce(q, phase, totals)
        q.close()
        q.join_thread()  # the feeder thread must flush before the process exits


class PipePeer(_Peer):
    transport = "multiprocessing.Pipe"

    def setup(self):
        return FORK.Pipe(False)

    def receiver(self, pipe):
        return pipe[0].recv_bytes

    def sender(self, pipe):
        return pipe[1].send_bytes


class FasterFifoPeer(_Peer):
    transport = "faster-fifo"

    def setup(self):
        from faster_fifo import Queue

        return Queue(max_size_bytes=4 << 20)

    def receiver(self, q):
        get = q.get

        def recv():
            return get(timeout=3600)

        return recv

    def sender(self, q):
        put = q.put

        def send(msg):
            put(msg, timeout=3600)

        return send


class ZmqPeer(_Peer):
    transport = "pyzmq ipc"

    def setup(self):
        path = os.path.join(tempfile.gettempdir(), f"hftshm-bench-{os.getpid()}.ipc")
        return "ipc://" + path

    def teardown(self, address):
        try:
            os.unlink(address[len("ipc://"):])
        except FileNotFoundError:
            pass

    def receiver(self, address):
        import zmq

        sock = zmq.Context.instance().socket(zmq.PULL)
        sock.bind(address)
        return sock.recv

    def sender(self, address):
        import zmq

        self._ctx = zmq.Context()
        self._sock = sock = self._ctx.socket(zmq.PUSH)
        sock.connect(address)
        return sock.send

    def close_sender(self):
        self._sock.close(linger=10_000)  # deliver everything queued before the process exits
        self._ctx.term()


def available_peers() -> list:
    peers = [QueuePeer(), PipePeer()]
    for module, cls in (("faster_fifo", FasterFifoPeer), ("zmq", ZmqPeer)):
        try:
            __import__(module)
        except ImportError:
            continue
        peers.append(cls())
    try:
        from .iceoryx2_peer import Iceoryx2Peer
    except ImportError:
        pass
    else:
        peers.append(Iceoryx2Peer())
    return peers
