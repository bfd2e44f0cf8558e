"""The ``hftshm`` subcommands: one module per command or command group, named after it, each
with ``register(app)``; ``cli.py`` lists them. Helpers they share are in ``common``."""
