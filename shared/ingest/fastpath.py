"""Byte-level shortcuts for the common, clean case of a column batch.

Most batches of a real file are plain: no padding, no NA tokens, numbers written as
`-1234.5`, dates as `2024-01-31`. For those, the general regex path of `values` and
`settle` gives a result that can be read straight off the bytes of the Arrow string
array (its offsets and data buffers, viewed with numpy, never copied to Python
objects). Each function here answers for the WHOLE batch or returns None, and the
caller then takes the general path: a shortcut never changes a result, it only skips
work whose outcome is already known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shared.ingest.nulls import COMMON, first_bytes_and_max_length

_DIGITS = b"0123456789"
# Bytes that may be (part of) whitespace that utf8_trim_whitespace removes: every
# control byte, the space, and every non-ASCII byte (NBSP and friends). Conservative.
_EDGE = np.zeros(256, dtype=bool)
_EDGE[:0x21] = True
_EDGE[0x7F:] = True
# First bytes of the null tokens every column is trimmed with (nulls.COMMON, in any
# case), and the longest of them: a value that starts otherwise, or is longer, is not one.
_TOKEN_FIRST = np.zeros(256, dtype=bool)
_FIRST_BYTES, _TOKEN_MAX_BYTES = first_bytes_and_max_length(COMMON)
for _b in _FIRST_BYTES:
    _TOKEN_FIRST[_b] = True
_EDGE_OR_TOKEN = _EDGE | _TOKEN_FIRST
# Every byte but those a JSON string must escape: deleting these leaves only the latter.
_JSON_PLAIN = bytes(b for b in range(256) if b >= 0x20 and b not in b'"\\')
_DOT, _MINUS = ord("."), ord("-")


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, pa.Buffer] | None:
    """(offsets, data bytes, data buffer) of a string array without nulls."""
    if arr.type != pa.string() or arr.null_count:
        return None
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32, count=len(arr) + 1,
                            offset=arr.offset * 4)
    if bufs[2] is None or not bufs[2].size:
        return offsets, np.zeros(1, dtype=np.uint8), pa.py_buffer(b"\0")
    return offsets, np.frombuffer(bufs[2], dtype=np.uint8), bufs[2]


def _text(buf: pa.Buffer, offsets: np.ndarray) -> bytes:
    """The bytes of all the values, back to back (one copy, for bytes' C methods)."""
    return memoryview(buf)[int(offsets[0]):int(offsets[-1])].tobytes()


def needs_no_trim(arr: pa.Array) -> bool:
    """True when trimming and the empty tokens would leave the array unchanged: no
    nulls, no empty string, no whitespace-like byte at either end of a value, and no
    short value starting like an empty token."""
    parts = _buffers(arr)
    if parts is None:
        return False
    if len(arr) == 0:
        return True
    offsets, data, _ = parts
    starts, ends = offsets[:-1], offsets[1:]
    if (starts == ends).any():
        return False
    first = data[starts]
    if _EDGE[data[ends - 1]].any():
        return False
    if not _EDGE_OR_TOKEN[first].any():
        return True
    lengths = ends - starts
    return not (_EDGE[first].any() or (_TOKEN_FIRST[first]
                                       & (lengths <= _TOKEN_MAX_BYTES)).any())


def json_safe(arr: pa.Array) -> bool:
    """True when no value holds a byte that a JSON string must escape."""
    parts = _buffers(arr)
    if parts is None:
        return False
    offsets, _, buf = parts
    return not _text(buf, offsets).translate(None, _JSON_PLAIN)


def plain_iso_dates(arr: pa.Array) -> bool:
    """True when every value is exactly YYYY-MM-DD (digits and the two dashes)."""
    parts = _buffers(arr)
    if parts is None or len(arr) == 0:
        return False
    offsets, data, buf = parts
    n = len(arr)
    if offsets[-1] - offsets[0] != 10 * n or (np.diff(offsets) != 10).any():
        return False
    text = _text(buf, offsets)
    if text.translate(None, _DIGITS + b"-") or text.count(b"-") != 2 * n:
        return False
    grid = data[offsets[0]:offsets[-1]].reshape(-1, 10)
    return bool((grid[:, 4] == _MINUS).all() and (grid[:, 7] == _MINUS).all())


@dataclass
class PlainNumbers:
    """Per-value outcomes of the number patterns for a batch of plain numbers (digits,
    at most one '.', at most a leading '-'). `dot`/`comma`: DOT_RE / COMMA_RE of
    `values`; `serial`: SERIAL_RE; all as numpy bool arrays."""

    dot: np.ndarray
    comma: np.ndarray
    serial: np.ndarray
    max_bytes: int


def plain_numbers(arr: pa.Array) -> PlainNumbers | None:
    """Classify a batch whose values hold only digits, '.' and '-', with at most one
    '.' and a '-' only in front; None for any other batch (including nulls)."""
    parts = _buffers(arr)
    if parts is None or len(arr) == 0:
        return None
    offsets, data, buf = parts
    text = _text(buf, offsets)
    if text.translate(None, _DIGITS + b".-"):
        return None
    starts, ends = offsets[:-1], offsets[1:]
    lengths = ends - starts
    if lengths.min() <= 0:
        return None
    first = data[starts]
    negative = first == _MINUS
    dot_at = pc.find_substring(arr, ".").to_numpy()   # -1: none
    has_dot = dot_at >= 0
    # As many '-' as values starting with one, as many '.' as values holding one:
    # then no value has a second '.' or a '-' anywhere but in front.
    if text.count(b"-") != int(negative.sum()) or text.count(b".") != int(has_dot.sum()):
        return None
    sign = negative.astype(np.int32)
    digits = lengths - sign                          # length after the sign
    last = data[ends - 1]
    last_digit = (last >= ord("0")) & (last <= ord("9"))
    dot = last_digit & (digits >= 1)
    int_len = dot_at - sign                          # digits before the '.'
    frac_len = lengths - dot_at - 1                  # digits after the '.'
    grouped = has_dot & (int_len >= 1) & (int_len <= 3) & (frac_len == 3)
    comma = (~has_dot & (digits >= 1)) | grouped
    serial = ((first >= ord("2")) & (first <= ord("7"))
              & ((~has_dot & (lengths == 5)) | (has_dot & (dot_at == 5) & (frac_len >= 1))))
    return PlainNumbers(dot=dot, comma=comma, serial=serial, max_bytes=int(lengths.max()))


def repeat_string(value: str, n: int) -> pa.Array:
    """A string array of n copies of value, built from buffers."""
    raw = value.encode()
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(len(raw))
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(raw * n)])
