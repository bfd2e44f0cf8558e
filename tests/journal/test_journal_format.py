"""Journal integrity: a cut tail, an edited header, flipped bytes are each found, named by file
and byte offset, and refused by every reader (load, streaming, inspect, replay); version-1
journals still read; a writer restarting on a torn file repairs only the torn tail.

Forbidden outcomes: a damaged record returned as good; an error that names no file or offset;
`journal inspect` exiting 0 on a damaged journal; `replay` publishing anything from one."""

import json
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

from hftshm.journal import files
from hftshm.journal import format as F
from hftshm.journal.writer import RingJournal, RingSpec, write_journal
from hftshm.layouts import md

N = 5000


def records(n=N):
    r = np.zeros(n, md.DTYPE)
    r["seq"] = np.arange(n)
    r["publish_ns"] = 1_700_000_000_000_000_000 + np.arange(n) * 1000
    r["kind"] = 1
    r["price_e8"] = 6_000_000_000_000 + np.arange(n)
    r["qty_e8"] = 1_000_000
    return r


def journal(tmp_path, n=N, rotate=256 << 20, batch=700):
    d = tmp_path / "md"
    write_journal(d, "md", md.LAYOUT, records(n), ["BTCUSDT"], "inst", rotate_bytes=rotate, batch=batch)
    return d


