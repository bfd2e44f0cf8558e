"""Execution's session with the venue, without I/O: what the order router must do that is not
one order or one answer, step by step through a connection's life. The worker
(``workers/execution.py``) owns the sockets and the asyncio tasks and asks this object at each
step; every time is passed in.

* **Start** (``resume``): adopt the orders an earlier execution process left in flight (live
  trading-area slots) and take over those of an earlier run the persisted state did not see
  end; both are resolved with the venue once connected.
* **A connection opens** (``opening(now)``): the protection watch runs first (the pump must not
  send on an old verdict); then the frames to send: the user-data subscription, a status
  question for every order in flight, and on the first connection only the reconciliation
  requests (the venue's order history and open orders, matched before any new order goes out).
* **Holding** (``holding``): new orders wait in the ring while a protecting worker is starting,
  while reconciling, (USD-M) until the user-data stream is open (``user_ready``), and (Bybit)
  until the protocol is ``ready`` (trade connection authenticated, private stream subscribed).
* **Housekeeping tick** (``tick(now)``): the protection watch, the reconciliation deadline,
  overdue answers (a status question each, never a resend), and, when the control block's
  trading state changed to HALTED with ``cancel_open``, a cancel for every open order. A venue
  that refused the connection's authentication (Bybit's ``auth_refused``) ends the session:
  ConnectionError (logged; counted in ``auth_refused`` and as a reconnect; nothing is sent meanwhile).
* **USD-M user data** (``user_key(mono)``): the listenKey to open the user-data stream with
  once ``userDataStream.start`` answered; none within ``RECONCILE_NS``: ConnectionError (the
  worker reconnects, counted).
* **Normal stop** (``stop_step``, built on ``stop_cancels`` and ``stop_waiting``; ``stopped``):
  with ``[execution] cancel_on_stop`` a cancel for every open order, then up to
  ``STOP_CANCEL_NS`` for the venue to confirm; ``stop_left`` is what stayed open.
* **A lost connection** (``lost(now)``): the protection verdict kept current (nothing goes out
  while disconnected), ``reconnects`` counted, and the delay before the next attempt, 0.1 s
  doubling to 5 s (``connected()`` starts over).

Wiring it takes: the ``OrderRouter``, the ``Protection`` duty (``check(now)``, ``holding``), the
control block (``trading_state``, ``cancel_open``, ``trading_changes``), and ``count(name, n=1)``
and ``gauge(name, value)`` over execution's counters. Tests pass literal venue answers and fakes
(tests/trading/test_order_session.py).
"""

from __future__ import annotations

import logging

from ..risk import reasons as R

log = logging.getLogger("hftshm.execution")

RECONCILE_NS = 10_000_000_000  # the venue's open orders (and USD-M's listenKey) within this
STOP_CANCEL_NS = 3_000_000_000  # at most this long waiting for the venue to confirm the cancels at stop
RECONNECT_FIRST_S = 0.1
RECONNECT_MAX_S = 5.0


