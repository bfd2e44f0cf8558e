"""The end-of-run summary (``hftshm start --summary FILE``): JSON figures read from shared memory
just before it is unlinked: rings and readers, per-stage latency, workers, trading, and the
journal (records published vs on disk, write errors, down time)."""

from __future__ import annotations

import json
import time

from .. import atomics as A
from ..ring import header as H
from ..ring import reader_table as RT
from ..runtime import control_layout as C
from ..runtime import rings as ring_specs


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


def journal_figures(cfg, control, ring_out: dict) -> dict:
    """The truth about the journal: per ring, records published and records on disk (counted in
    the files' batch headers), and the journal worker's fault counters. ``complete`` is true only
    when every published record is on disk and no write ever failed."""
    published = {name: figs.get("published") for name, figs in ring_out.items()}
    if not cfg.journal.enabled:
        return {"enabled": False, "complete": False, "not_journaled": sum(v or 0 for v in published.values())}
    from ..journal import files

    worker = {}
    for slot in control.worker_slots():
        if control.worker_role(slot) == "journal":
            worker = {"worker_state": C.WORKER_STATES.get(control.worker_field(slot, C.W_STATE), "?"),
                      "restarts": control.worker_field(slot, C.W_RESTARTS), **control.counter_values(slot)}
    rings_out, missing = {}, 0
    for name, pub in published.items():
        directory = files.ring_dir(cfg.run_dir(), name)
        try:
            on_disk = files.count_records(directory) if directory.exists() else 0
        except (OSError, ValueError) as exc:
            rings_out[name] = {"published": pub, "error": str(exc)}
            continue
        gap = max(0, (pub or 0) - on_disk)
        missing += gap
        rings_out[name] = {"published": pub, "journaled": on_disk, "not_journaled": gap}
    errors = int(worker.get("write_errors", 0))
    return {
        "enabled": True, "dir": str(cfg.run_dir() / "journal"), "rings": rings_out, "not_journaled": missing,
        "write_errors": errors, "down_ms": int(worker.get("down_ms", 0)), "down_at_stop": int(worker.get("down", 0)),
        "lost": int(worker.get("lost", 0)), "unjournaled_at_stop": int(worker.get("unjournaled", 0)),
        "worker_state": worker.get("worker_state", "absent"), "restarts": int(worker.get("restarts", 0)),
        "complete": missing == 0 and errors == 0 and bool(worker),
    }


def resting_at_stop(cfg, control) -> dict | None:
    """Orders open at the venue when execution stopped: how many ``[execution] cancel_on_stop``
    cancelled and how many were left open (execution's ``stop_canceled`` and ``stop_left``).
    None when the instance runs no execution worker."""
    for slot in control.worker_slots():
        if control.worker_role(slot) == "execution":
            counters = control.counter_values(slot)
            ex = getattr(cfg, "execution", None) or {}
            return {"cancel_on_stop": bool(ex.get("cancel_on_stop", True)),
                    "canceled": int(counters.get("stop_canceled", 0)), "left": int(counters.get("stop_left", 0))}
    return None


def resting_line(figs: dict | None) -> str | None:
    """The line the supervisor prints at stop about resting orders (None: nothing to say)."""
    if not figs or not (figs["canceled"] or figs["left"]):
        return None
    if figs["left"]:
        why = "" if figs["cancel_on_stop"] else " ([execution] cancel_on_stop = false)"
        return (f"resting orders at stop: {figs['canceled']} cancelled, {figs['left']} LEFT OPEN at the venue{why}; "
                "see the execution log for their ids")
    return f"resting orders at stop: {figs['canceled']} cancelled, none left open"


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
    from ..trading import snapshot as trading_snapshot  # late: only the summary at the stop needs it

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
        "journal": journal_figures(cfg, control, ring_out),
        "resting_at_stop": resting_at_stop(cfg, control),
    }


def write(path, data: dict) -> None:
    """The summary as JSON, owner-only (0600): it holds positions, PnL and limits."""
    from ..private import write_text

    write_text(path, json.dumps(data, indent=2, default=str) + "\n")
