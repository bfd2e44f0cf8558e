"""Where the live side gets its instrument rules: the venue's ``exchangeInfo``, over REST.

* **At start** (``fetch_at_start``, called by the supervisor and the test harness before any
  trading worker starts): GET ``<rest_url><path>`` (``/api/v3/exchangeInfo`` for Binance Spot,
  ``/fapi/v1/exchangeInfo`` for USD-M, ``/v5/market/instruments-info`` for Bybit linear), parse it with the venue's parser
  (``hftshm.venues.<venue>.exchange_info``), keep the configured symbols, and write them to
  ``<data_dir>/<instance>/instruments.json`` (owner-only, replaced atomically). A failure stops
  the start: no trading without rules, and the error names the URL, the symbol and the filter.
* **Refreshed** by execution every ``[venue] instruments_refresh_s`` (``Refresher``): new rules
  go into its pre-trade gate at once and into the file (a restarted strategy reads them); a
  failed refresh keeps the last rules, is counted (``rules_failed``) and logged.
* **Read** by the strategies at their start (``load``): their prices and quantities are rounded
  on the tick and step found there. Execution that finds no usable file halts trading with
  ``NO_INSTRUMENT_RULES``.

``rest_url``: ``[venue] rest_url`` when set; for a live venue kind its REST host; otherwise (the
simulator, a replay that trades against a running ``hftshm exchange``) the host of
``[venue] api_url`` over http(s), which is where the simulator serves exchangeInfo.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from .. import private
from ..venues import instruments as I
from ..venues.binance_spot import exchange_info as spot_info
from ..venues.binance_usdm import exchange_info as usdm_info
from ..venues.bybit import exchange_info as bybit_info

log = logging.getLogger("hftshm.instruments")

FETCH_TIMEOUT_S = 10.0
MAX_BODY = 64 << 20  # Binance Spot's full answer is ~10 MB; a larger one is refused

# venue kind -> (REST path, live REST host, parser)
SOURCES = {
    "binance_spot": (spot_info.PATH, "https://api.binance.com", spot_info.parse),
    "binance_usdm": (usdm_info.PATH, "https://fapi.binance.com", usdm_info.parse),
    "bybit_linear": (bybit_info.PATH, "https://api.bybit.com", bybit_info.parse),  # v5 instruments-info
}
LIVE_KINDS = {"binance": "binance_spot", "binance_spot": "binance_spot", "binance_usdm": "binance_usdm",
              "bybit_linear": "bybit_linear"}


def venue_kind(cfg) -> str:
    """The venue whose rules apply: ``[venue] kind`` for a live venue, ``[sim] venue`` with the
    simulator, Spot for a replay or a bridge (their orders go to a Spot WebSocket API)."""
    kind = cfg.venue.kind
    if kind in LIVE_KINDS:
        return LIVE_KINDS[kind]
    if kind == "sim":
        return LIVE_KINDS.get(getattr(cfg.sim, "venue", "binance_spot"), "binance_spot")
    return "binance_spot"


def rest_url(cfg) -> str:
    """The REST host exchangeInfo is asked of (see the module doc); I.InstrumentError when there
    is none to derive."""
    url = getattr(cfg.venue, "rest_url", "")
    if url:
        return url.rstrip("/")
    if cfg.venue.kind in LIVE_KINDS:
        return SOURCES[venue_kind(cfg)][1]
    api = urlsplit(cfg.venue.api_url or "")
    if api.scheme not in ("ws", "wss") or not api.netloc:
        raise I.InstrumentError(f"[venue] kind {cfg.venue.kind!r}: no REST host for exchangeInfo: set "
                                "[venue] rest_url (or api_url)")
    return f"{'https' if api.scheme == 'wss' else 'http'}://{api.netloc}"


def url_of(cfg) -> str:
    return rest_url(cfg) + SOURCES[venue_kind(cfg)][0]


def fetch(cfg, timeout: float = FETCH_TIMEOUT_S) -> list[I.InstrumentRules]:
    """The rules of ``cfg.venue.symbols``, in symbol-id order, fresh from the venue.
    I.InstrumentError (naming the URL, and the symbol and filter at fault) on any failure."""
    url = url_of(cfg)
    parse = SOURCES[venue_kind(cfg)][2]
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}),
                                    timeout=timeout) as resp:
            body = resp.read(MAX_BODY + 1)
    except urllib.error.HTTPError as exc:
        raise I.InstrumentError(f"GET {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise I.InstrumentError(f"GET {url}: {getattr(exc, 'reason', None) or exc}") from None
    if len(body) > MAX_BODY:
        raise I.InstrumentError(f"GET {url}: answer larger than {MAX_BODY} bytes")
    try:
        return I.select(parse(body, cfg.venue.symbols), cfg.venue.symbols)
    except I.InstrumentError as exc:
        raise I.InstrumentError(f"GET {url}: {exc}") from None


def path_for(cfg) -> Path:
    return Path(cfg.run_dir()) / I.FILE_NAME


def write(cfg, rules: list[I.InstrumentRules], source: str) -> None:
    """Replace the run's rules file atomically (a reader sees the old file or the new one)."""
    path = path_for(cfg)
    private.make_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    private.write_text(tmp, I.dumps(rules, source, time.time_ns()))
    os.replace(tmp, path)


