"""``hftshm replay``: publish a journal back into a ring (the whole pipeline on recorded data, or
into a live instance's ring); the work is in ``hftshm.journal``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .start import run_supervisor


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
        from ..journal.republish import run
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
    try:
        cfg = config_mod.load(config, {"venue": {"kind": "replay", "replay": str(journal), "speed": speed,
                                                 "symbols": [s.lower() for s in meta["symbols"]]}})
    except config_mod.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    run_supervisor(cfg, duration, headless, summary)


def register(app) -> None:
    app.command()(replay)
