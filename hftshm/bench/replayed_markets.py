"""What a benchmark that trades on a replayed capture takes from it: the symbols and streams to
subscribe to, and an order size for the first symbol's price on the rules the simulator serves
for that capture (``exchange.server.replay_ticks``). ``hftshm bench parity`` and ``hftshm bench
trading --replay`` size their strategies with it, so a Spot capture of any dollar-quoted symbol
trades, not only BTCUSDT's."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

NOTIONAL = 60.0  # quote units an order aims at: 0.001 BTC at the shared capture's ~61,800 USDT


@dataclasses.dataclass(frozen=True)
class Markets:
    """A capture's symbols and stream kinds (``bookTicker``, ``depth@100ms``), and the order size
    on its first symbol, the one the strategies trade."""
    symbols: tuple = ("btcusdt",)
    streams: tuple = ("trade", "bookTicker", "depth@100ms")
    qty_e8: int = 100_000  # 0.001


USD_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD")  # NOTIONAL is in US dollars


def order_qty_e8(price: float, step_e8: int, min_notional_e8: int, max_qty_e8: int = 1 << 62) -> int:
    """An order size near ``NOTIONAL`` at ``price``: a power of ten, on the step, and at least
    twice the minimum notional (0.001 on the shared BTCUSDT capture); ValueError past maxQty."""
    qty = 10 ** max(0, round(math.log10(NOTIONAL / price)) + 8)
    qty = -(-qty // step_e8) * step_e8
    while qty * price < 2 * min_notional_e8:
        qty *= 10
    if qty > max_qty_e8:
        raise ValueError(f"at a price of {price:g}, an order of about {NOTIONAL:g} USD is {qty / 1e8:g} units, "
                         f"above the simulator's maxQty of {max_qty_e8 / 1e8:g}")
    return qty


def capture_markets(capture: Path) -> Markets:
    """The capture's symbols and streams, the order size for its first symbol's price and the
    rules the simulator replaying it serves (its tick from the recorded prices). ValueError for a
    capture no order can be sent on."""
    import orjson

    from ..exchange.config import ExchangeConfig
    from ..exchange.loaded_capture import Capture
    from ..exchange.server import replay_ticks
    from ..feed.capture import UNREADABLE, markets_of

    try:
        cap = Capture.load(capture)
    except (OSError, *UNREADABLE) as exc:
        raise ValueError(f"capture {capture}: cannot read it: {exc}") from None
    if cap.venue != "binance_spot":  # runtime.config.refuse_usdm_orders says why
        raise ValueError(f"capture {capture} is a {cap.venue} capture: the simulator's replay of one takes no "
                         "orders, so a benchmark that trades replays Binance Spot captures only")
    symbol = cap.symbols[0]
    cfg = ExchangeConfig(symbols=tuple(cap.symbols))
    spec = dataclasses.replace(cfg, ticks=replay_ticks(cfg, cap)).specs[symbol]  # as the simulator serves it
    if spec.quote not in USD_QUOTES:
        raise ValueError(f"capture {capture}: {symbol} is quoted in {spec.quote}; orders are sized in US dollars "
                         f"({', '.join(USD_QUOTES)} quotes)")
    price = next((float(p) for f in cap.frames if f.stream.startswith(symbol + "@")
                  for d in (orjson.loads(f.data),) for p in (d.get("p"), d.get("b")) if isinstance(p, str)), None)
    if not price:
        raise ValueError(f"capture {capture}: no trade or bookTicker price for {symbol} to size orders by")
    try:
        qty = order_qty_e8(price, spec.step_e8, spec.min_notional_e8, spec.max_qty_e8)
    except ValueError as exc:
        raise ValueError(f"capture {capture}: {symbol}: {exc}") from None
    symbols, kinds = markets_of(f.stream for f in cap.frames)
    return Markets(tuple(symbols), tuple(kinds), qty)
