"""Workers are wiring (docs/trading.md "Execution"; issue 12's target): the execution worker keeps
the asyncio loop, the sockets and the wake-up, at most 150 lines, and imports no venue: what a
venue needs (its protocol, its report stream, REST questions, pings) comes through
``hftshm.trading`` (``wiring``, ``order_links``), so adding a venue does not grow it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 150


def test_the_execution_worker_is_wiring():
    text = (ROOT / "workers" / "execution.py").read_text()
    n = len(text.splitlines())
    assert n <= LIMIT, f"workers/execution.py has {n} lines, at most {LIMIT}: move venue logic into hftshm/trading"
    imported = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    venues = sorted(m for m in imported if m.startswith(("hftshm.venues", "hftshm.exchange")))
    assert not venues, f"workers/execution.py imports venue modules {venues}: wire them in hftshm/trading"
