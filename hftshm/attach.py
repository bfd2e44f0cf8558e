"""``hftshm.attach("md")``: read a running instance's ring from a notebook or script.

    >>> import hftshm
    >>> md = hftshm.attach("md")            # the only live instance, from the newest record
    >>> batch = md.read()                   # numpy structured array: zero-copy view into the ring
    >>> md.symbol(batch["symbol_id"][0])    # 'BTCUSDT'
    >>> md.to_dicts(batch[:3])              # decoded: names, exact decimal prices
    >>> md.close()

The reader is ad-hoc (non-gating) by default: it never holds the producer back, so a slow
notebook, or one that is killed, costs the running system nothing; it may be lapped instead,
which ``lost`` counts. A zero-copy batch is intact when returned and until the producer has
published about a ring's worth more; ``intact()`` checks, ``read(copy=True)`` copies and validates.

On a group (several venues in one instance) a ring is named with its venue,
``hftshm.attach("bybit:md", "arb")``, and its symbols are ``bybit:BTCUSDT``.
"""

from __future__ import annotations

import atexit
import weakref


class AttachedReader:
    """A reader of one ring with its symbol table and decoders at hand."""

    def __init__(self, ring, reader, venue: str | None = None):
        from .instances import qualify

        self.ring = ring
        self.reader = reader
        self.layout = ring.layout
        self.dtype = ring.layout.dtype
        self.venue = venue  # a group's venue: symbols are 'venue:SYMBOL'
        self.symbols: list[str] = [qualify(venue, s) for s in ring.symbols] if venue else ring.symbols
        self._closed = False

    # --- reading ------------------------------------------------------------------------------

    def read(self, max_n: int = 65536, copy: bool = False):
        """The records ready now (up to ``max_n``; empty array if none). Zero-copy unless ``copy``."""
        return self.reader.read_batch(max_n, copy=copy)

    def wait(self, timeout: float | None = None) -> bool:
        """Idle until a record is ready; False on timeout."""
        return self.reader.wait(timeout)

    def intact(self) -> bool:
        """Whether the last zero-copy batch is still intact (not yet overwritten)."""
        return self.reader.intact()

    def pending(self) -> int:
        return self.reader.pending()

    @property
    def lost(self) -> int:
        return self.reader.lost

    @property
    def lag(self) -> int:
        return self.reader.lag

    @property
    def next_seq(self) -> int:
        return self.reader.next_seq

    # --- decoding -----------------------------------------------------------------------------

    def symbol(self, symbol_id: int) -> str:
        from .ui.decode import symbol_name

        return symbol_name(self.symbols, int(symbol_id))

    def symbol_id(self, name: str) -> int:
        """The id of ``name`` (any case; on a group's venue 'venue:SYMBOL', or SYMBOL alone)."""
        from .instances import QUALIFIER, qualify

        if self.venue and QUALIFIER not in name:
            name = qualify(self.venue, name)
        up = [s.upper() for s in self.symbols]
        try:
            return up.index(name.upper())
        except ValueError:
            raise KeyError(f"{name!r} is not in ring {self.ring.name!r}'s symbols {self.symbols}") from None

    def to_dicts(self, records) -> list[dict]:
        """Records as plain dicts: names for codes, symbols, exact decimal strings for prices."""
        from .ui.decode import to_dicts

        return to_dicts(records, self.layout.name, self.symbols)

    to_records = to_dicts

    # --- lifetime -----------------------------------------------------------------------------

    def close(self) -> None:
        """Give the reader slot back. The ring stays mapped while a view into it is alive."""
        if self._closed:
            return
        self._closed = True
        self.reader.close()
        self.ring.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return (f"<hftshm reader of {self.ring.instance}/{self.ring.name} ({self.layout.name}), "
                f"next seq {self.next_seq if not self._closed else '-'}, lost {self.reader.lost}>")


def _close_at_exit(ref):
    obj = ref()
    if obj is not None:
        obj.close()


def attach(ring: str, instance: str | None = None, *, gating: bool = False, name: str | None = None,
           start="newest", wait: str = "backoff") -> AttachedReader:
    """A reader of ring ``ring`` of ``instance`` (default: the only live instance, or group).

    On a group, ``ring`` is ``venue:ring`` (``'bybit:md'``). ``start``: 'newest' (default),
    'oldest' or a sequence number. ``gating=True`` (with a ``name``) makes it hold the producer
    back like a worker; use it only when losing records is worse than stalling the system.
    """
    from .errors import InstanceError
    from .instances import QUALIFIER, Group
    from .ui.pick import pick
    from .ui.rings import open_ring

    target = pick(instance)
    venue = None
    if isinstance(target, Group):
        venue, ring = target.split(ring)
        if venue is None:
            raise InstanceError(f"group {target.name!r} has a {ring!r} ring per venue: attach "
                                f"'venue:{ring}' (its venues: {', '.join(target.venues)})")
        inst = target.instance(venue)
    elif QUALIFIER in ring:
        raise InstanceError(f"{target!r} is an instance, not a group: its rings have no venue ({ring!r})")
    else:
        inst = target
    seg = open_ring(inst, ring)
    try:
        reader = seg.reader(name, gating=gating, start=start, wait=wait)
    except BaseException:
        seg.close()
        raise
    obj = AttachedReader(seg, reader, venue)
    atexit.register(_close_at_exit, weakref.ref(obj))
    return obj
