"""The journal worker: a gating reader of every ring that appends its records to disk.

Policy (docs/operations.md): on the ``md`` ring (overwrite) the journal gates nothing, so a slow
disk can never stall ingestion; when its lag passes ``journal.lag_alarm`` x capacity it raises
an alarm (counter ``lag_alarms``, a log line) and, if it is lapped anyway, the records it lost are
counted and show as a sequence gap in the files. On ``wait`` rings (orders, fills) it holds the
producers back like any gating reader; they carry a few records per second.
Records from an overwrite ring are copied out and validated before they are written, so a
record overwritten mid-write never reaches the disk; a wait ring's are written zero-copy.

No journal, no trading: when a write fails (ENOSPC, EIO, EFBIG: any OSError) the worker does not
crash. It keeps the batch it could not write (a wait ring's stays unreleased in the ring; an
md batch is a copy), stops reading that ring, halts trading with reason JOURNAL_DOWN (for md only
if ``[journal] halt_on_md_failure``), logs an error, counts (``write_errors``, ``down``,
``down_ms``) and retries every ``RETRY_S``. What md overwrote meanwhile is counted in ``lost``
and shows as a gap; records left unwritten at stop are counted in ``unjournaled``.
"""

from __future__ import annotations

import errno
import logging
import signal
import time

from hftshm.journal import files
from hftshm.journal.writer import RingJournal
from hftshm.ring import kernels as K
from hftshm.risk import killswitch
from hftshm.risk import reasons as R
from hftshm.runtime import rings
from hftshm.runtime.agent import Agent
from hftshm.runtime.control import HALTED

log = logging.getLogger("hftshm.journal")

BATCH = 1024  # records per read: 128 KiB, one write
RETRY_S = 1.0  # a journal that cannot write tries again this often


def halt_trading(control) -> None:
    """The one place the journal stops trading: it holds JOURNAL_DOWN (``hftshm resume`` is
    refused) until ``release_trading`` once it writes again; nothing resumes by itself."""
    killswitch.hold(control, R.JOURNAL_DOWN)


def release_trading(control) -> None:
    if control.held_cause == R.JOURNAL_DOWN:
        killswitch.hold(control, R.OK)


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno, str(exc.errno)) if exc.errno else type(exc).__name__


