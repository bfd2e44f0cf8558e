"""State that survives restarts: orders, fills and the positions they add up to, in SQLite."""
