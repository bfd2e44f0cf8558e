"""Creating and validating an instance's latency segment (layout.py describes it)."""

from __future__ import annotations

import numpy as np

from .. import naming, preamble, shm
from ..errors import RingConfigError, RingExists, SegmentCorrupt
from . import buckets as B
from . import layout as L
from .stages import StageTable, check_name


def _check_int(what: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise RingConfigError(f"{what} must be an int from {lo} to {hi}, got {value!r}")
    return int(value)


def check_params(stages, max_stages, slots, period_s) -> tuple[list[bytes], int, int, int]:
    max_stages = _check_int("max_stages", max_stages, 1, L.MAX_MAX_STAGES)
    slots = _check_int("snapshots", slots, 2, L.MAX_SLOTS)
    if isinstance(stages, str):
        raise RingConfigError(f"stages must be a list of names, got the string {stages!r}")
    stages = list(stages)
    raws = [check_name(s) for s in stages]
    dup = sorted({s for s in stages if stages.count(s) > 1})
    if dup:
        raise RingConfigError(f"stage names repeat: {dup}")
    if len(stages) > max_stages:
        raise RingConfigError(f"{len(stages)} stages exceed max_stages={max_stages}")
    try:
        period_ns = int(round(float(period_s) * 1e9))
    except (TypeError, ValueError):
        raise RingConfigError(f"period_s must be a number of seconds, got {period_s!r}") from None
    if not 1_000_000 <= period_ns <= 3600 * 10**9:
        raise RingConfigError(f"period_s must be from 0.001 to 3600 s, got {period_s!r}")
    return raws, max_stages, slots, period_ns


def create(instance: str, stages, max_stages: int, slots: int, period_s: float) -> shm.Segment:
    raws, max_stages, slots, period_ns = check_params(stages, max_stages, slots, period_s)
    seg_name = naming.latency_segment(instance)
    size = L.segment_size(max_stages, slots)
    try:
        seg = shm.Segment.create(seg_name, size)
    except FileExistsError:
        raise RingExists(f"instance {instance!r} already has a latency segment ({seg_name})") from None
    try:
        buf = seg.buf
        words = np.frombuffer(buf, np.int64)
        # Touch the live stages' pages now so no record takes a page fault in tmpfs; snapshot
        # pages are touched by the ticker's first copy into them.
        np.frombuffer(buf, np.uint8)[L.STAGES_OFFSET : L.snapshots_offset(max_stages) : L.PAGE] = 0
        pid, _ = preamble.stamp(buf, L.KIND, size)
        words[L.W_MAX_STAGES] = max_stages
        words[L.W_BUCKETS] = B.BUCKETS
        words[L.W_SUB_BITS] = B.SUB_BITS
        words[L.W_SLOTS] = slots
        words[L.W_PERIOD_NS] = period_ns
        words[L.W_STAGE_LENGTH] = L.STAGE_LENGTH
        words[L.W_SNAPSHOTS_OFFSET] = L.snapshots_offset(max_stages)
        words[L.W_SLOT_LENGTH] = L.slot_length(max_stages)
        words[L.W_LAST_PERIOD] = -1
        for i in range(max_stages):
            s = L.stage_offset(i) // L.WORD
            words[s + L.S_MIN] = words[s + L.S_IMIN] = L.EMPTY_MIN
        table = StageTable(words, buf, max_stages)
        for i, raw in enumerate(raws):
            table.fill(i, raw)
            words[L.stage_offset(i) // L.WORD + L.S_STATE] = L.state_word(L.ACTIVE, pid)
        preamble.publish(words)  # valid from here on: the magic goes last
        del words, table
    except BaseException:
        seg.close()
        shm.unlink(seg_name)
        raise
    return seg


def attach(instance: str) -> shm.Segment:
    seg_name = naming.latency_segment(instance)
    seg = shm.Segment.attach(seg_name)
    try:
        validate(seg, seg_name)
    except BaseException:
        seg.close()
        raise
    return seg


def validate(seg: shm.Segment, seg_name: str) -> None:
    if seg.size < L.STAGES_OFFSET:
        raise SegmentCorrupt(f"{seg_name}: {seg.size} B is too small for a latency segment header")
    words = np.frombuffer(seg.buf, np.int64, L.STAGES_OFFSET // L.WORD)
    try:
        preamble.check(seg.buf, seg_name, L.KIND, "a latency segment header")
        buckets, sub_bits = int(words[L.W_BUCKETS]), int(words[L.W_SUB_BITS])
        if (buckets, sub_bits) != (B.BUCKETS, B.SUB_BITS):
            raise SegmentCorrupt(
                f"{seg_name}: histograms of {buckets} buckets, {sub_bits} sub-bucket bits; this hftshm "
                f"uses {B.BUCKETS} and {B.SUB_BITS}"
            )
        max_stages, slots = int(words[L.W_MAX_STAGES]), int(words[L.W_SLOTS])
        ok = (
            1 <= max_stages <= L.MAX_MAX_STAGES
            and 2 <= slots <= L.MAX_SLOTS
            and words[L.W_PERIOD_NS] > 0
            and words[L.W_STAGE_LENGTH] == L.STAGE_LENGTH
            and words[L.W_SNAPSHOTS_OFFSET] == L.snapshots_offset(max_stages)
            and words[L.W_SLOT_LENGTH] == L.slot_length(max_stages)
            and seg.size >= L.segment_size(max_stages, slots)
        )
        if not ok:
            raise SegmentCorrupt(
                f"{seg_name}: corrupt geometry (max stages {max_stages}, snapshots {slots}, size {seg.size})"
            )
    finally:
        del words
