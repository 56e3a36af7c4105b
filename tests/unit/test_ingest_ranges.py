"""The quote-aware range cutter: ranges end at row boundaries outside quotes, and the
rows of all ranges, each read with the header, are the rows of the whole file."""

from __future__ import annotations

import csv
import io
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.ingest import ranges as R


def _cut(data: bytes, target: int, header_rows: int = 1) -> list[R.ByteRange]:
    stream = io.BytesIO(data)
    return R.cut(stream.read, len(data), target, R.header_end(data, header_rows))


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _range_rows(data: bytes, target: int) -> list[list[str]]:
    """Every range read as RangeReader gives it to the pipeline, header dropped."""
    head = R.header_end(data)
    out: list[list[str]] = []
    for rng in _cut(data, target):
        text = R.open_range(lambda: io.BytesIO(data), head, rng)().read()
        out += _rows(text)[1:]
    return out


def test_cuts_land_after_a_line_feed_and_cover_the_file():
    data = b"date,amount\n" + b"".join(b"2024-01-%02d,%d\n" % (d, d) for d in range(1, 29))
    got = _cut(data, 40)
    assert len(got) > 3
    assert got[0].start == len(b"date,amount\n") and got[-1].end == len(data)
    for a, b in itertools.pairwise(got):
        assert a.end == b.start and data[a.end - 1:a.end] == b"\n"
    assert _range_rows(data, 40) == _rows(data)[1:]


def test_a_cut_inside_a_quoted_field_moves_past_its_line_feeds():
    row = b'2024-01-01,"a\nquoted\nnote",5\n'
    data = b"date,note,amount\n" + row * 6
    got = _cut(data, 20)
    for rng in got[:-1]:
        before = data[:rng.end]
        assert before.count(b'"') % 2 == 0, rng  # never inside quotes
        assert data[rng.end:].startswith(b"2024") or rng.end == len(data)
    assert _range_rows(data, 20) == _rows(data)[1:]


def test_crlf_rows_stay_whole():
    data = b"date,amount\r\n" + b"2024-02-01,1.5\r\n" * 30
    got = _cut(data, 50)
    assert all(data[r.end - 2:r.end] == b"\r\n" for r in got)
    assert _range_rows(data, 50) == _rows(data)[1:]


def test_a_last_range_without_trailing_newline_keeps_its_row():
    data = b"date,amount\n" + b"2024-03-01,2\n" * 10 + b"2024-03-02,99"
    got = _cut(data, 30)
    assert got[-1].end == len(data)
    assert _range_rows(data, 30)[-1] == ["2024-03-02", "99"]
    assert _range_rows(data, 30) == _rows(data)[1:]


def test_bom_and_a_quoted_header_go_to_every_range():
    data = b'\xef\xbb\xbf"Order\nDate",amount\n' + b"2024-04-01,3\n" * 12
    head = R.header_end(data)
    assert data[:head] == b'\xef\xbb\xbf"Order\nDate",amount\n'
    for rng in _cut(data, 25):
        text = R.open_range(lambda: io.BytesIO(data), head, rng)().read()
        assert _rows(text)[0] == ["Order\nDate", "amount"]
    assert _range_rows(data, 25) == _rows(data)[1:]


def test_lines_before_counts_physical_lines_for_file_wide_row_numbers():
    data = b"date,amount\n" + b"".join(b"2024-05-%02d,1\n" % d for d in range(1, 21))
    for rng in _cut(data, 33):
        assert rng.lines_before == data[:rng.start].count(b"\n")


def test_a_file_smaller_than_the_target_is_one_range():
    data = b"date,amount\n2024-01-01,1\n"
    assert _cut(data, 1 << 30) == [R.ByteRange(12, len(data), 1)]


@pytest.mark.parametrize(("head", "encoding", "expected"), [
    (b"date,amount\n2024-01-01,1\n", "utf-8", True),
    (b'date,note\n2024-01-01,"two\nlines"\n', "utf-8", False),
    (b'date,item\n2024-01-01,15" screen\n', "utf-8", False),
    (b"date,amount\r2024-01-01,1\r", "utf-8", False),
    (b"d\x00a\x00\n\x00", "utf-16", False),
    (b"date,amount\r\n2024-01-01,1\r\n", "cp1252", True),
])
def test_splittable_from_the_head(head, encoding, expected):
    assert R.splittable(head, encoding, at_eof=True) is expected


_FIELD = st.one_of(
    st.text(alphabet="abc 1.-", max_size=6),
    st.text(alphabet='ab,"\n\r ', max_size=6).map(lambda s: '"' + s.replace('"', '""') + '"'),
)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(_FIELD, min_size=2, max_size=2), min_size=1, max_size=25),
       target=st.integers(min_value=1, max_value=60),
       crlf=st.booleans(), trailing=st.booleans())
def test_concatenated_ranges_have_the_whole_files_rows(rows, target, crlf, trailing):
    end = "\r\n" if crlf else "\n"
    text = end.join(["h1,h2"] + [",".join(r) for r in rows]) + (end if trailing else "")
    data = text.encode()
    got = _cut(data, target)
    assert got[0].start == R.header_end(data) and got[-1].end == len(data)
    assert _range_rows(data, target) == _rows(data)[1:]
