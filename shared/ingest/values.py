"""Vectorized reading of the values users put in CSVs: numbers in either decimal
convention, currency, negatives in parentheses, percent; ISO dates and timestamps with
zones, D/M/Y and M/D/Y, month names, Excel serial dates.

Everything works on whole Arrow arrays (pyarrow.compute), never row by row, and
returns a per-row "invalid" mask instead of raising, so one bad cell rejects one row.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shared.ingest import fastpath
from shared.ingest.nulls import COMMON, NULL_TOKENS

_CODES = "(?:USD|EUR|GBP|CHF|JPY|INR|CAD|AUD)"
_STRIP = r"[\s\x{00a0}\x{202f}'’$€£¥₹%()]|^" + _CODES + "|" + _CODES + "$"
DOT_RE = r"^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[-+]?\.\d+$"
COMMA_RE = r"^[-+]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$|^[-+]?,\d+$"
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)?"
_ZONE = r"(?:\s?(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?"
ISO_RE = r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}" + _TIME + _ZONE + "$"
NUMDATE_RE = r"^(\d{1,2})[/.-](\d{1,2})[/.-](?:\d{2}|\d{4})" + _TIME + "$"
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
MONTH_RE = (r"(?i)^(?:\d{1,2}[ \-/]" + _MONTHS + r"[ \-/,]+\d{2,4}|" + _MONTHS
            + r"[ \-/]\d{1,2}(?:st|nd|rd|th)?,?[ \-/]\d{2,4})$")
SERIAL_RE = r"^[2-7]\d{4}(?:\.\d+)?$"
# The null tokens every column is trimmed with, as they are commonly written (the
# match itself ignores case; see nulls.py).
EMPTY_TOKENS = tuple(dict.fromkeys(s for t in COMMON for s in (t, t.upper(), t.title())))
_COMMON = pa.array(COMMON)
# A number or date column's extra tokens, lower and upper case: matched exactly, which
# spares lowering every value of every measure batch.
_TYPED_EXTRA = {kind: pa.array(sorted({s for t in tokens if t not in COMMON
                                       for s in (t, t.upper())}), pa.string())
                for kind, tokens in NULL_TOKENS.items()}

EXCEL_EPOCH_DAYS = 25569  # 1899-12-30 -> 1970-01-01, the serial Excel uses
# The sale dates the warehouse keeps: 1980-01-01 up to (not including) 2100-01-01, 1,440
# monthly partitions. BigQuery partitions dates from 1960-01-01 to 2159-12-31 only (the
# rest would share one __UNPARTITIONED__ partition,
# https://cloud.google.com/bigquery/docs/partitioned-tables#date_timestamp_partitioned_tables);
# one job may modify 4,000 partitions and a column-partitioned table take 30,000
# partition modifications a day (https://cloud.google.com/bigquery/quotas#partitioned_tables):
# 20 uploads a day of a tenant, each spanning the whole range, make 28,800 in its table
# (docs/gcp.md, "Warehouse layout"). A row dated outside is quarantined as
# `date_out_of_range`, never loaded and never silently dropped.
FIRST_DATE, END_DATE = "1980-01-01", "2100-01-01"
MIN_TS = int(datetime.fromisoformat(FIRST_DATE).replace(tzinfo=UTC).timestamp() * 1_000_000)
MAX_TS = int(datetime.fromisoformat(END_DATE).replace(tzinfo=UTC).timestamp() * 1_000_000)
TS_TYPE = pa.timestamp("us", tz="UTC")
AMOUNT_TYPE = pa.decimal128(38, 9)


def trimmed(arr: pa.Array) -> pa.Array:
    """Trim whitespace; the empty tokens (NA, -, NULL, ...) become null."""
    if fastpath.needs_no_trim(arr):
        return arr
    return trimmed_general(arr)


def trimmed_general(arr: pa.Array) -> pa.Array:
    s = pc.utf8_trim_whitespace(arr)
    empty = pc.is_in(pc.utf8_lower(s), value_set=_COMMON)
    return pc.if_else(empty, pa.scalar(None, pa.string()), s)


def typed_nulls(s: pa.Array, kind: str) -> pa.Array:
    """A trimmed column about to be read as `kind` (number | date), with that type's
    extra null tokens (`--`, `?`, ...) made null too, so they count as missing values
    rather than unreadable ones."""
    extra = _TYPED_EXTRA[kind]
    if not len(extra) or s.null_count == len(s):
        return s
    hit = pc.is_in(s, value_set=extra)
    if not pc.any(hit).as_py():
        return s
    return pc.if_else(hit, pa.scalar(None, pa.string()), s)


def present(s: pa.Array) -> pa.Array:
    return pc.fill_null(pc.is_valid(s), False)


def count(mask: pa.Array) -> int:
    return int(pc.sum(pc.fill_null(mask, False)).as_py() or 0)


def number_clean(s: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(s, _STRIP, "")


# ------------------------------------------------------------------------- numbers


def to_number_strings(s: pa.Array, style: str) -> tuple[pa.Array, pa.Array]:
    """Canonical '-1234.5' strings for a trimmed string array in the given decimal
    style ('.' or ','), and the mask of present values that are not numbers."""
    negative = pc.fill_null(pc.match_substring_regex(s, r"^\(.*\)$|^-"), False)
    clean = number_clean(s)
    clean = pc.replace_substring_regex(clean, r"^[-+]", "")
    valid = pc.fill_null(pc.match_substring_regex(clean, DOT_RE if style == "." else COMMA_RE),
                         False)
    if style == ".":
        canon = pc.replace_substring(clean, ",", "")
    else:
        canon = pc.replace_substring(pc.replace_substring(clean, ".", ""), ",", ".")
    canon = pc.if_else(negative, pc.binary_join_element_wise("-", canon, ""), canon)
    canon = pc.if_else(valid, canon, pa.scalar(None, pa.string()))
    invalid = pc.and_(present(s), pc.invert(valid))
    return canon, invalid


def _plain_valid(s: pa.Array, style: str, max_bytes: int = 1 << 30) -> bool:
    """True when every value is a plain dot-decimal number ('-1234.5'): then the
    canonical string of each value is the value itself and none is invalid."""
    if style != ".":
        return False
    plain = fastpath.plain_numbers(s)
    return plain is not None and bool(plain.dot.all()) and plain.max_bytes < max_bytes


def _all_valid(s: pa.Array) -> pa.Array:
    return pa.array(np.zeros(len(s), dtype=bool))


def to_float(s: pa.Array, style: str) -> tuple[pa.Array, pa.Array]:
    if _plain_valid(s, style):
        return pc.cast(s, pa.float64()), _all_valid(s)
    canon, invalid = to_number_strings(s, style)
    values = pc.cast(canon, pa.float64())
    percent = pc.fill_null(pc.match_substring_regex(s, r"%\)?$"), False)
    values = pc.if_else(percent, pc.divide(values, 100.0), values)
    return values, invalid


def to_decimal(s: pa.Array, style: str) -> tuple[pa.Array, pa.Array]:
    if _plain_valid(s, style, max_bytes=30):  # shorter than 30 bytes: never too big
        return pc.cast(s, AMOUNT_TYPE, safe=False), _all_valid(s)
    canon, invalid = to_number_strings(s, style)
    percent = pc.fill_null(pc.match_substring_regex(s, r"%"), False)
    invalid = pc.or_(invalid, percent)
    canon = pc.if_else(percent, pa.scalar(None, pa.string()), canon)
    # Over 29 integer digits does not fit NUMERIC: quarantine instead of failing.
    too_big = pc.fill_null(pc.match_substring_regex(canon, r"^-?\d{30,}"), False)
    invalid = pc.or_(invalid, too_big)
    canon = pc.if_else(too_big, pa.scalar(None, pa.string()), canon)
    return pc.cast(canon, AMOUNT_TYPE, safe=False), invalid


# --------------------------------------------------------------------------- dates


def _strptime_any(s: pa.Array, formats: list[str]) -> pa.Array:
    out = pa.nulls(len(s), pa.timestamp("us"))
    for fmt in formats:
        if out.null_count == 0:
            break
        parsed = pc.strptime(s, format=fmt, unit="us", error_is_null=True)
        out = pc.coalesce(out, parsed)
    return out


def _iso(s: pa.Array) -> pa.Array:
    return _iso_zoned(s)[0]


def _iso_zoned(s: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """The timestamps, and which values carried an offset or a zone (None: none did);
    a value without one is read as if it were UTC, i.e. as its wall-clock time."""
    # The common case: plain ISO dates, one cheap parse.
    if fastpath.plain_iso_dates(s) or pc.all(pc.fill_null(
            pc.match_substring_regex(s, r"^\d{4}-\d{2}-\d{2}$"), True)).as_py():
        return pc.cast(pc.strptime(s, format="%Y-%m-%d", unit="us", error_is_null=True),
                       TS_TYPE), None
    t = pc.replace_substring_regex(s, r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", r"\1-\2-\3")
    t = pc.replace_substring_regex(t, r"^(\d{4})-(\d)-", r"\1-0\2-")
    t = pc.replace_substring_regex(t, r"^(\d{4}-\d{2})-(\d)(\D|$)", r"\1-0\2\3")
    t = pc.replace_substring_regex(t, r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00")
    t = pc.replace_substring_regex(t, r"^(\d{4}-\d{2}-\d{2})[T ](\d):", r"\1T0\2:")
    t = pc.replace_substring_regex(t, r"^(\d{4}-\d{2}-\d{2})[T ]", r"\1T")
    t = pc.replace_substring_regex(t, r"^(\S+T\d{2}:\d{2})(Z|[+-]|\s|$)", r"\1:00\2")
    t = pc.replace_substring_regex(t, r",(\d+)", r".\1")
    t = pc.replace_substring_regex(t, r"\s?UTC$", "Z")
    t = pc.replace_substring_regex(t, r"\s([+-]\d{2})", r"\1")
    t = pc.replace_substring_regex(t, r"([+-]\d{2})(\d{2})$", r"\1:\2")
    t = pc.replace_substring_regex(t, r"(T[\d:.]+[+-]\d{2})$", r"\1:00")
    zoned = pc.fill_null(pc.match_substring_regex(t, r"(?:Z|[+-]\d{2}:\d{2})$"), False)
    t = pc.if_else(zoned, t, pc.binary_join_element_wise(t, "Z", ""))
    ok = pc.fill_null(pc.match_substring_regex(t, r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}"), False)
    t = pc.if_else(ok, t, pa.scalar(None, pa.string()))
    try:
        return pc.cast(t, TS_TYPE), zoned
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _iso_slow(t), zoned


def _iso_slow(t: pa.Array) -> pa.Array:
    """Per-value fallback for a batch holding an impossible date (2023-02-30)."""
    out = []
    for v in t.to_pylist():
        try:
            out.append(datetime.fromisoformat(v).astimezone(UTC) if v else None)
        except ValueError:
            out.append(None)
    return pa.array(out, TS_TYPE)


_CLOCKS = (" %H:%M:%S", " %H:%M", "")


def _numeric(s: pa.Array, order: str) -> pa.Array:
    t = pc.replace_substring_regex(s, r"^(\d{1,2})[.-](\d{1,2})[.-]", r"\1/\2/")
    t = pc.replace_substring_regex(t, r"T", " ")
    t = pc.replace_substring_regex(t, r"[.,]\d+$", "")
    t = pc.replace_substring_regex(t, r"^(\d{1,2}/\d{1,2})/([0-6]\d)($| )", r"\1/20\2\3")
    t = pc.replace_substring_regex(t, r"^(\d{1,2}/\d{1,2})/([7-9]\d)($| )", r"\1/19\2\3")
    day = "%d/%m/%Y" if order == "DMY" else "%m/%d/%Y"
    return pc.cast(_strptime_any(t, [day + c for c in _CLOCKS]), TS_TYPE)


def _month_names(s: pa.Array) -> pa.Array:
    t = pc.utf8_lower(s)
    t = pc.replace_substring_regex(t, r"(\d)(st|nd|rd|th)\b", r"\1")
    t = pc.replace_substring_regex(t, r"[\-/,.]+", " ")
    t = pc.replace_substring_regex(t, r"\s+", " ")
    t = pc.replace_substring_regex(t, r"sept( |$)", r"sep\1")
    # Two-digit years first: %Y would read "24" as the year 24.
    fmts = ["%d %b %y", "%d %B %y", "%b %d %y", "%B %d %y",
            "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y"]
    return pc.cast(_strptime_any(t, fmts), TS_TYPE)


def _serial(s: pa.Array) -> pa.Array:
    ok = pc.fill_null(pc.match_substring_regex(s, SERIAL_RE), False)
    days = pc.cast(pc.if_else(ok, s, pa.scalar(None, pa.string())), pa.float64())
    micros = pc.multiply(pc.subtract(days, float(EXCEL_EPOCH_DAYS)), 86_400_000_000.0)
    return pc.cast(pc.cast(pc.round(micros), pa.int64()), TS_TYPE)


def to_timestamp(s: pa.Array, kind: str, order: str | None = None) -> tuple[pa.Array, pa.Array]:
    """kind: iso | numeric (with order DMY/MDY) | month | serial. Returns UTC
    timestamps (a value without an offset read as UTC) and the mask of present values
    that could not be read."""
    ts, _ = parse_dates(s, kind, order)
    return unreadable(s, ts)


def parse_dates(s: pa.Array, kind: str, order: str | None) -> tuple[pa.Array, pa.Array | None]:
    """The values as timestamps, a value without an offset read as its wall-clock time
    in UTC, and which values carried an offset (None: none did); range not checked."""
    zoned = None
    if kind == "iso":
        ts, zoned = _iso_zoned(s)
    elif kind == "numeric":
        ts = _numeric(s, order or "DMY")
    elif kind == "month":
        ts = _month_names(s)
    elif kind == "serial":
        ts = _serial(s)
    else:
        raise ValueError(kind)
    return ts, zoned


def unreadable(s: pa.Array, ts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """The timestamps, and the present values that could not be read. Dates outside
    the warehouse's range are read, and quarantined apart (`outside_dates`), so the
    report names the reason."""
    invalid = pc.and_(present(s), pc.invert(pc.is_valid(ts)))
    return ts, invalid


def outside_dates(ts: pa.Array) -> pa.Array:
    """The mask of read timestamps outside [MIN_TS, MAX_TS): the rows to quarantine."""
    as_int = pc.cast(ts, pa.int64())
    inside = pc.and_(pc.greater_equal(as_int, MIN_TS), pc.less(as_int, MAX_TS))
    return pc.and_(pc.is_valid(ts), pc.invert(pc.fill_null(inside, True)))
