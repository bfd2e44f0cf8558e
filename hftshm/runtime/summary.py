"""The end-of-run summary (``hftshm start --summary FILE``): JSON figures read from shared memory
just before it is unlinked: rings and readers, per-stage latency, workers, trading."""

from __future__ import annotations

import json
import time

from .. import atomics as A
from ..ring import header as H
from ..ring import reader_table as RT
from . import control_layout as C
from . import rings as ring_specs


def ring_figures(ring) -> dict:
    hdr = ring.hdr
    head = H.W_CURSOR if ring.KIND == H.KIND_BROADCAST else H.W_CLAIM
    published = int(A.load_acquire(hdr, head))
    readers = []
    for slot in range(H.READER_SLOTS):
        state = int(A.load_acquire(hdr, RT.word(slot, RT.STATE))) & RT.STATE_MASK
        if state == RT.FREE:
            continue
        cursor = int(A.load_acquire(hdr, RT.word(slot, RT.CURSOR)))
        readers.append({
            "name": ring.reader_name(slot),
            "pid": int(hdr[RT.word(slot, RT.PID)]),
            "state": RT.STATE_NAMES.get(state, str(state)),
            "gating": bool(int(hdr[RT.word(slot, RT.FLAGS)]) & RT.FLAG_GATING),
            "cursor": cursor,
            "lag": max(0, published - cursor),
            "lost": int(hdr[RT.word(slot, RT.LOST)]),
            "lapped": int(hdr[RT.word(slot, RT.LAPPED)]),
            "resumes": int(hdr[RT.word(slot, RT.RESUMES)]),
            "evicted": int(hdr[RT.word(slot, RT.EVICTED)]),
            "wait": RT.WAIT_NAMES.get(int(hdr[RT.word(slot, RT.WAIT_CODE)]), "?"),
        })
    return {
        "capacity": ring.capacity, "published": published, "policy": ring.policy,
        "overruns": ring.counter(H.W_OVERRUNS), "waits": ring.counter(H.W_WAITS),
        "lost": ring.counter(H.W_LOST), "skipped": ring.counter(H.W_SKIPPED), "readers": readers,
    }


def worker_figures(control, restarts_by_name: dict | None = None) -> dict:
    out = {}
    for slot in control.worker_slots():
        name = control.worker_name(slot)
        out[name] = {
            "role": control.worker_role(slot),
            "state": C.WORKER_STATES.get(control.worker_field(slot, C.W_STATE), "?"),
            "restarts": control.worker_field(slot, C.W_RESTARTS),
            "exit_code": control.worker_field(slot, C.W_EXIT_CODE),
            "counters": control.counter_values(slot),
        }
    return out


def collect(cfg, control, latency, started_ns: int, final_readers: dict | None = None) -> dict:
    """``final_readers`` (ring -> name -> figures) stands in for readers that have closed since."""
    ring_out = {}
    for name in cfg.rings:
        try:
            ring = ring_specs.attach(cfg.instance, name)
        except Exception as exc:  # a ring that is gone is reported, not fatal
            ring_out[name] = {"error": str(exc)}
            continue
        try:
            figs = ring_figures(ring)
        finally:
            ring.close()
        merged = dict((final_readers or {}).get(name, {}))
        merged.update({r["name"]: r for r in figs["readers"]})
        figs["readers"] = list(merged.values())
        ring_out[name] = figs
    from ..trading import snapshot as trading_snapshot

    return {
        "instance": cfg.instance,
        "started_ns": started_ns,
        "stopped_ns": time.time_ns(),
        "duration_s": round((time.time_ns() - started_ns) / 1e9, 3),
        "rings": ring_out,
        "latency": latency.summaries() if latency is not None else {},
        "workers": worker_figures(control),
        "trading": trading_snapshot.figures(control),
        "journal_dir": str(cfg.run_dir() / "journal") if cfg.journal.enabled else None,
    }


def write(path, data: dict) -> None:
    """The summary as JSON, owner-only (0600): it holds positions, PnL and limits."""
    from ..private import write_text

    write_text(path, json.dumps(data, indent=2, default=str) + "\n")
