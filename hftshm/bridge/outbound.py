"""Ring -> messages, sans-I/O: the outbound half of a bridge (md out, fills out).

``Outbound`` is fed batches of records as a non-gating (ad-hoc) reader copied them out of the
ring, and returns the messages to publish, in order. It owns the bridge's position ``next_seq``:
the first sequence not yet turned into a message. A batch whose first record is past
``next_seq`` means the reader was lapped (the producer overwrote records before they were read):
that loss becomes one GAP message, so a receiver can tell loss at the source from loss in
transport. A batch that starts before ``next_seq`` (a resumed reader re-reading) is trimmed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import wire


@dataclass(frozen=True)
class Message:
    kind: int
    first_seq: int
    count: int
    msg_id: str
    payload: bytes


class Outbound:
    def __init__(self, epoch: int, fingerprint: int, record_size: int, next_seq: int, max_batch: int = 64):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.epoch = epoch
        self.fingerprint = fingerprint
        self.record_size = record_size
        self.next_seq = next_seq
        self.max_batch = max_batch
        self.lapped = 0  # sequences announced in GAP messages
        self.resent_skipped = 0  # records trimmed because they were before next_seq

    def gap(self, upto: int) -> list[Message]:
        """Announce every sequence from ``next_seq`` up to (not including) ``upto`` as lost."""
        if upto <= self.next_seq:
            return []
        n = upto - self.next_seq
        msg = Message(wire.GAP, self.next_seq, n, wire.msg_id(self.epoch, self.next_seq, n),
                      wire.encode(wire.GAP, self.epoch, self.next_seq, n, self.fingerprint, self.record_size))
        self.lapped += n
        self.next_seq = upto
        return [msg]

    def take(self, records: np.ndarray) -> list[Message]:
        """The messages for ``records`` (consecutive or not; their ``seq`` says where they sit)."""
        out: list[Message] = []
        if not len(records):
            return out
        seqs = records["seq"]
        n = len(records)
        first = int(seqs[0])
        # the common case, one consecutive run from next_seq on (a few records at a time at low
        # rates): skip the general split, whose numpy calls cost more than the records
        if first == self.next_seq and int(seqs[-1]) - first == n - 1 and (n <= 2 or not (np.diff(seqs) != 1).any()):
            return self._chunks(records, first, n)
        keep = seqs >= self.next_seq
        if not keep.all():
            self.resent_skipped += int((~keep).sum())
            records, seqs = records[keep], seqs[keep]
        # split into runs of consecutive sequences; a break inside a batch is a lap too
        breaks = np.flatnonzero(np.diff(seqs) != 1) + 1
        start = 0
        for end in [*breaks.tolist(), len(records)]:
            run = records[start:end]
            start = end
            if not len(run):
                continue
            out += self.gap(int(run[0]["seq"]))
            out += self._chunks(run, int(run[0]["seq"]), len(run))
        return out

    def _chunks(self, run: np.ndarray, first: int, count: int) -> list[Message]:
        """Messages of at most ``max_batch`` records for the consecutive ``run`` (``first`` on)."""
        out = []
        step = self.max_batch
        for i in range(0, count, step):
            chunk = run[i:i + step]
            n = len(chunk)
            out.append(Message(wire.RECORDS, first + i, n, wire.msg_id(self.epoch, first + i, n),
                               wire.encode(wire.RECORDS, self.epoch, first + i, n, self.fingerprint,
                                           self.record_size, np.ascontiguousarray(chunk).data)))
        self.next_seq = first + count
        return out


def resume_position(last_payload: bytes | None, epoch: int) -> int | None:
    """Where an outbound bridge goes on after a restart: after the last message its subject holds
    (None when the stream holds none of this epoch: start afresh)."""
    if last_payload is None:
        return None
    _, last_epoch, first, count, _, _ = wire.decode_header(last_payload)
    if last_epoch != epoch:
        return None
    return first + count
