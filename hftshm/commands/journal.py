"""``hftshm replay`` and ``hftshm journal inspect``: thin; the work is in ``hftshm.journal``."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table


def replay(
    journal: Annotated[Path, typer.Argument(help="An md journal: a .hftj file or a ring's journal directory.")],
    speed: Annotated[str, typer.Option(help="1 as recorded, 10 ten times faster, max as fast as possible.")] = "1",
    into: Annotated[Optional[str], typer.Option(help="Publish into this running instance's ring and exit.")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML config for the pipeline.")] = None,
    duration: Annotated[Optional[float], typer.Option(help="Stop after this many seconds.")] = None,
    headless: Annotated[bool, typer.Option("--headless", help="No dashboard.")] = False,
    summary: Annotated[Optional[Path], typer.Option(help="Write a JSON summary here at the end.")] = None,
) -> None:
    """Publish a journal back into a ring: the whole pipeline on recorded data, or --into a live
    instance's ring (one without a live producer)."""
    from ..journal import files
    from ..runtime import config as config_mod

    try:
        factor = config_mod.parse_speed(speed, "--speed")
        if into:
            meta, records = files.load_ring(journal)
        else:  # check it all now (streaming); the replay worker loads it
            report = files.verify(journal)
            if not report.files:
                raise FileNotFoundError(f"no journal files in {journal}")
            for problem in report.problems[:-1]:
                typer.echo(f"error: {problem}", err=True)
            if report.problems:
                raise report.problems[-1]
            meta = report.meta
    except (config_mod.ConfigError, OSError, ValueError) as exc:  # JournalError names file and offset
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if into:
        from ..journal.replay import run
        from ..runtime import rings

        try:
            ring = rings.attach(into, meta["ring"])
            pub = ring.publisher()
        except Exception as exc:
            typer.echo(f"error: cannot publish into {into}/{meta['ring']}: {exc}", err=True)
            raise typer.Exit(2) from None
        n = run(pub, records, factor)
        pub.close()
        ring.close()
        typer.echo(f"replayed {n} records into {into}/{meta['ring']}")
        return
    if meta["ring"] != "md":
        typer.echo(f"error: {journal} is the {meta['ring']!r} journal; the pipeline replays md", err=True)
        raise typer.Exit(2)
    from . import runtime

    try:
        cfg = config_mod.load(config, {"venue": {"kind": "replay", "replay": str(journal), "speed": speed,
                                                 "symbols": [s.lower() for s in meta["symbols"]]}})
    except config_mod.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    runtime.run_supervisor(cfg, duration, headless, summary)


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
                  f"{len(info['files'])} file(s)")
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
