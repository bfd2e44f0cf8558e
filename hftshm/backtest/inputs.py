"""What a backtest reads: an md journal, or a raw capture converted to one for the run.

A capture (``<recv_ns> <frame>`` lines, gzipped or not) goes through the conversion of ``hftshm
journal import`` (the venue's live normalizer) into a temporary md journal that is removed after
the run. It is made inside the run directory when there is one (the results' filesystem, not a
small ``/tmp``), else in the system's temporary directory. ``hftshm journal import`` converts a
capture once for many runs; this is the one-off path.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from ..feed.capture import looks_like_capture
from .errors import BacktestError


@contextmanager
def md_journals(journal, near: Path | None = None) -> Iterator[tuple[object, list[dict]]]:
    """Yields ``(journal, imports)``: ``journal`` (one path, or ``{venue: path}``) with each
    capture replaced by its converted md journal, and the import's counts per capture (empty
    when no capture was given). The converted journals are removed on exit."""
    group = isinstance(journal, dict)
    paths = dict(journal) if group else {None: journal}
    captures = {k: Path(p) for k, p in paths.items() if looks_like_capture(p)}
    if not captures:
        yield journal, []
        return
    made = None  # the outermost directory made for the run directory, removed if the run fails
    if near is not None and not Path(near).exists():
        made = Path(near).absolute()
        while not made.parent.exists():
            made = made.parent
        Path(near).mkdir(parents=True)
    try:
        with ExitStack() as stack:
            imports = []
            for key, capture in captures.items():
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(
                    prefix=".capture-md-", dir=near)))
                paths[key] = tmp / "md"
                imports.append(_convert(capture, paths[key]))
            yield (paths if group else paths[None]), imports
    finally:
        if made is not None and not any(p.is_file() for p in made.rglob("*")):  # failed before writing anything
            shutil.rmtree(made, ignore_errors=True)


def _convert(capture: Path, out: Path) -> dict:
    from ..journal.capture_import import import_capture

    t = time.perf_counter()
    try:
        info = import_capture(capture, out)
    except ValueError as exc:  # a line that is not '<recv_ns> <frame>', or no symbols to tell
        raise BacktestError(str(exc).replace(
            "name them (--symbols)", "convert it with `hftshm journal import CAPTURE --symbols S --out DIR` "
            "and backtest DIR")) from None
    if info["records"] == 0:
        raise BacktestError(f"capture {capture}: no md records in its {info['lines']:,} lines (the conversion "
                            "reads Binance Spot and USD-M combined-stream frames)")
    info["seconds"] = time.perf_counter() - t
    return info
