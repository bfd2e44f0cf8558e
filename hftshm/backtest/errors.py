"""One error type for everything a user can get wrong about a backtest (config, input, strategy)."""


class BacktestError(ValueError):
    """Bad backtest input; the message names the key, file or record and what is allowed."""
