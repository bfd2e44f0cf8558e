"""``python -m hftshm.trading.simproc PORT_FILE SYMBOLS RATE ORDERS_PER_10S``: the simulator as a child
process with a raised order-rate limit, for ``hftshm bench trading`` (the ``hftshm exchange``
command has no flag for it)."""

import sys
from pathlib import Path

from hftshm.exchange.config import Limits, SimConfig
from hftshm.exchange.run import run

if __name__ == "__main__":
    port_file, symbols, rate, orders = sys.argv[1:5]
    sys.exit(run(SimConfig(port=0, port_file=Path(port_file), symbols=tuple(symbols.split(",")), rate=float(rate),
                           limits=Limits(orders_per_10s=int(orders), orders_per_day=10**9))))
