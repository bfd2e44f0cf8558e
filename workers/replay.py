"""The replay worker: stands in for ingest and publishes a recorded md journal (``venue.kind =
"replay"``), so the strategies downstream run on recorded data exactly as they do live."""

from __future__ import annotations

import logging

from hftshm.journal import files
from hftshm.journal.republish import Replay
from hftshm.runtime import rings
from hftshm.runtime.agent import Agent
from hftshm.runtime.config import parse_speed

log = logging.getLogger("hftshm.replay")


class ReplayAgent(Agent):
    role = "replay"
    counter_names = ("records", "total", "finished")

    def on_start(self) -> None:
        venue = self.ctx.config.venue
        # every header and batch checksum is checked first: a damaged journal stops the replay
        # before it publishes anything (the error names the file and byte offset)
        meta, records = files.load_ring(venue.replay)
        if meta["ring"] != "md":
            raise ValueError(f"{venue.replay}: a journal of ring {meta['ring']!r}; replay needs the md journal")
        self.ring = rings.attach(self.ctx.instance, "md")
        if meta["symbols"] != self.ring.symbols:
            raise ValueError(f"{venue.replay}: recorded with symbols {meta['symbols']}, the ring has {self.ring.symbols}")
        self.publisher = self.ring.publisher()
        # a restarted replay goes on after what its predecessor published (it is md's only producer)
        self.replay = Replay(records, parse_speed(venue.speed))
        self.replay.done = min(len(records), self.ring.published())
        self.set("total", len(records))
        log.info("replaying %d md records from %s at speed %s", len(records), venue.replay, venue.speed)

    def do_work(self) -> int:
        n = self.replay.publish_due(self.publisher)
        if n:
            self.count("records", n)
        elif self.replay.finished and not self.counters[self.counter["finished"]]:
            self.set("finished", 1)
            log.info("replay finished: %d records", self.replay.done)
        return n

    def on_close(self) -> None:
        self.publisher.close()
        self.ring.close()
