"""Short number formats for narrow columns: every figure fits in 7 characters, "-" when unknown."""

from __future__ import annotations

DASH = "-"


def count(n) -> str:
    """12,345 up to 99,999; then 123.4k, 12.35M, 1.23G."""
    if n is None:
        return DASH
    n = int(n)
    a = abs(n)
    if a < 100_000:
        return f"{n:,}"
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            v = n / div
            return f"{v:.2f}{unit}" if abs(v) < 100 else f"{v:.1f}{unit}" if abs(v) < 1000 else f"{v:.0f}{unit}"
    return str(n)


def rate(r) -> str:
    if r is None:
        return DASH
    if r < 1000:
        return f"{r:.0f}/s" if r >= 10 or r == 0 else f"{r:.1f}/s"
    return count(round(r)) + "/s" if r >= 100_000 else f"{r / 1e3:.1f}k/s"


def micros(us) -> str:
    """A latency in microseconds with a unit that keeps it short: 850ns, 12.3us, 4.56ms, 1.2s."""
    if us is None:
        return DASH
    if us < 1:
        return f"{us * 1e3:.0f}ns"
    if us < 100:
        return f"{us:.1f}us"
    if us < 1000:
        return f"{us:.0f}us"
    if us < 100_000:
        return f"{us / 1e3:.2f}ms" if us < 10_000 else f"{us / 1e3:.1f}ms"
    if us < 1e6:
        return f"{us / 1e3:.0f}ms"
    return f"{us / 1e6:.1f}s"


def percent(p) -> str:
    if p is None:
        return DASH
    return f"{p * 100:.1f}%" if p < 0.995 else f"{p * 100:.0f}%"


def seconds(s) -> str:
    """Ages and uptimes: 0.02s, 12s, 3m05s, 2h03m."""
    if s is None:
        return DASH
    if s < 10:
        return f"{s:.2f}s" if s < 1 else f"{s:.1f}s"
    s = int(s)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def cpu(p) -> str:
    return DASH if p is None else f"{p:.0f}%" if p >= 10 else f"{p:.1f}%"


def money(v) -> str:
    if v is None:
        return DASH
    return f"{v:+,.2f}"


def qty(v) -> str:
    if v is None:
        return DASH
    return f"{v:g}"
