"""The matching model shared by the backtest and the simulator's replay-orders mode: a venue over
a recorded book (``venue``: filters, post-only rejects, touch and depth fills, fees) and its
queue-position models (``queue``). It sits below both: it imports neither."""
