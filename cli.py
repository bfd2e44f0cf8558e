"""The ``hftshm`` command: a typer app that wires the thin modules in ``hftshm.commands``."""

from __future__ import annotations

import typer

from hftshm.commands import (backtest, bench, clean, exchange, halt, journal, ls, metrics, reduce_only, replay,
                             resume, start, status, tail, top)

app = typer.Typer(no_args_is_help=True, add_completion=False, help="hftshm: a shared-memory trading pipeline.")


@app.callback()
def _owner_only() -> None:
    """Every file and directory an hftshm command creates is owner-only (see hftshm.private)."""
    from hftshm import private

    private.restrict_umask()


# every command module, each registering its own command or group (in the order of `hftshm --help`)
COMMANDS = (exchange, ls, clean, start, replay, status, tail, top, halt, resume, reduce_only, metrics, backtest,
            bench, journal)
for module in COMMANDS:
    module.register(app)

if __name__ == "__main__":
    app()
