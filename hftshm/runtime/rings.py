"""The rings of a running instance: which topology and layout each has, created by the supervisor.

=======  ==========  ============  =========================  ===============================
ring     topology    layout        producers                  readers
=======  ==========  ============  =========================  ===============================
md       broadcast   md            ingest (or replay)         strategies, risk, journal, tail
orders   many-to-one order         strategies                 execution, journal
fills    broadcast   fill          execution                  strategies, risk, journal
=======  ==========  ============  =========================  ===============================
"""

from __future__ import annotations

from ..layouts import exec_report, md, order
from ..ring import BroadcastRing, ManyToOneRing

SPECS = {
    "md": (BroadcastRing, md.LAYOUT),
    "orders": (ManyToOneRing, order.LAYOUT),
    "fills": (BroadcastRing, exec_report.LAYOUT),
}


def symbols_of(cfg) -> list[str]:
    """The symbol table every ring carries: symbol id = index (upper case, as Binance sends)."""
    return [s.upper() for s in cfg.venue.symbols]


def create_all(cfg) -> list:
    """Create every configured ring; returns them (the caller closes them)."""
    made = []
    for name, rc in cfg.rings.items():
        cls, layout = SPECS.get(name, (None, None))
        if cls is None:
            raise ValueError(f"[rings.{name}]: unknown ring; hftshm runs {', '.join(SPECS)}")
        if cls is BroadcastRing:
            made.append(cls.create(cfg.instance, name, layout, rc.capacity, policy=rc.policy,
                                   symbols=symbols_of(cfg)))
        else:
            made.append(cls.create(cfg.instance, name, layout, rc.capacity, symbols=symbols_of(cfg)))
    return made


def attach(instance: str, name: str):
    cls, layout = SPECS[name]
    return cls.attach(instance, name, layout)
