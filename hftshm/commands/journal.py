"""The ``hftshm journal`` group: ``journal inspect`` and ``journal import``; thin, the work is in
``hftshm.journal``."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).isoformat(timespec="microseconds")


def inspect(
    path: Annotated[Path, typer.Argument(help="A .hftj file or a ring's journal directory.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print a journal's header and a summary: counts by kind and symbol, time range, gaps.
    Checks every header and batch checksum; exits 2 if any file is damaged or cut short (each
    problem is printed with its file and byte offset; the summary covers the sound records)."""
    from ..journal.inspect import summarize

    try:
        info = summarize(path)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for problem in info["problems"]:
        typer.echo(f"error: {problem}", err=True)
    code = 2 if info["problems"] else 0
    if json_out:
        json.dump(info, sys.stdout, indent=2)
        sys.stdout.write("\n")
        raise typer.Exit(code)
    if "header" not in info:
        raise typer.Exit(code)
    console = Console()
    head = info["header"]
    console.print(f"[bold]{path}[/]: ring {head['ring']} of instance {head.get('instance')}, layout "
                  f"{head['layout']} ({head['record_size']} B, fingerprint {head['fingerprint']:#018x}), "
                  f"{len(info['files'])} file(s)"
                  + (f" (written as {head['upgraded_from']})" if head.get("upgraded_from") else ""))
    console.print(f"symbols: {', '.join(head.get('symbols', [])) or '-'}")
    console.print(f"records: {info['records']:,}")
    if info["records"]:
        console.print(f"seq {info['first_seq']:,} .. {info['last_seq']:,}; gaps {info['gaps']} "
                      f"({info['missing']:,} missing), out of order {info['out_of_order']}")
        console.print(f"time {_time(info['first_publish_ns'])} .. {_time(info['last_publish_ns'])} "
                      f"({info['span_s']} s)")
        for title, key in (("kind", "by_kind"), ("symbol", "by_symbol")):
            if key in info:
                t = Table(title=f"by {title}")
                t.add_column(title)
                t.add_column("records", justify="right")
                for k, v in info[key].items():
                    t.add_row(str(k), f"{v:,}")
                console.print(t)
    if info["problems"]:
        console.print(f"[bold red]{len(info['problems'])} problem(s)[/]: the journal is damaged (each on stderr with its file and byte offset)")
    raise typer.Exit(code)


def journal_import(
    capture: Annotated[Path, typer.Argument(help="A capture: `<local_receive_ns> <raw frame>` lines, plain or .gz.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the md journal (new or empty).")],
    symbols: Annotated[str, typer.Option(
        help="The symbols to import, comma-separated (default: every symbol the capture has).")] = "",
    venue: Annotated[str, typer.Option(help="auto, spot or usdm (USD-M futures frames).")] = "auto",
) -> None:
    """Convert a raw capture into an md journal through the live normalizer (once; reuse it)."""
    import time

    from ..journal.capture_import import import_capture

    t0 = time.perf_counter()
    try:
        info = import_capture(capture, out, [s.strip() for s in symbols.split(",") if s.strip()] or None, venue)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    dt = time.perf_counter() - t0
    typer.echo(f"imported {info['lines']:,} lines -> {info['records']:,} md records ({info['venue']}) into "
               f"{out} in {dt:.2f} s; normalizer counters: {info['counters']}")


def register(app) -> None:
    group = typer.Typer(no_args_is_help=True, help="Journal files: inspect what a run recorded.")
    group.command("inspect")(inspect)
    group.command("import")(journal_import)
    app.add_typer(group, name="journal")
