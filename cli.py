"""The ``hftshm`` command: a typer app that wires the thin modules in ``hftshm.commands``."""

from __future__ import annotations

import typer

from hftshm.commands import backtest, bench, bridge, ingest, instances, runtime, trading, ui
from hftshm.commands import metrics as metrics_cmd
from hftshm.commands.exchange import exchange

app = typer.Typer(no_args_is_help=True, add_completion=False, help="hftshm: a shared-memory trading pipeline.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that measure and report figures.")
app.add_typer(bench_app, name="bench")


@app.callback()
def _owner_only() -> None:
    """Every file and directory an hftshm command creates is owner-only (see hftshm.private)."""
    from hftshm import private

    private.restrict_umask()


app.command()(exchange)
app.command()(instances.ls)
app.command()(instances.clean)
bench_app.command("ring")(bench.ring)
bench_app.command("wake")(bench.wake)
# each area registers its own commands: runtime (start, replay, journal), ui (status, tail, top),
# trading (halt, resume), ingest (bench ingest), bridge (bench bridge)
for module in (runtime, ui, trading, ingest, bridge):
    module.register(app, bench_app)
metrics_cmd.register(app, bench_app)  # hftshm metrics (Prometheus)
backtest.register(app, bench_app)  # after runtime: it adds `journal import` to runtime's journal group

if __name__ == "__main__":
    app()
