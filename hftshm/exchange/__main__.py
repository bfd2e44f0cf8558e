"""``python -m hftshm.exchange [options]``: the ``hftshm exchange`` command without the root CLI."""

import typer

from hftshm.commands.exchange import exchange

if __name__ == "__main__":
    typer.run(exchange)
