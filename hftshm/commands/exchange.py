"""``hftshm exchange``: run the local Binance-compatible exchange simulator in the foreground.

Thin: it reads options, builds a ``ExchangeConfig`` (which checks every value) and calls
``hftshm.exchange.run`` until Ctrl-C or SIGTERM. The API secret comes from a 0600 file
(``--api-secret-file``) or ``HFTSHM_API_SECRET``, never from the command line, and is never
printed.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Annotated, Optional

import typer

SECRET_ENV = "HFTSHM_API_SECRET"


def _secret(path: Optional[Path]) -> Optional[str]:
    if path is not None:
        try:
            st = path.stat()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint="--api-secret-file")
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise typer.BadParameter(f"{path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                                     f"chmod 600 it", param_hint="--api-secret-file")
        secret = path.read_text().strip()
        if not secret:
            raise typer.BadParameter(f"{path} is empty", param_hint="--api-secret-file")
        return secret
    return os.environ.get(SECRET_ENV) or None


def _speed(text: str) -> float:
    if text.lower() == "max":
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a number or 'max'", param_hint="--speed") from None
    if not (value > 0 and math.isfinite(value)):
        raise typer.BadParameter(f"must be > 0 (or 'max'), got {text!r}", param_hint="--speed")
    return value


def _opt(text: str):
    return typer.Option(help=text)


def _ticks(text: str) -> tuple[tuple[str, str], ...]:
    """``"btcusdt=0.1,ethusdt=0.05"`` -> (("btcusdt", "0.1"), ("ethusdt", "0.05"))."""
    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        symbol, eq, tick = item.partition("=")
        if not eq or not symbol or not tick:
            raise typer.BadParameter(f"--ticks: {item!r} is not SYMBOL=TICK (e.g. btcusdt=0.1)")
        out.append((symbol.strip().lower(), tick.strip()))
    return tuple(out)


def exchange(
    host: Annotated[str, _opt("Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, _opt("Port; 0 picks a free one (printed, and written to --port-file).")] = 9443,
    port_file: Annotated[Optional[Path], _opt("Write the bound port to this file.")] = None,
    symbols: Annotated[str, _opt("Comma-separated symbols, e.g. btcusdt,ethusdt.")] = "btcusdt,ethusdt",
    rate: Annotated[float, _opt("trade+aggTrade+bookTicker messages/s, all symbols (1..2000000).")] = 1000.0,
    count: Annotated[Optional[int], _opt("Stop market streams after this many delivered messages.")] = None,
    levels: Annotated[int, _opt("Book levels per side.")] = 20,
    seed: Annotated[int, _opt("Seed of the synthetic market.")] = 1,
    replay: Annotated[Optional[Path], _opt("Play this capture instead of the synthetic market.")] = None,
    speed: Annotated[str, _opt("Replay pace: 1 as recorded, 10 ten times faster, max at once.")] = "1",
    replay_orders: Annotated[bool, _opt("Replay: accept orders, matched against the recorded book.")] = False,
    ping_interval: Annotated[float, _opt("Seconds between server pings.")] = 20.0,
    api_key: Annotated[str, _opt("The API key clients sign with.")] = "hftshm-demo-key",
    api_secret_file: Annotated[Optional[Path], _opt(
        f"File (mode 0600) with the API secret; else ${SECRET_ENV}, else the demo secret.")] = None,
    maker_fee: Annotated[str, _opt("Maker commission rate.")] = "0.001",
    taker_fee: Annotated[str, _opt("Taker commission rate.")] = "0.001",
    drop_every: Annotated[float, _opt("Fault: abort each connection this many seconds after it opened.")] = 0.0,
    stall_every: Annotated[float, _opt("Fault: every this many seconds...")] = 0.0,
    stall_for: Annotated[float, _opt("...hold a connection's frames this many seconds.")] = 0.0,
    malformed_every: Annotated[int, _opt("Fault: a bad frame before every Nth market message.")] = 0,
    gap_every: Annotated[int, _opt("Fault: drop every Nth trade and depth update (id gaps).")] = 0,
    burst_every: Annotated[float, _opt("Fault: every this many seconds...")] = 0.0,
    burst_size: Annotated[int, _opt("...send this many extra messages at once.")] = 0,
    orders_per_10s: Annotated[int, _opt("Order-rate limit per 10 s (Binance: 50); raise it for benchmarks.")] = 50,
    venue: Annotated[str, _opt("binance_usdm: USD-M streams (/public, /market), orders (/ws-fapi/v1).")] =
    "binance_spot",
    funding_interval: Annotated[float, _opt("USD-M: seconds between funding times (Binance: 28800).")] = 28800.0,
    funding_rate: Annotated[str, _opt("USD-M: funding rate at each funding time.")] = "0.0001",
    ticks: Annotated[str, _opt("Tick sizes replacing the simulator's own, e.g. btcusdt=0.1,ethusdt=0.05.")] = "",
    liquidations_per_s: Annotated[float, _opt("USD-M: forceOrder liquidations a second per symbol (0..1000).")] = 0.2,
) -> None:
    """Run the local Binance-compatible exchange simulator until Ctrl-C."""
    from hftshm.exchange import Faults, ExchangeConfig, run
    from hftshm.exchange.config import SimLimits
    from hftshm.exchange.config import DEFAULT_API_SECRET

    secret = _secret(api_secret_file) or DEFAULT_API_SECRET
    names = tuple(s.strip() for s in symbols.split(",") if s.strip())
    try:
        cfg = ExchangeConfig(
            host=host, port=port, port_file=port_file, symbols=names, rate=rate, count=count,
            levels=levels, seed=seed, replay=replay, speed=_speed(speed), replay_orders=replay_orders,
            ping_interval=ping_interval,
            api_key=api_key, api_secret=secret, maker_fee=maker_fee, taker_fee=taker_fee,
            faults=Faults(drop_every_s=drop_every, stall_every_s=stall_every, stall_for_s=stall_for,
                          malformed_every=malformed_every, gap_every=gap_every,
                          burst_every_s=burst_every, burst_size=burst_size),
            limits=SimLimits(orders_per_10s=orders_per_10s, orders_per_day=max(160_000, orders_per_10s * 8640)),
            venue=venue, funding_interval_s=funding_interval, funding_rate=funding_rate,
            ticks=_ticks(ticks), liquidations_per_s=liquidations_per_s,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    raise typer.Exit(run(cfg))


def register(app) -> None:
    app.command()(exchange)
