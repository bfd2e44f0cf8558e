"""``hftshm bench trading``: tick-to-trade through the whole pipeline (the work is in
``hftshm.bench.tick_to_trade``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer


def bench_trading(
    seconds: Annotated[float, typer.Option(help="Measured run length.")] = 20.0,
    rate: Annotated[float, typer.Option(help="Simulated market messages per second (synthetic market).")] = 10_000.0,
    replay: Annotated[Optional[Path], typer.Option(help="Replay this capture instead of the synthetic market.")] = None,
    speed: Annotated[float, typer.Option(help="With --replay: 1 plays at the recorded pace, 10 ten times faster.")] = 1.0,
    wait: Annotated[Optional[str], typer.Option(
        help="Wait strategy of every worker (default: each worker's own default).")] = None,
    cooldown_ms: Annotated[int, typer.Option(help="Strategy cooldown between orders per symbol.")] = 20,
    warmup: Annotated[float, typer.Option(help="Seconds run before the measured window.")] = 5.0,
    journal: Annotated[bool, typer.Option(help="Run the journal worker too, as hftshm start does.")] = True,
    variant: Annotated[Optional[list[str]], typer.Option(
        help=r"Also run with these \[workers.NAME] overrides, e.g. 'journal.wait=backoff,risk.wait=backoff' "
             "('strategies.KEY' sets every strategy, 'feed.host=execution' runs the feed in execution); repeatable; runs back to back, then a side-by-side table.")] = None,
    repeat: Annotated[int, typer.Option(help="Run the base and the variants this many times, interleaved.")] = 1,
    sim_cpu: Annotated[Optional[int], typer.Option(
        help="Run the simulator on this core alone, as a venue on another machine would be: "
             "pin the hot path to the other cores with --variant WORKER.cpu=N.")] = None,
) -> None:
    """Tick-to-trade through the whole pipeline against the simulator, with the scheduler's view of
    every process (measures, asserts nothing)."""
    from ...bench.replayed_markets import capture_markets
    from ...bench.tick_to_trade import check, parse_overrides, run
    from ...errors import ConfigError

    if replay is not None and not replay.is_file():
        raise typer.BadParameter(f"replay capture {str(replay)!r} is not a readable file")
    if not (speed > 0):
        raise typer.BadParameter("--speed must be > 0")
    if sim_cpu is not None and sim_cpu not in os.sched_getaffinity(0):
        raise typer.BadParameter(f"--sim-cpu {sim_cpu}: not a core this process may run on "
                                 f"({', '.join(map(str, sorted(os.sched_getaffinity(0))))})")
    for v in variant or ():
        try:
            parse_overrides(v)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    markets = None
    if replay is not None:  # read once, for the checks and every run
        try:
            markets = capture_markets(replay)
        except ValueError as exc:  # a capture no order can be sent on
            raise typer.BadParameter(f"--replay: {exc}") from None
    for option, specs in (("--wait", ("",)), ("--variant", tuple(variant or ()))):  # "": the base run
        try:
            check(specs, wait=wait, journal=journal, replay=str(replay) if replay else None, markets=markets)
        except ConfigError as exc:
            raise typer.BadParameter(f"{option}: {exc}") from None
    for line in run(seconds=seconds, rate=rate, wait=wait, cooldown_ms=cooldown_ms, warmup_s=warmup,
                    replay=str(replay) if replay else None, speed=speed, journal=journal, variants=tuple(variant or ()),
                    repeat=repeat, sim_cpu=sim_cpu, markets=markets):
        typer.echo(line)


def register(group) -> None:
    group.command("trading")(bench_trading)
