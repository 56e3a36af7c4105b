"""The business date of each sale: which day it counts on, in the tenant's time zone.

A sale written `2014-05-11T23:30:00-08:00` is a sale of 11 May for a shop in
California; read in UTC it would count on 12 May. The rules, one per value:

- `date_as_written` - a date without a time (`2014-05-11`, `11/05/2014`, a whole Excel
  serial): the business's date as written; its instant is that day's local midnight.
- `local_time` - a timestamp without an offset or zone: the tenant's local time; its
  business date is the date as written, its instant that wall time in the zone.
- `converted` - a timestamp with an offset or zone (`Z`, `UTC`, `-08:00`): the instant
  as written, converted to the tenant's zone to find its business date.

`occurred_at` is always the instant (UTC); `occurred_date`, used for grouping,
partitioning and filtering, is the local date. A wall time that does not exist (in the
spring-forward gap of a daylight-saving change) is taken as the first instant after
the gap, one that happens twice (the autumn fall-back hour) as its first occurrence:
either way its business date is the date as written.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shared.ingest import values as V

RULES = ("date_as_written", "local_time", "converted")
_TIMED = {"iso": r"\d:\d{2}", "numeric": r"\d:\d{2}", "serial": r"\.\d*[1-9]"}


@dataclass
class BusinessTime:
    occurred_at: pa.Array     # timestamp[us, UTC]: the instant
    occurred_date: pa.Array   # date32: the business date in the tenant's zone
    invalid: pa.Array         # present values that could not be read
    rule: pa.Array            # int8 index into RULES per row (null where unread)


def business_time(s: pa.Array, kind: str, order: str | None, zone: str) -> BusinessTime:
    """Read a trimmed date column (settled as `kind`, see settle.py) in `zone`."""
    ts, zoned = V.parse_dates(s, kind, order)
    ts, invalid = V.unreadable(s, ts)
    n = len(s)
    if zoned is None:
        zoned = pa.array(np.zeros(n, dtype=bool))
    pattern = _TIMED.get(kind)
    timed = zoned if pattern is None else pc.or_(
        pc.fill_null(pc.match_substring_regex(s, pattern), False), zoned)
    rule = pc.if_else(zoned, 2, pc.if_else(timed, 1, 0)).cast(pa.int8())
    rule = pc.if_else(pc.is_valid(ts), rule, pa.scalar(None, pa.int8()))
    if zone == "UTC":
        # A wall time read as UTC is the instant already, and its UTC date the local one.
        return BusinessTime(ts, pc.cast(ts, pa.date32()), invalid, rule)
    wall = ts.cast(pa.timestamp("us"))
    instant_of_wall = pc.assume_timezone(wall, timezone=zone, ambiguous="earliest",
                                         nonexistent="latest").cast(V.TS_TYPE)
    local_of_instant = pc.local_timestamp(ts.cast(pa.timestamp("us", tz=zone)))
    occurred_at = pc.if_else(zoned, ts, instant_of_wall)
    local = pc.if_else(zoned, local_of_instant, wall)
    return BusinessTime(occurred_at, pc.cast(local, pa.date32()), invalid, rule)


def rule_counts(rule: pa.Array, keep: pa.Array | None = None) -> dict[str, int]:
    """How many (kept) rows each rule applied to."""
    if keep is not None:
        rule = rule.filter(keep)
    counts = pc.value_counts(rule.drop_null()).to_pylist()
    return {RULES[c["values"]]: int(c["counts"]) for c in counts}
