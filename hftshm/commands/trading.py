"""The trading commands (registered by cli.py): ``hftshm halt``, ``hftshm resume`` and
``hftshm bench trading``."""

from __future__ import annotations

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
    """Kill switch: stop every new order now (execution checks before each send)."""
    from ..risk import reasons as R
    from ..runtime.control import HALTED

    control = _attach(instance)
    ns = control.set_trading(HALTED, R.MANUAL, cancel_open=cancel_open)
    typer.echo(f"{control.instance}: trading halted at {ns}" + (" (cancelling open orders)" if cancel_open else ""))
    control.close()


def resume(instance: Annotated[Optional[str], INSTANCE] = None) -> None:
    """Trade again after a halt; refused while an automatic trigger (loss, stale feed, lag) holds."""
    from ..risk import reasons as R
    from ..runtime.control import ACTIVE
    from ..trading.area import TradingArea

    control = _attach(instance)
    try:
        try:
            trigger = TradingArea(control.risk_buffer()).trigger
        except Exception:
            trigger = R.OK
        if trigger != R.OK:
            typer.echo(f"{control.instance}: not resumed: {R.name(trigger)} holds ({R.message(trigger)})", err=True)
            raise typer.Exit(1)
        control.set_trading(ACTIVE, R.MANUAL)
        typer.echo(f"{control.instance}: trading active")
    finally:
        control.close()


def bench_trading(
    seconds: Annotated[float, typer.Option(help="Measured run length.")] = 20.0,
    rate: Annotated[float, typer.Option(help="Simulated market messages per second.")] = 10_000.0,
    wait: Annotated[str, typer.Option(help="Wait strategy of every worker (backoff, blocking, busy-spin).")] = "backoff",
    cooldown_ms: Annotated[int, typer.Option(help="Strategy cooldown between orders per symbol.")] = 20,
) -> None:
    """Tick-to-trade through the whole pipeline against the simulator (measures, asserts nothing)."""
    from ..trading.bench import run

    for line in run(seconds=seconds, rate=rate, wait=wait, cooldown_ms=cooldown_ms):
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
    bench_app.command("trading")(bench_trading)
    bench_app.command("risk")(bench_risk)
