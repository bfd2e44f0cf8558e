"""Execution's orders handled in the wake-up's callback (``workers/execution._orders_now``):
what stops it and hands the rest to the pump. No processes: stand-ins for the ring reader, the
router, the session and the websocket, which record what the callback did."""

from types import SimpleNamespace

import numpy as np
import pytest
from websockets.protocol import State

from hftshm.layouts import order as O
from workers.execution import WAKE_ORDERS, ExecutionAgent


class Reader:
    def __init__(self, n):
        self.left, self.reads = n, 0

    def read_batch(self, n):
        assert n == 1
        self.reads += 1
        if self.reads > 10 * WAKE_ORDERS:
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


def _agent(n, holding=False):
    agent = ExecutionAgent.__new__(ExecutionAgent)
    agent.w = SimpleNamespace(reader=Reader(n))
    agent.router, agent.session = Router(), SimpleNamespace(holding=holding)
    agent.counted = []
    agent.count = agent.counted.append
    frames = []
    ws = SimpleNamespace(transport=Transport(), protocol=SimpleNamespace(state=State.OPEN, send_text=frames.append),
                         send_data=lambda: None)
    stop = SimpleNamespace(is_set=lambda: False)
    return agent, ws, stop, frames


def test_it_writes_each_order_and_stays_parked_when_the_ring_is_empty():
    agent, ws, stop, frames = _agent(3)
    assert agent._orders_now(ws, stop) is True
    assert frames == [b'{"order": 1}'] * 3 and agent.router.sent_n == 3 and agent.counted == ["wake_orders"] * 3


def test_it_hands_over_to_the_pump_after_one_batch():
    """A ring that never empties (a burst, a runaway strategy) must not hold the event loop: the
    venue's answers, the heartbeat and the pings wait while the callback runs."""
    agent, ws, stop, frames = _agent(10 * WAKE_ORDERS)
    assert agent._orders_now(ws, stop) is False
    assert agent.router.handled == len(frames) == WAKE_ORDERS


@pytest.mark.parametrize("cause", ["holding", "queued", "closing", "stop"])
def test_it_reads_nothing_when_a_frame_could_not_go_out_at_once(cause):
    agent, ws, stop, frames = _agent(1, holding=cause == "holding")
    if cause == "queued":
        ws.transport.queued = 10  # bytes still in user space: the pump waits for them
    if cause == "closing":
        ws.protocol.state = State.CLOSING
    if cause == "stop":
        stop.is_set = lambda: True
    assert agent._orders_now(ws, stop) is False
    assert agent.w.reader.reads == 0 and not frames  # the record stays in the ring for the pump
