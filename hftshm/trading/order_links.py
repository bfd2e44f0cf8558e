"""What a venue's order entry needs besides its API socket, without I/O, so the execution worker
opens it the same way for every venue (``workers/execution.py`` owns the sockets; every time is
passed in):

* **A report stream of its own** (``side``): USD-M's listenKey user-data stream
  (``UserDataStream``: its URL is known once ``userDataStream.start`` answered; a new key ends
  it) or Bybit's authenticated private stream (``PrivateStream``: a fixed URL next to the trade
  API; its auth and ``order``/``execution`` subscription are the first frames sent on it, and
  the subscription's answer brings the protocol's query for the funding it missed, a REST call
  like the others). None for Spot (reports come on the API connection). The worker asks ``url(mono)`` until it is not
  empty, opens it, sends ``opened(now)``, hands every frame to the router and stops reading
  when ``current()`` is false; ``closed()`` when it ends (which ends the session: the reconnect
  resyncs). New orders wait meanwhile (``OrderSession.holding``: USD-M's ``user_ready``,
  Bybit's ``proto.ready``).
* **REST calls** (``rest_base``): Bybit's order queries are REST (its trade API has no query op):
  the protocol returns them as ``HttpRequest`` effects among its frames and the worker makes them
  (``rest_calls.py``) and hands each answer back to the router.
* **Application pings** (``pings(mono)``): Bybit asks for ``{"op":"ping"}`` every 20 s on its
  streams ("WebSocket Stream" > "Connect" > "How to Send the Heartbeat Packet"); sent on the API
  and the private socket. Binance needs none (protocol-level pings, as websockets sends).
"""

from __future__ import annotations

from .rest_calls import RestCalls

PING_NS = 20_000_000_000  # Bybit: "we recommend that you send the ping heartbeat packet every 20 seconds"


class UserDataStream:
    """USD-M: the listenKey stream ("User Data Streams"), opened once the API answered
    ``userDataStream.start``; a new key ends it."""

    def __init__(self, session, proto, api_url: str, url_of):
        self.session, self.proto, self.api_url, self.url_of = session, proto, api_url, url_of
        self.key = ""

    def url(self, mono_ns: int) -> str:
        """"" while the key is not there; ConnectionError when none came in time."""
        self.key = self.session.user_key(mono_ns)
        return self.url_of(self.api_url, self.key) if self.key else ""

    def opened(self, now_ns: int) -> list[bytes]:
        self.session.user_ready = True
        return []

    def current(self) -> bool:
        return self.proto.listen_key == self.key

    def closed(self) -> None:
        self.session.user_ready = False


class PrivateStream:
    """Bybit: the private stream ("WebSocket Stream" > "Private"), authenticated and subscribed by
    the protocol's ``private_frames``; orders wait until the protocol is ``ready``."""

    def __init__(self, proto, url: str):
        self.proto, self._url = proto, url

    def url(self, mono_ns: int) -> str:
        return self._url

    def opened(self, now_ns: int) -> list[bytes]:
        return self.proto.private_frames(now_ns)

    def current(self) -> bool:
        refused = self.proto.auth_refused
        if refused is not None:  # fail closed: a refused auth or subscription ends the session
            self.proto.auth_refused = None
            raise ConnectionError(f"Bybit {refused[0]} connection refused: code {refused[1]} {refused[2]}")
        return True

    def closed(self) -> None:
        self.proto.private_authed = self.proto.private_subscribed = False  # not ready until it is back


class OrderLinks:
    """One venue's extra links (module doc), built by ``links_for``."""

    def __init__(self, side=None, rest_base: str | None = None, ping: bytes = b""):
        self.side = side
        self.rest_base = rest_base
        self.ping = ping
        self.next_ping_ns = 0  # monotonic

    def rest_calls(self, deliver) -> RestCalls:
        """A session's REST calls (``rest_calls.py``), answers to ``deliver``."""
        return RestCalls(self.rest_base, deliver)

    def pings(self, mono_ns: int) -> list[bytes]:
        """The ping frame when one is due on each socket (``[]`` otherwise, or with no ping)."""
        if not self.ping or mono_ns < self.next_ping_ns:
            return []
        self.next_ping_ns = mono_ns + PING_NS
        return [self.ping]


def links_for(venue, session, proto, api_url: str) -> OrderLinks:
    """The links of an ``OrderVenue`` (``hftshm.venues``) for a session over ``api_url``."""
    if venue.private_stream_url is not None:  # Bybit
        from ..venues.bybit.urls import PING

        return OrderLinks(PrivateStream(proto, venue.private_stream_url(api_url)), venue.rest_url(api_url), PING)
    if venue.user_stream_url is not None:  # USD-M
        return OrderLinks(UserDataStream(session, proto, api_url, venue.user_stream_url))
    return OrderLinks()
