"""Reading a capture's lines (``feed.capture.iter_capture``): lines that straddle the reader's
chunks, CRLF endings, blank lines, a last line without a newline, gzip, and the line number of a
bad line, against literal files."""

from __future__ import annotations

import gzip

import pytest

from hftshm.feed import capture

LINES = [b'1 {"a":1}', b"", b'22 {"b":"x y"}\r', b'333 {"c":[1,2,3]}', b"4444 z"]
WANT = [(1, b'{"a":1}'), (22, b'{"b":"x y"}'), (333, b'{"c":[1,2,3]}'), (4444, b"z")]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 16, 1 << 20])
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("final_newline", [False, True])
def test_frames_whatever_the_chunking(tmp_path, monkeypatch, chunk, gz, final_newline):
    monkeypatch.setattr(capture, "CHUNK", chunk)
    data = b"\n".join(LINES) + (b"\n" if final_newline else b"")
    path = tmp_path / ("c.capture.gz" if gz else "c.capture")
    path.write_bytes(gzip.compress(data) if gz else data)
    assert list(capture.iter_capture(path)) == WANT


@pytest.mark.parametrize("chunk", [3, 1 << 20])
def test_a_bad_line_is_named_by_its_number(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(capture, "CHUNK", chunk)
    path = tmp_path / "bad.capture"
    path.write_bytes(b'1 {}\n\n2 {}\nnot-a-line\n3 {}\n')
    with pytest.raises(ValueError, match=r"bad.capture:4: expected '<recv_ns> <frame>', got b'not-a-line'"):
        list(capture.iter_capture(path))


def test_an_empty_capture_has_no_frames(tmp_path):
    path = tmp_path / "empty.capture"
    path.write_bytes(b"")
    assert list(capture.iter_capture(path)) == []
