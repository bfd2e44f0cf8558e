"""The journal worker: a gating reader of every ring that appends its records to disk.

Policy (docs/operations.md): on the ``md`` ring (overwrite) the journal gates nothing, so a slow
disk can never stall ingestion; when its lag passes ``journal.lag_alarm`` x capacity it raises
an alarm (counter ``lag_alarms``, a log line) and, if it is lapped anyway, the records it lost are
counted and show as a sequence gap in the files. On ``wait`` rings (orders, fills) it holds the
producers back like any gating reader; they carry a few records per second.
Records from an overwrite ring are copied out and validated before they are written, so a
record overwritten mid-write never reaches the disk; a wait ring's are written zero-copy.
"""

from __future__ import annotations

import logging
import time

from hftshm.journal import files
from hftshm.journal.writer import RingJournal
from hftshm.runtime import rings
from hftshm.runtime.agent import Agent

log = logging.getLogger("hftshm.journal")

BATCH = 1024  # records per read: 128 KiB, one write


class JournalAgent(Agent):
    role = "journal"
    counter_names = ("records", "bytes", "files", "batches", "lag_alarms", "lost", "gaps", "skipped", "max_lag")

    def on_start(self) -> None:
        cfg = self.ctx.config
        self._rings, self._readers, self._journals, self._copy = [], [], [], []
        self._alarmed = []
        run_dir = cfg.run_dir()
        self._read_stage = self.ctx.latency.recorder(f"publish_to_read.{self.ctx.name}", add=True)
        for name in cfg.rings:
            ring = rings.attach(self.ctx.instance, name)
            reader = ring.reader(self.ctx.name, gating=True, start="oldest", wait=cfg.worker(self.ctx.name).wait)
            journal = RingJournal(files.ring_dir(run_dir, name), ring, self.ctx.instance,
                                  int(cfg.journal.rotate_mb * (1 << 20)), cfg.journal.fsync)
            self._rings.append(ring)
            self._readers.append(reader)
            self._journals.append(journal)
            self._copy.append(ring.policy == "overwrite")
            self._alarmed.append(False)
            if reader.resumed:
                log.info("journal of %s resumes at seq %d (last on disk %d)", name, reader.next_seq, journal.last_seq)
        self._alarm_at = [int(cfg.journal.lag_alarm * r.capacity) for r in self._rings]
        self._next_flush = 0
        self._flush_ns = int(cfg.journal.flush_ms * 1e6)  # fsync (when on) and counters, when idle

    def readers(self) -> list:
        return self._readers

    def do_work(self) -> int:
        work = 0
        now = time.time_ns()
        for i, reader in enumerate(self._readers):
            batch = reader.read_batch(BATCH, copy=self._copy[i])
            n = len(batch)
            if not n:
                continue
            work += n
            journal = self._journals[i]
            before = journal.records, journal.gaps, journal.skipped
            journal.write(batch)  # to the kernel before the next read releases the slots
            self._read_stage.record(now - int(batch[0]["publish_ns"]))
            self.count("records", journal.records - before[0])
            self.count("gaps", journal.gaps - before[1])
            self.count("skipped", journal.skipped - before[2])
            self.count("batches")
            self.count("bytes", n * journal.record_size)
            self._check_lag(i, reader)
        if now >= self._next_flush:
            self._flush(now)
        return work

    def _check_lag(self, i: int, reader) -> None:
        lag = reader.pending()
        if lag > self.counters[self.counter["max_lag"]]:
            self.set("max_lag", lag)
        if lag >= self._alarm_at[i] and not self._alarmed[i]:
            self._alarmed[i] = True
            self.count("lag_alarms")
            log.warning("journal lags %d records on ring %s (alarm at %d of %d): the disk is too slow",
                        lag, self._rings[i].name, self._alarm_at[i], self._rings[i].capacity)
        elif lag < self._alarm_at[i] // 2:
            self._alarmed[i] = False

    def _flush(self, now: int) -> None:
        self._next_flush = now + self._flush_ns
        for j in self._journals:
            j.flush()
        self.set("files", sum(j.files for j in self._journals))
        self.set("lost", sum(r.lost for r in self._readers))

    def on_stop(self) -> bool:
        """Drain: producers stopped first, so what is left is finite."""
        while self.do_work():
            pass
        return all(r.pending() == 0 for r in self._readers)

    def on_close(self) -> None:
        self._flush(time.time_ns())
        for j in self._journals:
            j.close()
        for r in self._readers:
            r.close()
        for ring in self._rings:
            ring.close()
