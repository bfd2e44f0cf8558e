"""``hftshm backtest``: thin; the work is in ``hftshm.backtest``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .common import fmt_figure


def backtest(
    journals: Annotated[list[str], typer.Argument(
        metavar="JOURNAL", help="An md journal (a .hftj file or a ring's journal directory), or a raw "
        "Binance capture (`<recv_ns> <frame>` lines, .gz too), converted for this run (`hftshm journal "
        "import CAPTURE` converts it once for many runs). For a config of several venues, one per venue "
        "it trades: VENUE=PATH (usdm=DATA/arb-usdm/journal/md bybit=...).")],
    # (escaped: rich would read [risk] as markup and print nothing)
    config: Annotated[Optional[Path], typer.Option("--config", help=r"TOML: [\[strategies]], \[risk], \[backtest].")] = None,
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
    from ..backtest.venues import parse_journals

    if config is None and compare_live is None:
        typer.echo("error: --config is required: a TOML file with at least one [[strategies]] table", err=True)
        raise typer.Exit(2)
    try:
        journal = parse_journals(journals)
        if isinstance(journal, dict) and (grid or compare_live is not None):
            raise BacktestError(f"{'--grid' if grid else '--compare-live'} takes one venue's journal (PATH)")
    except BacktestError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if isinstance(journal, str):
        journal = Path(journal)
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
            table.add_row(k, fmt_figure(v) if not isinstance(v, dict) else json.dumps(v))
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
    for info in result.get("imported", ()):
        console.print(f"converted {info['capture']}: {info['lines']:,} lines -> {info['records']:,} md records "
                      f"({info['venue']}) in {info['seconds']:.2f} s; `hftshm journal import` converts it once "
                      "for many runs", markup=False)
    s = result["summary"]
    table = Table(title=f"backtest: {result['records']:,} md records, {', '.join(result['symbols'])}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in s.items():
        table.add_row(key, fmt_figure(value))
    for name, v in result.get("venues", {}).items():
        table.add_row(f"{name}: net_pnl / fees / trades",
                      f"{fmt_figure(v['net_pnl'])} / {fmt_figure(v['fees'])} / {v['trades']}")
        if v["venue_time_raised"]:
            table.add_row(f"{name}: records applied late (max us)",
                          f"{v['venue_time_raised']:,} ({fmt_figure(v['venue_time_raised_max_us'])})")
    table.add_row("engine", result["engine"])
    table.add_row("loop records/s (wall)", fmt_figure(result["timing"]["records_per_s"]))
    table.add_row("loop records/s (cpu)", fmt_figure(result["timing"]["records_per_cpu_s"]))
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
        table.add_row(*(str(r["params"][p]) for p in params), *(fmt_figure(r["summary"].get(m)) for m in metrics))
    console.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps({"sort": sort, "rows": rows}, indent=2, default=str) + "\n")
        console.print(f"wrote {json_out}")


def register(app) -> None:
    app.command("backtest")(backtest)
