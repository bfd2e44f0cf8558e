"""Record layouts: each defined once as a numpy structured dtype with a byte diagram."""

from . import bench, exec_report, md, order
from .base import Layout

BY_NAME: dict[str, Layout] = {m.LAYOUT.name: m.LAYOUT for m in (md, order, exec_report, bench)}


# Older layouts whose records are, byte for byte, records of a current one: fingerprint (as u64;
# it hashes the name too) -> the current layout. Journals and bridge messages written in them read
# as the current layout.
UPGRADES: dict[int, Layout] = {md.V1_FINGERPRINT: md.LAYOUT}  # md_event.v1


def upgrade(fingerprint: int) -> Layout | None:
    """The current layout that records of the layout with ``fingerprint`` read as, or None."""
    return UPGRADES.get(fingerprint & (2**64 - 1))


def by_name(name: str) -> Layout:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown layout {name!r}; known: {', '.join(sorted(BY_NAME))}") from None


__all__ = ["Layout", "BY_NAME", "by_name", "upgrade", "bench", "exec_report", "md", "order"]