def cli(*args):
    return subprocess.run([sys.executable, "-m", "hftshm.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def named(text, path, offset):
    """The message names the file and the byte offset."""
    return str(path) in text and f"at byte {offset}" in text


def write_v1(path, recs):
    """A version-1 file as the previous format wrote it: header, then the records, unframed."""
    meta = {"ring": "md", "instance": "old", "layout": md.LAYOUT.name,
            "fingerprint": md.LAYOUT.fingerprint & (2**64 - 1), "record_size": md.LAYOUT.size,
            "first_seq": int(recs["seq"][0]), "symbols": ["BTCUSDT"], "dtype": F.dtype_json(md.DTYPE)}
    text = json.dumps(meta).encode()
    head = bytearray(F.HEADER_LENGTH)
    struct.pack_into("<8sIIqqqq", head, 0, F.MAGIC, F.HEADER_LENGTH, 1, md.LAYOUT.size, md.LAYOUT.fingerprint,
                     int(recs["seq"][0]), 1)
    head[64:68] = len(text).to_bytes(4, "little")
    head[68:68 + len(text)] = text
    path.write_bytes(bytes(head) + recs.tobytes())


def test_round_trip_streaming_and_rotation(tmp_path):
    d = journal(tmp_path, rotate=200_000)
    paths = files.ring_files(d)
    assert len(paths) > 1
    meta, got = files.load_ring(d)
    assert meta["version"] == F.VERSION and (got == records()).all()
    batches = list(files.iter_batches(d))
    assert sum(len(b) for _, b in batches) == N and all(isinstance(b.base, np.ndarray) for _, b in batches)
    assert files.count_records(d) == N and files.verify(d).problems == []
    assert cli("journal", "inspect", d).returncode == 0


def test_truncated_tail_is_reported_with_file_and_offset(tmp_path):
    d = journal(tmp_path)
    path = files.ring_files(d)[-1]
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size - 70)  # mid-record, in the last batch
    last_batch = size - (32 + (N % 700 or 700) * 128)
    with pytest.raises(files.CutTail) as err:
        files.load_ring(d)
    assert named(str(err.value), path, last_batch)
    out = cli("journal", "inspect", d, "--json")
    assert out.returncode == 2 and named(out.stderr, path, last_batch)
    info = json.loads(out.stdout)
    assert info["records"] == N - (N % 700 or 700) and info["cut_tail"]  # the sound part is summarized
    # a writer restarting there cuts only the torn batch, and the journal is sound again
    j = RingJournal(d, RingSpec("md", md.LAYOUT, ("BTCUSDT",)), "inst", 256 << 20)
    assert j.last_seq == N - (N % 700 or 700) - 1 and path.stat().st_size == last_batch
    assert any("cut the torn tail" in r for r in j.repairs)
    j.write(records()[j.last_seq + 1:])
    j.close()
    assert (files.load_ring(d)[1] == records()).all()


def test_edited_dtype_header_is_refused(tmp_path):
    d = journal(tmp_path)
    path = files.ring_files(d)[0]
    raw = bytearray(path.read_bytes())
    head = raw[:4096].decode("latin-1")
    at = head.index('"<i8"', head.index('"formats"'))
    raw[at:at + 5] = b'"<f8"'  # same size, different type: garbage if believed
    path.write_bytes(bytes(raw))
    with pytest.raises(F.JournalError) as err:
        files.load_ring(d)
    assert named(str(err.value), path, F.HEADER_CRC_OFFSET) and "header" in str(err.value)
    out = cli("journal", "inspect", path)
    assert out.returncode == 2 and named(out.stderr, path, F.HEADER_CRC_OFFSET)
    # a version-1 file has no header checksum: the dtype is checked against the fingerprint
    v1 = tmp_path / "old" / "md-000000000000000.hftj"
    v1.parent.mkdir()
    write_v1(v1, records(100))
    raw = bytearray(v1.read_bytes())
    at = raw.index(b'"formats"')
    for _ in range(3):  # past seq and publish_ns, which every layout must have as int64
        at = raw.index(b'"<i8"', at + 1)
    raw[at:at + 5] = b'"<f8"'
    v1.write_bytes(bytes(raw))
    with pytest.raises(F.JournalError, match="fingerprint") as err:
        files.load(v1)
    assert named(str(err.value), v1, 24)
    assert cli("journal", "inspect", v1).returncode == 2


def test_flipped_bytes_are_found_and_replay_publishes_nothing(tmp_path, instance):
    d = journal(tmp_path)
    path = files.ring_files(d)[0]
    raw = bytearray(path.read_bytes())
    rng = np.random.default_rng(7)
    where = np.sort(rng.choice(np.arange(4096, len(raw)), 1000, replace=False))
    for i in where:
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(F.JournalError) as err:
        files.load_ring(d)
    first_batch_data = 4096 + 32
    first_damage = int(where[0])
    assert str(path) in str(err.value) and re.search(r"at byte \d+", str(err.value))
    assert err.value.offset <= first_damage and err.value.offset in (4096, first_batch_data)
    with pytest.raises(F.JournalError):
        for _ in files.iter_batches(d):
            pass
    out = cli("journal", "inspect", d)
    assert out.returncode == 2 and str(path) in out.stderr and "at byte" in out.stderr
    out = cli("replay", d, "--into", instance, "--speed", "max")
    assert out.returncode == 2 and str(path) in out.stderr and "at byte" in out.stderr
    assert "replayed" not in out.stdout
    out = cli("replay", d, "--speed", "max", "--duration", "1", "--headless")  # the whole pipeline
    assert out.returncode == 2 and str(path) in out.stderr and "at byte" in out.stderr


def test_one_flipped_record_byte_names_its_batch(tmp_path):
    d = journal(tmp_path)
    path = files.ring_files(d)[0]
    raw = bytearray(path.read_bytes())
    third = 4096 + 2 * (32 + 700 * 128)  # the third batch's header
    raw[third + 32 + 5 * 128 + 40] ^= 0x01  # one bit of one record's price
    path.write_bytes(bytes(raw))
    rep = files.verify(d)
    assert len(rep.problems) == 1 and rep.problems[0].offset == third + 32 and rep.records == 1400
    assert "checksum" in str(rep.problems[0])


def test_version_1_journals_still_read(tmp_path):
    d = tmp_path / "old"
    d.mkdir()
    recs = records(3000)
    write_v1(d / "md-000000000000000.hftj", recs[:1000])
    write_v1(d / "md-000000000001000.hftj", recs[1000:])
    meta, got = files.load_ring(d)
    assert meta["version"] == 1 and (got == recs).all()
    assert sum(len(b) for _, b in files.iter_batches(d)) == 3000
    out = cli("journal", "inspect", d, "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["records"] == 3000
    # a cut tail of a version-1 file is reported too
    last = d / "md-000000000001000.hftj"
    with open(last, "r+b") as f:
        f.truncate(last.stat().st_size - 50)
    with pytest.raises(files.CutTail) as err:
        files.load_ring(d)
    assert named(str(err.value), last, 4096 + 1999 * 128)
    # a journal worker resuming there starts a version-2 file after the old ones
    j = RingJournal(d, RingSpec("md", md.LAYOUT, ("BTCUSDT",)), "inst", 256 << 20)
    assert j.last_seq == 2998
    j.write(recs[2999:])
    j.close()
    meta, got = files.load_ring(d)
    assert (got == recs).all() and files.read_meta(files.ring_files(d)[-1])["version"] == F.VERSION


def test_unreadable_versions_and_bad_headers_name_the_file(tmp_path):
    d = journal(tmp_path, n=10)
    path = files.ring_files(d)[0]
    raw = bytearray(path.read_bytes())
    struct.pack_into("<I", raw, 12, 9)  # a future version
    path.write_bytes(bytes(raw))
    with pytest.raises(F.JournalError, match="reads versions 1, 2") as err:
        files.load_ring(d)
    assert named(str(err.value), path, 8)
    path.write_bytes(b"HFTJRNL\x01" + b"\0" * 100)
    with pytest.raises(files.CutTail) as err:
        files.load(path)
    assert named(str(err.value), path, 108)


def test_write_journal_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_journal(tmp_path, "md", md.LAYOUT, np.zeros(3, [("seq", "<i8")]))
    r = records(10)
    r["seq"][5] = 1
    with pytest.raises(ValueError, match="increase"):
        write_journal(tmp_path, "md", md.LAYOUT, r)


def test_a_new_run_of_the_instance_never_skips_its_records(tmp_path):
    """An instance name used again: its rings count seq from 0 again. The earlier run's files are
    set aside, not taken for "already on disk" (which skipped the whole new run)."""
    from hftshm.ring import header as H

    class Ring:  # what the journal reads of a live ring
        def __init__(self, created):
            self.name, self.layout, self.symbols = "md", md.LAYOUT, ("BTCUSDT",)
            self.hdr = np.zeros(H.W_CREATED_NS + 1, np.int64)
            self.hdr[H.W_CREATED_NS] = created

    d = tmp_path / "md"
    first = RingJournal(d, Ring(111), "inst", 256 << 20)
    first.write(records(100))
    first.close()
    second = RingJournal(d, Ring(222), "inst", 256 << 20)
    second.write(records(50))
    second.close()
    assert second.skipped == 0 and second.records == 50
    meta, got = files.load_ring(d)
    assert len(got) == 50 and meta["ring_created_ns"] == 222
    assert len(files.load_ring(d / "earlier-111")[1]) == 100


def test_md_event_v1_journals_read_as_v2_records_of_venue_0(tmp_path, instance):
    """Before records named their venue, byte 11 was the (always zero) high byte of a u2 flags:
    a v1 journal is read as v2 records of venue 0, the flags kept, and a v2 file can continue it."""
    from hftshm.layouts import upgrade
    from hftshm.layouts.base import Layout, make_dtype

    fields = [(n, md.DTYPE.fields[n][0].str, md.DTYPE.fields[n][1]) for n in md.DTYPE.names if n != "venue"]
    fields = [("flags", "<u2", 10) if f[0] == "flags" else f for f in fields]
    v1 = Layout("md_event.v1", make_dtype(fields, 128))
    assert v1.fingerprint & (2**64 - 1) == md.V1_FINGERPRINT  # the constant is v1's
    assert upgrade(v1.fingerprint) is md.LAYOUT and upgrade(md.LAYOUT.fingerprint) is None
    old = np.zeros(500, v1.dtype)
    old["seq"] = np.arange(500)
    old["kind"] = md.TRADE
    old["flags"] = md.F_BEST_MATCH | md.F_NOT_MARKET
    old["price_e8"] = np.arange(500) * 10
    d = tmp_path / "md"
    write_journal(d, "md", v1, old, symbols=("BTCUSDT",))
    meta, got = files.load_ring(d)
    assert meta["layout"] == md.LAYOUT.name and meta["upgraded_from"] == "md_event.v1"
    assert files.read_meta(files.ring_files(d)[0])["layout"] == md.LAYOUT.name
    out = cli("journal", "inspect", d)
    assert out.returncode == 0 and "md_event.v2" in out.stdout and "written as md_event.v1" in out.stdout
    assert got.dtype == md.DTYPE and len(got) == 500
    assert (got["venue"] == 0).all() and (got["flags"] == md.F_BEST_MATCH | md.F_NOT_MARKET).all()
    assert (got["price_e8"] == old["price_e8"]).all() and (got["seq"] == old["seq"]).all()
    # a v2 file written after the v1 ones continues the same journal
    j = RingJournal(d, RingSpec("md", md.LAYOUT, ("BTCUSDT",)), "inst", 256 << 20)
    assert j.last_seq == 499
    more = md.records(2)
    more["seq"] = [500, 501]
    more["venue"] = 2
    j.write(more)
    j.close()
    meta, got = files.load_ring(d)
    assert got["venue"].tolist() == [0] * 500 + [2, 2]