class OrderSession:
    def __init__(self, router, protection, control, count, gauge, cancel_on_stop: bool, user_stream: bool):
        self.router = router
        self.protection = protection
        self.control = control
        self.count = count
        self.gauge = gauge
        self.cancel_on_stop = cancel_on_stop
        self.user_stream = user_stream  # USD-M: user data on its own stream (the worker opens it)
        self.user_ready = not user_stream  # the worker sets it while that stream is open
        self.user_deadline_ns = 0  # monotonic; 0: this connection has not asked for the key yet
        self.reconciled = False  # the first connection reconciles; later ones only resync
        self.trading_changes = -1  # the control block's trading change count last seen
        self.delay_s = RECONNECT_FIRST_S
        self.stop_deadline_ns = 0  # monotonic
        self.stopping = False  # stop_step has sent the cancels

    # --- start ------------------------------------------------------------------------------------
    def resume(self, published: dict, recover, ring_trades: dict, ended) -> tuple[int, int]:
        """``router.adopt(published)`` then ``router.recover(recover, ring_trades, ended)`` (see
        those); returns (adopted, recovered)."""
        router = self.router
        adopted = router.adopt(published)
        if adopted:
            log.info("resolving %d orders left in flight by an earlier execution process", router.open)
        recovered = router.recover(recover, ring_trades, ended)
        if recovered:
            log.info("recovering %d orders of an earlier run the persisted state did not see end: their "
                     "fills while the instance was down are fetched before trading", recovered)
        return adopted, recovered

    # --- a connection ---------------------------------------------------------------------------
    def connected(self) -> None:
        self.delay_s = RECONNECT_FIRST_S

    def opening(self, now_ns: int) -> list[bytes]:
        """The frames to send first on a new connection (protection checked before)."""
        self.protection.check(now_ns)  # before the pump starts: it must not send on an old verdict
        router = self.router
        frames = [router.proto.subscribe(now_ns), *router.proto.resync(now_ns)]
        if not self.reconciled:  # the first connection: match the venue's open orders before trading
            self.reconciled = True
            frames += router.reconcile_start(now_ns, RECONCILE_NS)
        if self.user_stream:
            self.user_ready = False
            self.user_deadline_ns = 0
        return frames

    @property
    def holding(self) -> bool:
        """New orders wait in the ring: protection starting, reconciling, or no user data yet."""
        return (self.protection.holding or self.router.reconciling or not self.user_ready
                or not getattr(self.router.proto, "ready", True))  # Bybit: both connections authenticated

    def tick(self, now_ns: int) -> list[bytes]:
        """One housekeeping tick: the frames to send (status questions, cancels)."""
        router, control = self.router, self.control
        self.protection.check(now_ns)
        refused = getattr(router.proto, "auth_refused", None)
        if refused is not None:  # fail closed: a new session authenticates again (after the delay)
            router.proto.auth_refused = None
            self.count("auth_refused")
            raise ConnectionError(f"the venue refused the {refused[0]} connection: code {refused[1]} {refused[2]}")
        router.reconcile_check(now_ns)
        frames = router.expired(now_ns)
        if control.trading_changes != self.trading_changes:
            self.trading_changes = control.trading_changes
            if control.trading_state == R.TS_HALTED and control.cancel_open:
                frames += router.cancel_open_orders(now_ns)
        self.gauge("open", router.open)
        return frames

    def user_key(self, mono_ns: int) -> str:
        """USD-M: the listenKey to open the user-data stream with, "" while
        ``userDataStream.start`` is unanswered; ConnectionError once ``RECONCILE_NS`` passed since
        this connection first asked (``mono_ns``: a monotonic clock)."""
        key = self.router.proto.listen_key
        if key:
            return key
        if not self.user_deadline_ns:
            self.user_deadline_ns = mono_ns + RECONCILE_NS
        elif mono_ns > self.user_deadline_ns:
            raise ConnectionError("no listenKey from userDataStream.start")
        return ""

    def lost(self, now_ns: int) -> float:
        """A connection ended or failed and the worker goes on: the seconds to wait first."""
        self.protection.check(now_ns)  # no orders go out while disconnected; keep the verdict current
        self.count("reconnects")
        delay, self.delay_s = self.delay_s, min(self.delay_s * 2, RECONNECT_MAX_S)
        return delay

    # --- a normal stop ----------------------------------------------------------------------------
    def stop_cancels(self, now_ns: int, mono_ns: int) -> list[bytes] | None:
        """With ``cancel_on_stop`` and orders open: their cancels (the ids go in the router's
        ``stop_cancels``), and the wait for the answers starts; else None (nothing to wait for)."""
        router = self.router
        if not (self.cancel_on_stop and router.open):
            return None
        frames = router.cancel_open_orders(now_ns, at_stop=True)
        log.info("stopping: cancelling %d open orders ([execution] cancel_on_stop)", router.open)
        self.stop_deadline_ns = mono_ns + STOP_CANCEL_NS
        return frames

    def stop_step(self, now_ns: int, mono_ns: int) -> list[bytes] | None:
        """One step of a normal stop, for the worker to send then sleep a housekeeping tick: first
        the cancels (``stop_cancels``), then overdue questions while ``stop_waiting``; None when
        there is nothing (more) to wait for."""
        if not self.stopping:
            self.stopping = True
            return self.stop_cancels(now_ns, mono_ns)
        return self.router.expired(now_ns) if self.stop_waiting(mono_ns) else None

    def stop_waiting(self, mono_ns: int) -> bool:
        """Orders still open and the stop's wait for their cancels not over."""
        return bool(self.router.open) and mono_ns < self.stop_deadline_ns

    def stopped(self) -> int:
        """The worker's sessions ended: ``stop_left`` is set to the orders still open (named in
        the log); returns it."""
        router = self.router
        self.gauge("stop_left", router.open)
        if router.open:
            log.warning("stopping with %d orders open at the venue: %s", router.open,
                        ", ".join(f"{oid:#x}" for oid in router.proto.orders))
        return router.open