class JournalAgent(Agent):
    role = "journal"
    counter_names = ("records", "bytes", "files", "batches", "lag_alarms", "lost", "gaps", "skipped", "max_lag",
                     "write_errors", "down", "down_ms", "unjournaled", "repairs")

    def on_start(self) -> None:
        cfg = self.ctx.config
        # a file-size limit (ulimit -f) must fail the write (EFBIG), not kill the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        self._rings, self._readers, self._journals, self._copy = [], [], [], []
        self._alarmed = []
        run_dir = cfg.run_dir()
        self._read_stage = self.ctx.latency.recorder(f"publish_to_read.{self.ctx.name}", add=True)
        for name in cfg.rings:
            ring = rings.attach(self.ctx.instance, name)
            # no wait strategy of its own: the runner idles this worker (by default on a timer)
            reader = ring.reader(self.ctx.name, gating=True, start="oldest")
            self._rings.append(ring)
            self._readers.append(reader)
            self._journals.append(None)  # opened below; a disk that fails already is a fault like any write's
            self._copy.append(ring.policy == "overwrite")
            self._alarmed.append(False)
        self._alarm_at = [int(cfg.journal.lag_alarm * r.capacity) for r in self._rings]
        self._halts = [r.name != "md" or bool(getattr(cfg.journal, "halt_on_md_failure", True)) for r in self._rings]
        self._release_at_start = self.ctx.control.held_cause == R.JOURNAL_DOWN
        n = len(self._rings)
        self._held = [None] * n  # per ring: the batch a failed write left (not released)
        self._down_since = [0] * n  # per ring: monotonic ns of the first failure, 0 = up
        self._lost_seen = [r.lost for r in self._readers]
        self._retry_at = [0] * n
        self._down_ms_done = 0  # down time of outages that ended
        self._next_flush = 0
        self._flush_ns = int(cfg.journal.flush_ms * 1e6)  # fsync (when on) and counters, when idle
        for i, reader in enumerate(self._readers):
            if self._open_journal(i, reader.slots[:0]) is not None and reader.resumed:
                log.info("journal of %s resumes at seq %d (last on disk %d)", self._rings[i].name, reader.next_seq,
                         self._journals[i].last_seq)

    def _open_journal(self, i: int, batch):
        """The ring's RingJournal (repairing a crash's leftovers), or None after a failure."""
        if self._journals[i] is None:
            cfg = self.ctx.config
            try:
                journal = RingJournal(files.ring_dir(cfg.run_dir(), self._rings[i].name), self._rings[i],
                                      self.ctx.instance, int(cfg.journal.rotate_mb * (1 << 20)), cfg.journal.fsync)
            except OSError as exc:
                self._failed(i, batch, exc)
                return None
            self.count("repairs", len(journal.repairs))
            self._journals[i] = journal
        return self._journals[i]

    def readers(self) -> list:
        return self._readers

    def do_work(self) -> int:
        work = 0
        now = time.time_ns()
        for i, reader in enumerate(self._readers):
            if self._held[i] is not None:
                if time.monotonic_ns() < self._retry_at[i] or not self._write(i, self._held[i], now):
                    continue  # still down: read nothing more, release nothing
                work += 1
            batch = reader.read_batch(BATCH, copy=self._copy[i])  # releases the batch written before
            n = len(batch)
            if not n:
                continue
            work += n
            if reader.lost != self._lost_seen[i]:
                log.error("journal of %s was lapped: %d records overwritten before they were journaled (%d in all)",
                          self._rings[i].name, reader.lost - self._lost_seen[i], reader.lost)
                self._lost_seen[i] = reader.lost
            self._write(i, batch, now)  # to the kernel before the next read releases the slots
            self._check_lag(i, reader)
        if now >= self._next_flush:
            self._flush(now)
        return work

    def _write(self, i: int, batch, now: int) -> bool:
        journal = self._open_journal(i, batch)
        if journal is None:
            return False
        before = journal.records, journal.gaps, journal.skipped, journal.bytes
        try:
            journal.write(batch)
        except OSError as exc:
            self._failed(i, batch, exc)
            return False
        if len(batch):
            self._read_stage.record(now - int(batch[0]["publish_ns"]))
            self.count("batches")
        self.count("records", journal.records - before[0])
        self.count("gaps", journal.gaps - before[1])
        self.count("skipped", journal.skipped - before[2])
        self.count("bytes", journal.bytes - before[3])
        if self._held[i] is not None:
            self._recovered(i)
        elif self._release_at_start:  # a predecessor held JOURNAL_DOWN; this one writes
            self._release_at_start = False
            if not any(self._down_since):
                release_trading(self.ctx.control)
        return True

    def _failed(self, i: int, batch, exc: OSError) -> None:
        """A write failed: keep the batch, stop reading this ring, alarm, halt (policy), retry later;
        counted last, so that whoever sees the count sees the halt too."""
        ring = self._rings[i]
        self._held[i] = batch
        self._retry_at[i] = time.monotonic_ns() + int(RETRY_S * 1e9)
        first = self._down_since[i] == 0
        if first:
            self._down_since[i] = time.monotonic_ns()
            self.set("down", sum(1 for d in self._down_since if d))
            log.error("JOURNAL DOWN: cannot write the %s journal in %s (%s: %s); %d records held, retrying every "
                      "%.0f s%s", ring.name, files.ring_dir(self.ctx.config.run_dir(), ring.name), _errno_name(exc), exc.strerror or exc,
                      len(batch), RETRY_S, "; trading HALTED (JOURNAL_DOWN)" if self._halts[i] else
                      "; trading goes on ([journal] halt_on_md_failure = false)")
        if self._halts[i] and (first or self.ctx.control.trading_state != HALTED):
            if not first:
                log.error("journal of %s still down: trading halted again (JOURNAL_DOWN)", ring.name)
            halt_trading(self.ctx.control)
        self.count("write_errors")

    def _recovered(self, i: int) -> None:
        took = time.monotonic_ns() - self._down_since[i]
        self._held[i] = None
        self._down_since[i] = 0
        self._down_ms_done += took // 1_000_000
        self.set("down", sum(1 for d in self._down_since if d))
        if not any(d for j, d in enumerate(self._down_since) if self._halts[j]):
            release_trading(self.ctx.control)
        log.warning("journal of %s writes again after %.1f s down%s (records the ring overwrote meanwhile are "
                    "counted in lost)", self._rings[i].name, took / 1e9,
                    "; trading stays halted until resumed by hand" if self._halts[i] else "")

    def _check_lag(self, i: int, reader) -> None:
        lag = reader.lag  # claimed and not yet read (pending() is 0 or 1 on the orders ring)
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
        for i, j in enumerate(self._journals):
            if j is None:
                continue
            try:
                j.flush()
            except OSError as exc:  # fsync failed: what the kernel held may never reach the disk
                self.count("write_errors")
                log.error("JOURNAL fsync failed for %s (%s: %s)%s", self._rings[i].name, _errno_name(exc), exc,
                          "; trading HALTED (JOURNAL_DOWN)" if self._halts[i] else "")
                if self._halts[i]:
                    halt_trading(self.ctx.control)
        self.set("files", sum(j.files for j in self._journals if j is not None))
        self.set("lost", sum(r.lost for r in self._readers))
        mono = time.monotonic_ns()
        self.set("down_ms", self._down_ms_done + sum((mono - d) // 1_000_000 for d in self._down_since if d))

    def on_stop(self) -> bool:
        """Drain: producers stopped first, so what is left is finite. A ring whose journal is
        down gets one more try; what it still cannot write is counted and logged, not waited for."""
        for i in range(len(self._readers)):
            self._retry_at[i] = 0  # the first pass retries at once; a failure puts it RETRY_S away
        while self.do_work():
            pass
        left = 0
        for i, reader in enumerate(self._readers):
            if self._held[i] is not None:
                n = len(self._held[i]) + max(0, reader.pending())
                left += n
                log.error("journal of %s down at stop: %d records not journaled", self._rings[i].name, n)
        if left:
            self.set("unjournaled", left)
            return True
        return all(r.pending() == 0 for r in self._readers)

    def on_close(self) -> None:
        self._flush(time.time_ns())
        for i, j in enumerate(self._journals):
            if j is None:
                continue
            try:
                j.close()
            except OSError as exc:
                self.count("write_errors")
                log.error("journal of %s: closing failed (%s)", self._rings[i].name, exc)
        for i, r in enumerate(self._readers):
            if self._held[i] is not None and len(self._held[i]) and not self._copy[i]:
                # the held batch is not journaled: leave the cursor before it, for a successor
                r.rst[K.R_NEXT] = int(self._held[i][0]["seq"])
            r.close()
        for ring in self._rings:
            ring.close()
