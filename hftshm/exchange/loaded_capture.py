"""A recorded capture, loaded for playback (format: shared/data/binance/README.md).

One message a line, ``<local_receive_ns> <raw frame>``: a combined-stream envelope
``{"stream":"<name>","data":<payload>}``, or a REST depth snapshot ``{"lastUpdateId":..}``.
Envelopes are kept byte for byte (combined connections get them unchanged) together with their
``data`` part (raw ``/ws/<stream>`` connections get that). A snapshot is not streamed: it is
served as the WebSocket API ``depth`` answer for the symbol of the next depth update in the file.

A Binance USD-M capture (``venue == "binance_usdm"``: a stream kind only USD-M has, such as
``depth@0ms`` or ``markPrice@1s``, a depth update carrying ``pu``, a bookTicker with ``"e"`` or a
trade with ``"X"``) is served on USD-M's routed
paths (``server.py``) and its snapshot keeps the futures fields ``E`` and ``T``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ..feed.capture import iter_capture

from .streams import KINDS, USDM_KINDS, parse_stream
from .wsframe import text_frame

_PREFIX = b'{"stream":"'
_PRICED = ("bookTicker", "trade", "aggTrade", "depth")  # stream kinds whose prices are on the tick
_DATA = b'","data":'


@dataclass(frozen=True)
class Frame:
    recv_ns: int
    stream: str
    combined: bytes  # the recorded envelope, exactly
    data: bytes  # its payload


@dataclass
class Capture:
    frames: list[Frame]
    snapshots: dict[str, dict]  # stream symbol -> {"lastUpdateId", "bids", "asks"}
    venue: str = "binance_spot"  # or "binance_usdm" (hftshm.venues kinds)
    _encoded: dict[bool, list[bytes]] = field(default_factory=dict, repr=False)

    @property
    def streams(self) -> set[str]:
        return {f.stream for f in self.frames}

    @property
    def symbols(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.frames:
            seen.setdefault(f.stream.partition("@")[0], None)
        for s in self.snapshots:
            seen.setdefault(s, None)
        return list(seen)

    def price_decimals(self, symbol: str, limit: int = 20_000) -> int | None:
        """The most decimal places of a price in ``symbol``'s first ``limit`` frames (bookTicker,
        trade and aggTrade, depth levels; trailing zeros dropped), at most 8; None without a price.
        Book and trade prices are multiples of the venue's tick, so 10^-decimals is the tick or a
        divisor of it. A mark price (markPrice streams, 8 decimals) is on no tick and not read."""
        most, seen = None, 0
        prefix = symbol + "@"
        for f in self.frames:
            kind = f.stream[len(prefix):] if f.stream.startswith(prefix) else ""
            if not kind.startswith(_PRICED):
                continue
            seen += 1
            if seen > limit:
                break
            try:
                d = orjson.loads(f.data)
            except orjson.JSONDecodeError:
                continue
            prices = []
            for k in ("b", "a", "p"):
                v = d.get(k) if isinstance(d, dict) else None
                if isinstance(v, list):  # depth: [[price, qty], ...]
                    prices += [lv[0] for lv in v if isinstance(lv, list) and lv]
                else:
                    prices.append(v)
            for p in prices:
                if isinstance(p, str) and "." in p:
                    places = len(p.partition(".")[2].rstrip("0"))
                    most = places if most is None else max(most, places)
                elif isinstance(p, str) and p.isdigit():
                    most = 0 if most is None else most
        return None if most is None else min(most, 8)

    def encoded(self, combined: bool) -> list[bytes]:
        """Every frame as a ready WebSocket text frame, envelopes or payloads (built once)."""
        if combined not in self._encoded:
            self._encoded[combined] = [text_frame(f.combined if combined else f.data) for f in self.frames]
        return self._encoded[combined]

    @classmethod
    def load(cls, path: str | Path) -> Capture:
        frames: list[Frame] = []
        pending: list[dict] = []  # snapshots waiting for the next depth update's symbol
        snapshots: dict[str, dict] = {}
        for lineno, (stamp, raw) in enumerate(iter_capture(path), 1):
            where = f"{path}:{lineno}"
            if raw.startswith(b'{"lastUpdateId"'):
                try:
                    snap = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise ValueError(f"{where}: the depth snapshot is not JSON: {exc}") from None
                if not all(k in snap for k in ("lastUpdateId", "bids", "asks")):
                    raise ValueError(f"{where}: a depth snapshot needs lastUpdateId, bids and asks")
                pending.append(snap)
                continue
            stream, data = _split_envelope(raw, where)
            frames.append(Frame(stamp, stream, raw, data))
            if pending and "@depth" in stream:
                symbol = stream.partition("@")[0]
                for snap in pending:
                    snapshots[symbol] = snap
                pending.clear()
        if pending:
            depth = [f for f in frames if "@depth" in f.stream]
            if not depth:
                raise ValueError(f"{path}: a depth snapshot but no depth stream to tell its symbol")
            snapshots[depth[-1].stream.partition("@")[0]] = pending[-1]
        if not frames:
            raise ValueError(f"{path}: no stream frames")
        return cls(frames, snapshots, _venue_of(frames))


def _venue_of(frames: list[Frame]) -> str:
    usdm_only = set(USDM_KINDS) - set(KINDS)
    for f in frames:
        kind = f.stream.partition("@")[2]
        if kind in usdm_only or (kind.startswith("depth") and b'"pu":' in f.data):
            return "binance_usdm"
        if (kind == "bookTicker" and b'"e":"bookTicker"' in f.data) or (kind == "trade" and b'"X":' in f.data):
            return "binance_usdm"  # futures bookTicker carries "e" (Spot's does not), trades "X"
    return "binance_spot"


def _split_envelope(raw: bytes, where: str) -> tuple[str, bytes]:
    """``{"stream":"x","data":P}`` -> ("x", P) without re-encoding P."""
    end = raw.find(_DATA)
    if not raw.startswith(_PREFIX) or end < 0 or not raw.endswith(b"}"):
        raise ValueError(f"{where}: expected a combined-stream envelope {{\"stream\":..,\"data\":..}}, "
                         f"got {raw[:60]!r}")
    stream = raw[len(_PREFIX):end].decode("ascii", "replace")
    try:
        parse_stream(stream, USDM_KINDS if stream.partition("@")[2] in USDM_KINDS else KINDS)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return stream, raw[end + len(_DATA):-1]
