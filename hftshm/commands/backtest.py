"""``hftshm backtest``, ``hftshm journal import`` and ``hftshm bench backtest``: thin; the work is
in ``hftshm.backtest`` and ``hftshm.journal.capture_import``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1000 else f"{v:,.2f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def backtest(
    journal: Annotated[Path, typer.Argument(help="An md journal: a .hftj file or a ring's journal directory "
                                                 "(`hftshm journal import CAPTURE` makes one from a capture).")],
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML: [[strategies]], [risk], [backtest].")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (orders, fills, equity, summary).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the whole result here as JSON.")] = None,
    grid: Annotated[Optional[list[str]], typer.Option("--grid", help="Sweep: SECTION.KEY=v1,v2 (e.g. "
                                                     "strategies.mom.short=5,10); repeat for more axes.")] = None,
    sort: Annotated[str, typer.Option(help="Sweep: the metric to sort by (best first).")] = "net_pnl",
    processes: Annotated[int, typer.Option(help="Sweep: processes (0: one per core).")] = 0,
    compare_live: Annotated[Optional[Path], typer.Option("--compare-live", help="A live run directory: backtest "
                            "its md journal at its recorded latency and compare with its orders and fills "
                            "(JOURNAL is then ignored; without --config, the run's own strategies and risk).")] = None,
    engine: Annotated[str, typer.Option(help="auto: the compiled loop where it applies (the built-in grid, "
                                             "constant latency), else the Python engine; compiled; python.")] = "auto",
) -> None:
    """Run the configured strategies over recorded market data, at a modelled latency."""
    from ..backtest.errors import BacktestError
    from ..backtest.run import run

    if config is None and compare_live is None:
        typer.echo("error: --config is required: a TOML file with at least one [[strategies]] table", err=True)
        raise typer.Exit(2)
    if grid:
        _sweep(journal, config, grid, sort, processes, out, json_out)
        return
    if compare_live is not None:
        from ..backtest.compare import compare

        try:
            res = compare(compare_live, config, out)
        except BacktestError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        table = Table(title=f"backtest against the live run {compare_live}")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for k, v in res.items():
            table.add_row(k, _fmt(v) if not isinstance(v, dict) else json.dumps(v))
        Console().print(table)
        if json_out is not None:
            json_out.write_text(json.dumps(res, indent=2, default=str) + "\n")
        return
    try:
        result = run(journal, out, config, picture=True, engine=engine)
    except BacktestError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    console = Console()
    s = result["summary"]
    table = Table(title=f"backtest: {result['records']:,} md records, {', '.join(result['symbols'])}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in s.items():
        table.add_row(key, _fmt(value))
    table.add_row("engine", result["engine"])
    table.add_row("loop records/s (wall)", _fmt(result["timing"]["records_per_s"]))
    table.add_row("loop records/s (cpu)", _fmt(result["timing"]["records_per_cpu_s"]))
    console.print(table)
    if out is not None:
        console.print(f"run directory: {out} (journal/orders, journal/fills, equity.npy/.csv, summary.json)")
        console.print(f"picture: {result['picture']}", markup=False)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        console.print(f"wrote {json_out}")


def _sweep(journal, config, grid, sort, processes, out, json_out) -> None:
    from ..backtest.errors import BacktestError
    from ..backtest.sweep import sort_rows, sweep

    console = Console()
    try:
        rows = sort_rows(sweep(journal, config, grid, out, processes or None,
                               lambda d, n: console.print(f"  {d}/{n} done")), sort)
    except BacktestError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    metrics = ("net_pnl", "fees", "sharpe_1min", "max_drawdown", "trades", "fill_ratio", "maker_share")
    if sort not in metrics:
        metrics = (sort, *metrics)
    table = Table(title=f"sweep: {len(rows)} combinations, best {sort} first")
    params = list(rows[0]["params"]) if rows else []
    for col in (*(p.rsplit(".", 1)[-1] for p in params), *metrics):
        table.add_column(col, justify="right", overflow="fold")
    for r in rows:
        table.add_row(*(str(r["params"][p]) for p in params), *(_fmt(r["summary"].get(m)) for m in metrics))
    console.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps({"sort": sort, "rows": rows}, indent=2, default=str) + "\n")
        console.print(f"wrote {json_out}")


def journal_import(
    capture: Annotated[Path, typer.Argument(help="A capture: `<local_receive_ns> <raw frame>` lines, plain or .gz.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the md journal (new or empty).")],
    symbols: Annotated[str, typer.Option(help="The capture's symbols, comma-separated.")] = "btcusdt",
    venue: Annotated[str, typer.Option(help="auto, spot or usdm (USD-M futures frames).")] = "auto",
) -> None:
    """Convert a raw capture into an md journal through the live normalizer (once; reuse it)."""
    import time

    from ..journal.capture_import import import_capture

    t0 = time.perf_counter()
    try:
        info = import_capture(capture, out, [s.strip() for s in symbols.split(",") if s.strip()], venue)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    dt = time.perf_counter() - t0
    typer.echo(f"imported {info['lines']:,} lines -> {info['records']:,} md records ({info['venue']}) into "
               f"{out} in {dt:.2f} s; normalizer counters: {info['counters']}")


def bench_backtest(
    capture: Annotated[Path, typer.Argument(help="The capture to run over (e.g. ../shared/data/binance-usdm/"
                                                 "btcusdt_usdm_20240808.capture.gz).")],
    runs: Annotated[int, typer.Option(help="Warm runs (the median is reported).")] = 3,
    peer_python: Annotated[Optional[str], typer.Option(help="A Python with hftbacktest installed (its own "
                                                       "virtualenv): run it as the peer.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures here as JSON.")] = None,
) -> None:
    """Capture-to-result time and warm records/s of the built-in grid market maker."""
    from ..backtest import bench

    if runs < 1:
        raise typer.BadParameter("--runs must be >= 1")
    result = bench.run(capture, runs, peer_python)
    table = Table(title="backtest: grid market maker")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in result["figures"].items():
        table.add_row(k, _fmt(v))
    Console().print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")


def bench_parity(
    capture: Annotated[Path, typer.Argument(help="The capture the simulator replays (e.g. ../shared/data/binance/"
                                                 "btcusdt_spot_20240808.capture).")],
    seconds: Annotated[float, typer.Option(help="Length of the live run, seconds.")] = 60.0,
    speed: Annotated[float, typer.Option(help="Replay pace of the live run (finite).")] = 1.0,
    strategy: Annotated[str, typer.Option(help="Strategies, comma-separated: imbalance, grid.")] = "imbalance",
    keep: Annotated[Optional[Path], typer.Option(help="Keep the live run and its config in this directory.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures here as JSON.")] = None,
) -> None:
    """Live/backtest parity: a live run on the simulator replaying CAPTURE, then the backtest of
    that run at its recorded latency; fills reproduced, first divergence, PnL difference."""
    from ..backtest import parity

    if seconds <= 0 or not speed > 0 or speed == float("inf"):
        raise typer.BadParameter("--seconds and --speed must be positive and finite")
    if not capture.is_file():
        typer.echo(f"error: capture {capture} does not exist", err=True)
        raise typer.Exit(2)
    try:
        result = parity.run(capture, seconds, speed, [s.strip() for s in strategy.split(",") if s.strip()], keep)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    table = Table(title=f"parity: {seconds:g} s live on the replayed capture, then its backtest")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in result.items():
        table.add_row(k, _fmt(v) if not isinstance(v, dict) else json.dumps(v))
    Console().print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")


def register(app, bench_app) -> None:
    """``backtest``, ``bench backtest``, and ``journal import`` into the ``journal`` group that
    the runtime module registers (so this needs no edit of the journal commands' module)."""
    app.command("backtest")(backtest)
    bench_app.command("backtest")(bench_backtest)
    bench_app.command("parity")(bench_parity)
    for group in app.registered_groups:
        if group.name == "journal":
            group.typer_instance.command("import")(journal_import)
            return
    raise RuntimeError("hftshm.commands.backtest.register: no `journal` command group to add `import` to "
                       "(register the runtime commands first)")
