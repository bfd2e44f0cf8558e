"""A long capture for ``hftshm bench ingest``, made from the real one: frames of one kind.

The vendored capture holds 9,757 trades and 28,040 bookTickers, a fraction of a second at the
rates measured here. This cycles through its frames of one kind, renumbering trade ids ``t`` and
bookTicker update ids ``u`` so they stay contiguous (no gap counted), and writes
``<recv_ns> <envelope>`` lines that ``hftshm exchange --replay FILE --speed max`` plays.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from hftshm.feed.capture import iter_capture

KINDS = {"trade": (b"@trade", "t"), "bookTicker": (b"@bookTicker", "u")}
CAPTURE = Path(__file__).resolve().parents[2] / "tests" / "data" / "btcusdt_spot_20240808.capture.gz"
USDM_CAPTURE = CAPTURE.with_name("btcusdt_usdm_20240808.capture.gz")  # Binance USD-M (bench --venue)


TEMPLATES = 100_000  # frames of a kind kept to cycle through (the vendored capture has 28,040 bookTickers)


def templates(kind: str, capture: Path = CAPTURE, symbol: str = "btcusdt") -> list[dict]:
    """The capture's first ``TEMPLATES`` frames of ``kind`` for ``symbol``; ValueError when it has none."""
    tag = b'{"stream":"%s%s"' % (symbol.lower().encode(), KINDS[kind][0])
    out = []
    for _, f in iter_capture(capture):
        if f.startswith(tag):
            out.append(orjson.loads(f))
            if len(out) == TEMPLATES:
                break
    if not out:
        raise ValueError(f"capture {capture}: no {symbol.lower()}@{kind} frames")
    return out


def write_capture(path: Path, kinds, count: int, capture: Path = CAPTURE, symbol: str = "btcusdt") -> Path:
    """``count`` frames of each of ``kinds`` ("trade", "bookTicker") into ``path``, one kind
    after the other (a connection subscribed to one kind gets only its own); returns ``path``."""
    if isinstance(kinds, str):
        kinds = (kinds,)
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ValueError(f"kinds must be among {', '.join(KINDS)}, got {list(kinds)!r}")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    dumps = orjson.dumps
    stamp = 1_000_000
    with open(path, "wb") as f:
        for kind in kinds:
            base = templates(kind, capture, symbol)
            _, id_field = KINDS[kind]
            first = base[0]["data"][id_field]
            lines = []
            for i in range(count):
                env = base[i % len(base)]
                env["data"][id_field] = first + i
                stamp += 1
                lines.append(b"%d %s\n" % (stamp, dumps(env)))
                if len(lines) >= 8192:
                    f.writelines(lines)
                    lines.clear()
            f.writelines(lines)
    return path
