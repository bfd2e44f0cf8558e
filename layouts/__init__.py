"""Record layouts: each defined once as a numpy structured dtype with a byte diagram."""

from . import bench, exec_report, md, order
from .base import Layout

BY_NAME: dict[str, Layout] = {m.LAYOUT.name: m.LAYOUT for m in (md, order, exec_report, bench)}


# Older layouts whose records are, byte for byte, records of a current one: (name, fingerprint as
# u64) -> the current layout. Journals written in them read as the current layout.
UPGRADES: dict[tuple[str, int], Layout] = {("md_event.v1", md.V1_FINGERPRINT): md.LAYOUT}


def upgrade(name: str, fingerprint: int) -> Layout | None:
    """The current layout that records of layout ``name`` (``fingerprint``) read as, or None."""
    return UPGRADES.get((name, fingerprint & (2**64 - 1)))


def by_name(name: str) -> Layout:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown layout {name!r}; known: {', '.join(sorted(BY_NAME))}") from None


__all__ = ["Layout", "BY_NAME", "by_name", "upgrade", "bench", "exec_report", "md", "order"]
