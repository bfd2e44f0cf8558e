"""Record layouts: each defined once as a numpy structured dtype with a byte diagram."""

from . import bench, exec_report, md, order
from .base import Layout

BY_NAME: dict[str, Layout] = {m.LAYOUT.name: m.LAYOUT for m in (md, order, exec_report, bench)}


def by_name(name: str) -> Layout:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown layout {name!r}; known: {', '.join(sorted(BY_NAME))}") from None


__all__ = ["Layout", "BY_NAME", "by_name", "bench", "exec_report", "md", "order"]
