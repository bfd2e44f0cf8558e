"""Result codes of the state updates (on_sent, on_fill, ...): the hot path returns, it does not raise.

Negative codes mean the update was refused and the state is unchanged, except ``CLAMPED``.
"""

APPLIED = 0
IGNORED = 1  # nothing to do (a cancel to on_accepted, a non-quote record to on_quote)
BAD_INPUT = -1  # unknown symbol, bad side, qty or price <= 0: nothing changed
CLAMPED = -2  # on_done for more than was open: open set to 0 (a bookkeeping bug upstream)

NAMES = {APPLIED: "applied", IGNORED: "ignored", BAD_INPUT: "bad input", CLAMPED: "clamped"}
