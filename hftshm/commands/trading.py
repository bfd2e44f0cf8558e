"""The trading commands (registered by cli.py): ``hftshm halt``, ``hftshm resume``,
``hftshm reduce-only`` (each through ``risk.killswitch``) and ``hftshm bench trading``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import instances

INSTANCE = typer.Option("--instance", help="Instance name (default: the only live one).")


def _attach(instance: Optional[str]):
    from ..runtime.control import ControlBlock

    if instance is None:
        live = sorted(n for n, i in instances.scan().items() if i.alive)
        if len(live) != 1:
            raise typer.BadParameter(f"{len(live)} live instances ({', '.join(live) or 'none'}): name one",
                                     param_hint="--instance")
        instance = live[0]
    try:
        return ControlBlock.attach(instance)
    except Exception as exc:
        raise typer.BadParameter(f"instance {instance!r}: {exc}", param_hint="--instance") from None


def halt(instance: Annotated[Optional[str], INSTANCE] = None,
         cancel_open: Annotated[bool, typer.Option("--cancel-open", help="Also cancel every open order.")] = False) -> None:
    """Kill switch: stop every new order now (execution checks before each send).

    The time printed is read after the halt is visible: no order goes out later than 1 ms after it."""
    from ..risk import killswitch

    control = _attach(instance)
    try:
        from ..risk import reasons as R

        change = killswitch.command(control, killswitch.HALT, cancel_open=cancel_open)
        if change.reason != R.MANUAL:  # it was halted already: the first cause stays
            typer.echo(f"{control.instance}: trading already halted ({R.name(change.reason)}) since "
                       f"{control.trading_changed_ns}" + (" (cancelling open orders)" if cancel_open else ""))
        else:
            typer.echo(f"{control.instance}: trading halted at {change.visible_ns}"
                       + (" (cancelling open orders)" if cancel_open else ""))
    finally:
        control.close()


def _manual(instance: Optional[str], command: str, done: str) -> None:
    from ..risk import killswitch
    from ..risk import reasons as R

    control = _attach(instance)
    try:
        change = killswitch.command(control, command)
        if not change.written:
            typer.echo(f"{control.instance}: refused: {R.name(change.reason)} holds ({R.message(change.reason)}); "
                       f"trading stays {R.state_name(change.state)}", err=True)
            raise typer.Exit(1)
        typer.echo(f"{control.instance}: trading {done} at {change.visible_ns}")
    finally:
        control.close()


def resume(instance: Annotated[Optional[str], INSTANCE] = None) -> None:
    """Trade again after a halt; refused while an automatic cause holds (loss, stale feed, lag,
    risk or journal worker down)."""
    _manual(instance, "resume", "active")


def reduce_only(instance: Annotated[Optional[str], INSTANCE] = None) -> None:
    """Only orders that reduce a position pass (to flatten after a halt); refused while an
    automatic cause holds."""
    _manual(instance, "reduce_only", "reduce-only")


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
        help="Also run with these [workers.NAME] overrides, e.g. 'journal.wait=backoff,risk.wait=backoff' "
             "('strategies.KEY' sets every strategy); repeatable; runs back to back, then a side-by-side table.")] = None,
    repeat: Annotated[int, typer.Option(help="Run the base and the variants this many times, interleaved.")] = 1,
) -> None:
    """Tick-to-trade through the whole pipeline against the simulator, with the scheduler's view of
    every process (measures, asserts nothing)."""
    from ..trading.bench import parse_overrides, run

    if replay is not None and not replay.is_file():
        raise typer.BadParameter(f"replay capture {str(replay)!r} is not a readable file")
    if not (speed > 0):
        raise typer.BadParameter("--speed must be > 0")
    for v in variant or ():
        try:
            parse_overrides(v)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    for line in run(seconds=seconds, rate=rate, wait=wait, cooldown_ms=cooldown_ms, warmup_s=warmup,
                    replay=str(replay) if replay else None, speed=speed, journal=journal, variants=tuple(variant or ()),
                    repeat=repeat):
        typer.echo(line)


def bench_risk(
    orders: Annotated[int, typer.Option(help="Orders per numba run.")] = 100_000,
    calls: Annotated[int, typer.Option(help="Orders checked one call at a time from Python.")] = 100_000,
) -> None:
    """What one pre-trade check costs (ns/order): in numba, and per call from Python."""
    from ..risk.measure import measure

    if orders < 100 or calls < 100:
        raise typer.BadParameter("--orders and --calls must be >= 100")
    for name, value in measure(n_orders=orders, python_calls=calls).items():
        typer.echo(f"{name:28s} {value}")


def register(app, bench_app) -> None:
    """Add this module's commands to the typer apps."""
    app.command()(halt)
    app.command()(resume)
    app.command("reduce-only")(reduce_only)
    bench_app.command("trading")(bench_trading)
    bench_app.command("risk")(bench_risk)
