"""Execution's orders handled in the wake-up's callback (``trading.order_pump.OrderPump.now``):
what stops it and hands the rest to the pump's task. No processes: stand-ins for the ring reader,
the router, the session and the websocket, which record what the callback did."""

from types import SimpleNamespace

import numpy as np
import pytest
from websockets.protocol import State

from hftshm.layouts import order as O
from hftshm.trading.order_pump import BATCH, OrderPump


class Reader:
    def __init__(self, n):
        self.left, self.reads = n, 0

    def read_batch(self, n):
        assert n == 1
        self.reads += 1
        if self.reads > 10 * BATCH:
            raise AssertionError("the callback kept reading")
        if not self.left:
            return np.zeros(0, O.DTYPE)
        self.left -= 1
        rec = np.zeros(1, O.DTYPE)
        rec[0]["action"] = O.NEW
        return rec


class Router:
    def __init__(self):
        self.pending, self.handled, self.sent_n = None, 0, 0

    def handle(self, rec):
        self.handled += 1
        self.pending = rec
        return b'{"order": 1}'

    def release(self, frame):
        self.pending = None
        return frame

    def sent(self):
        self.sent_n += 1


class Transport:
    def __init__(self):
        self.queued = 0

    def is_closing(self):
        return False

    def get_write_buffer_size(self):
        return self.queued


def _pump(n, holding=False):
    counted = []
    w = SimpleNamespace(reader=Reader(n), router=Router(), session=SimpleNamespace(holding=holding),
                        wait_name="blocking", spins=0, park_s=0.05)
    pump = OrderPump(w, wake=None, count=counted.append)
    frames = []
    ws = SimpleNamespace(transport=Transport(), protocol=SimpleNamespace(state=State.OPEN, send_text=frames.append),
                         send_data=lambda: None)
    stop = SimpleNamespace(is_set=lambda: False)
    return pump, ws, stop, frames, counted


def test_it_writes_each_order_and_stays_parked_when_the_ring_is_empty():
    pump, ws, stop, frames, counted = _pump(3)
    assert pump.now(ws, stop) is True
    assert frames == [b'{"order": 1}'] * 3 and pump.router.sent_n == 3 and counted == ["wake_orders"] * 3


def test_it_hands_over_to_the_pump_after_one_batch():
    """A ring that never empties (a burst, a runaway strategy) must not hold the event loop: the
    venue's answers, the heartbeat and the pings wait while the callback runs."""
    pump, ws, stop, frames, _ = _pump(10 * BATCH)
    assert pump.now(ws, stop) is False
    assert pump.router.handled == len(frames) == BATCH


@pytest.mark.parametrize("cause", ["holding", "queued", "closing", "stop"])
def test_it_reads_nothing_when_a_frame_could_not_go_out_at_once(cause):
    pump, ws, stop, frames, _ = _pump(1, holding=cause == "holding")
    if cause == "queued":
        ws.transport.queued = 10  # bytes still in user space: the pump waits for them
    if cause == "closing":
        ws.protocol.state = State.CLOSING
    if cause == "stop":
        stop.is_set = lambda: True
    assert pump.now(ws, stop) is False
    assert pump.reader.reads == 0 and not frames  # the record stays in the ring for the pump
