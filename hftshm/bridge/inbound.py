"""Messages -> ring records, sans-I/O: the inbound half of a bridge (md in).

``Inbound`` checks each message (layout fingerprint, epoch, continuity of the source sequence)
and says what to publish into the local ring. The local ring keeps the **source** sequence
numbers: position ``p`` of the local ring holds source sequence ``p + base``, where ``base`` is
fixed when the bridge first publishes into a fresh ring (0 when the receiver follows the source
from its start, as it does by default) and never changes, because every source sequence that
cannot be delivered still takes its position, as one placeholder record (see ``placeholder``).
So ``seq`` equals the source's ``seq`` whenever ``base`` is 0, and ``seq + base`` always.

Outcomes of ``on_message`` (``Verdict.kind``):

* ``ACCEPT``: publish ``records`` (the message's records, a duplicate prefix trimmed, or
  placeholders for a GAP message);
* ``DUPLICATE``: everything in it was published already (a redelivery): publish nothing;
* ``AHEAD``: its first sequence is past the next one expected: a hole in transport. The caller
  tries to fill it from the stream; if it cannot, ``lose(upto)`` counts the hole and gives its
  placeholders, and the message is offered again;
* ``REFUSED``: foreign layout, wrong epoch or malformed; ``reason`` names it, and it is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hftshm import layouts

from . import wire

ACCEPT = "accept"
DUPLICATE = "duplicate"
AHEAD = "ahead"
REFUSED = "refused"

REFUSE_LAYOUT = "layout"
REFUSE_EPOCH = "epoch"
REFUSE_MALFORMED = "malformed"


@dataclass
class Verdict:
    kind: str
    records: np.ndarray | None = None
    counted: str = ""  # ACCEPT: the count the records went to ("records" or "src_lost")
    reason: str = ""
    detail: str = ""


class Inbound:
    def __init__(self, dtype: np.dtype, fingerprint: int, placeholder, *, epoch: int = 0,
                 next_src: int | None = None, base: int | None = None):
        """``placeholder(first_src, n) -> records`` builds the stand-ins for lost sequences.
        ``epoch`` 0 and ``next_src`` None: a fresh receiver that takes the first epoch it sees."""
        self.dtype = dtype
        self.fingerprint = fingerprint
        self.placeholder = placeholder
        self.epoch = epoch
        self.next_src = next_src
        self.base = base
        self.counts = {"msgs": 0, "records": 0, "duplicates": 0, "src_lost": 0, "transport_lost": 0,
                       "refused_layout": 0, "refused_epoch": 0, "refused_malformed": 0}

    def _refuse(self, reason: str, detail: str) -> Verdict:
        self.counts[f"refused_{reason}"] += 1
        return Verdict(REFUSED, reason=reason, detail=detail)

    def on_message(self, payload: bytes) -> Verdict:
        try:
            kind, epoch, first, count, fp, size = wire.decode_header(payload)
        except wire.WireError as exc:
            return self._refuse(REFUSE_MALFORMED, str(exc))
        # ours, or an older layout of the same bytes (a source not yet upgraded, or its messages
        # still in the stream: layouts.UPGRADES)
        same = fp == self.fingerprint or getattr(layouts.upgrade(fp), "fingerprint", None) == self.fingerprint
        if not same or (kind == wire.RECORDS and size != self.dtype.itemsize):
            return self._refuse(REFUSE_LAYOUT, f"layout fingerprint {fp & (2**64 - 1):#018x} ({size} B records); "
                                               f"this ring's is {self.fingerprint & (2**64 - 1):#018x}")
        if self.epoch and epoch != self.epoch:
            return self._refuse(REFUSE_EPOCH, f"epoch {epoch}; this receiver follows epoch {self.epoch} "
                                              "(a restarted source: restart the receiving instance to follow it)")
        if self.next_src is None:  # a fresh receiver: its ring position 0 is this message's first
            self.epoch, self.next_src, self.base = epoch, first, first
        self.epoch = epoch
        end = first + count
        if first > self.next_src:
            return Verdict(AHEAD, detail=f"expected source sequence {self.next_src}, got {first}")
        self.counts["msgs"] += 1
        if end <= self.next_src:
            self.counts["duplicates"] += count
            return Verdict(DUPLICATE)
        skip = self.next_src - first
        self.counts["duplicates"] += skip
        n = count - skip
        if kind == wire.GAP:
            recs, counted = self.placeholder(self.next_src, n), "src_lost"
        else:
            body = memoryview(payload)[wire.HEADER_LENGTH + skip * size:]
            recs, counted = np.frombuffer(body, self.dtype, n), "records"
        self.counts[counted] += n
        self.next_src = end
        return Verdict(ACCEPT, records=recs, counted=counted)

    def lose(self, upto: int) -> np.ndarray:
        """Give up on source sequences ``next_src .. upto - 1``: counted, and their placeholders."""
        n = upto - self.next_src
        if n <= 0:
            return np.zeros(0, self.dtype)
        recs = self.placeholder(self.next_src, n)
        self.counts["transport_lost"] += n
        self.next_src = upto
        return recs