def load(cfg) -> list[I.InstrumentRules]:
    """The rules of ``cfg.venue.symbols`` from the run's file, in symbol-id order;
    I.InstrumentError naming the file, or the symbol it lacks."""
    path = path_for(cfg)
    try:
        text = path.read_text()
    except OSError as exc:
        raise I.InstrumentError(f"{path}: cannot read the instrument rules ({exc.strerror or exc}); "
                                "they are fetched at start (hftshm start)") from None
    table, _ = I.loads(text, str(path))
    return I.select(table, cfg.venue.symbols)


def by_symbol(rules: list[I.InstrumentRules]) -> dict[str, I.InstrumentRules]:
    return {r.symbol: r for r in rules}


def needed(cfg) -> bool:
    """Whether this instance trades (runs execution or a strategy), and so needs rules."""
    from ..runtime import plan

    return any(w.role in ("execution", "strategy") for w in plan.workers(cfg))


def fetch_at_start(cfg) -> list[I.InstrumentRules] | None:
    """Fetch and write the rules before any trading worker starts (None when nothing trades);
    raises I.InstrumentError: the start fails rather than trade without them."""
    if not needed(cfg):
        return None
    rules = fetch(cfg)
    write(cfg, rules, url_of(cfg))
    return rules


class Refresher:
    """Execution's periodic refetch, without the I/O: the worker awaits ``interval_s``, fetches
    (``fetch``, in a thread) and reports here. ``succeeded(rules)`` puts them into the gate
    (``apply``, on the gate's own thread) and the file; ``failed(exc)`` keeps the last rules.
    ``ok``/``failed_count`` count the outcomes, ``last_error`` says the latest failure."""

    def __init__(self, cfg, apply, interval_s: float):
        self.cfg = cfg
        self.apply = apply
        self.interval_s = float(interval_s)
        self.ok = 0
        self.failed_count = 0
        self.last_error = ""

    def succeeded(self, rules: list[I.InstrumentRules]) -> None:
        self.apply(rules)
        self.ok += 1
        try:
            write(self.cfg, rules, url_of(self.cfg))
        except OSError as exc:  # the gate has them; a restarted strategy reads the older file
            log.warning("instrument rules: could not rewrite %s: %s", path_for(self.cfg), exc)

    def failed(self, exc: Exception) -> None:
        self.failed_count += 1
        self.last_error = str(exc)
        log.warning("instrument rules refresh failed (%d so far), keeping the last rules: %s",
                    self.failed_count, exc)


async def refresh_loop(ref: Refresher, stop: asyncio.Event, count) -> None:
    """Execution's task: every ``ref.interval_s`` fetch in a thread (the socket wait must not
    hold the event loop), then apply on the loop's thread, the gate's; ``count(name)`` counts
    ``rules_ok`` / ``rules_failed``. Ends when ``stop`` is set."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), ref.interval_s)
            return
        except asyncio.TimeoutError:
            pass
        try:
            rules = await asyncio.to_thread(fetch, ref.cfg)
        except I.InstrumentError as exc:
            ref.failed(exc)
            count("rules_failed")
            continue
        ref.succeeded(rules)
        count("rules_ok")
