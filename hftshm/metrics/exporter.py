"""The Prometheus exporter of a running instance: a custom ``prometheus_client`` collector that,
on each scrape, reads the instance's shared-memory counters (the dashboard's ``ui.collector``)
and latency histograms (``LatencyBook.cumulative``), and an HTTP server that serves them.

Nothing on the hot path changes: a scrape loads words from the control block, the ring headers
and the latency book, as ``hftshm status`` does; it takes no reader slot and writes nothing.
Served by the supervisor (``[metrics] port``) or by ``hftshm metrics --port N`` for any running
instance. The address defaults to 127.0.0.1: the figures hold positions and PnL.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import start_http_server

from ..errors import HftshmError
from . import families as fam
from . import histograms

DEFAULT_ADDR = "127.0.0.1"


class InstanceCollector:
    """A ``prometheus_client`` collector of one instance (one scrape at a time)."""

    def __init__(self, instance: str, latency_window_s: float = 5.0):
        from ..ui.collector import Collector

        self.instance = instance
        self._collector = Collector(instance, latency_window_s)
        self._book = None
        self._lock = threading.Lock()

    def collect(self):
        with self._lock:
            snap = self._collector.collect()
            latency = self._latency()
        return fam.families(snap, latency)

    def _latency(self) -> dict:
        from ..latency import LatencyBook

        # the ui collector notices a replaced book by its inode; a scrape simply attaches anew
        # when the old mapping fails, and reports no histograms while there is none
        try:
            if self._book is None:
                self._book = LatencyBook.attach(self.instance)
            book = self._book
            out = {}
            for stage in book.stages:
                hist, count, sum_ns = book.cumulative(stage)
                out[stage] = (histograms.fold(hist, count), count, sum_ns)
            return out
        except (HftshmError, OSError, ValueError):
            self.close_book()
            return {}

    def close_book(self) -> None:
        if self._book is not None:
            self._book.close()
            self._book = None

    def close(self) -> None:
        with self._lock:
            self._collector.close()
            self.close_book()


class Exporter:
    """``Exporter(instance, port).start()`` serves ``/metrics`` from a thread; ``stop()`` ends it.
    ``port`` 0 picks a free one (``.port`` says which)."""

    def __init__(self, instance: str, port: int, addr: str = DEFAULT_ADDR, latency_window_s: float = 5.0):
        self.instance = instance
        self.addr = addr
        self.port = port
        self.registry = CollectorRegistry(auto_describe=False)
        self.collector = InstanceCollector(instance, latency_window_s)
        self.registry.register(self.collector)
        self._server = None
        self._thread = None

    def start(self) -> "Exporter":
        # one collection now: a first run compiles the readers' kernels here, at start, rather
        # than in the first scrape (which would time out, holding the GIL a while)
        self.collector.collect()
        try:
            self._server, self._thread = start_http_server(self.port, addr=self.addr, registry=self.registry)
        except OSError as exc:
            self.collector.close()
            raise HftshmError(f"[metrics] cannot serve on {self.addr}:{self.port}: {exc.strerror or exc}") from None
        self.port = self._server.server_port
        return self

    @property
    def url(self) -> str:
        return f"http://{self.addr}:{self.port}/metrics"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None
        self.collector.close()
