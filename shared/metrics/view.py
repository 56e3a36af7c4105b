"""What a metrics request asks for: validation of the query string, defaults, and the
three comparison periods (current, previous of equal length, same period a year ago).

Every user-supplied name is checked against the canonical schema here, before any
SQL is built; values only ever travel as query parameters.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from shared import errors
from shared.calendars import Calendar
from shared.web import query_params as qp

GRAINS = ("day", "week", "month", "quarter", "year")
DEFAULT_TOP = 10
MAX_TOP = 100
DEFAULT_WINDOW_DAYS = 90
MAX_SERIES_POINTS = 5000
_CONTROL_KEYS = ("dataset", "start", "end", "grain", "top", "measure", "agg", "breakdown")
MAX_NAME = 200


@dataclass(frozen=True)
class ViewRequest:
    """A validated request; None means "use the default"."""

    dataset_id: str
    start: date | None = None
    end: date | None = None
    grain: str | None = None
    top: int | None = None
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Any field of the catalog (checked against it by the service, not here).
    measure: str | None = None
    agg: str | None = None
    breakdown: str | None = None
    field_filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        """The view the metrics task precomputes: whole dataset, default everything."""
        return (self.start is None and self.end is None and not self.filters
                and self.measure is None and self.breakdown is None
                and not self.field_filters
                and self.grain in (None, default_grain(DEFAULT_WINDOW_DAYS))
                and self.top in (None, DEFAULT_TOP))

    def canonical(self) -> dict[str, Any]:
        return {"start": _iso(self.start), "end": _iso(self.end), "grain": self.grain,
                "top": self.top,
                "filters": {k: sorted(v) for k, v in sorted(self.filters.items())},
                "measure": self.measure, "agg": self.agg, "breakdown": self.breakdown,
                "field_filters": {k: sorted(v) for k, v in sorted(self.field_filters.items())}}

    def cache_key(self, version: int, calendar: Calendar | None = None) -> str:
        """Per dataset version and calendar: a new week start or fiscal year changes
        every period, with no new version of the data."""
        raw = json.dumps({"dataset": self.dataset_id, "version": version,
                          "view": self.canonical(),
                          "calendar": (calendar or Calendar()).describe()},
                         sort_keys=True, separators=(",", ":"))
        return "metrics-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Periods:
    """Inclusive date ranges. `previous` has the same length and ends the day before
    `start`; `year_ago` is the same period a year earlier on the tenant's calendar:
    the same dates (29 February maps to 28 February), or on a retail calendar the same
    weeks of the previous retail year (shared.calendars)."""

    start: date
    end: date
    prev_start: date
    prev_end: date
    ya_start: date
    ya_end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def default_grain(days: int) -> str:
    if days <= 92:
        return "day"
    if days <= 731:
        return "week"
    return "month"


def year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def periods(start: date, end: date, calendar: Calendar | None = None) -> Periods:
    length = (end - start).days + 1
    prev_end = start - timedelta(days=1)
    ya_start, ya_end = (calendar or Calendar()).year_ago(start, end)
    return Periods(start, end, prev_end - timedelta(days=length - 1), prev_end,
                   ya_start, ya_end)


def resolve_range(req: ViewRequest, first: date | None, last: date | None
                  ) -> tuple[date, date] | None:
    """The date range a request covers, given the dataset's first and last dates.
    Defaults: the last 90 days that have data (never before the first day of data);
    with only `start`, up to the last day of data; with only `end`, the 90 days to it.
    None when the dataset is empty and no explicit range was given."""
    end = req.end or last
    if end is None:
        return None
    start = req.start
    if start is None:
        start = end - timedelta(days=DEFAULT_WINDOW_DAYS - 1)
        if first is not None and req.end is None and first > start:
            start = first
    if start > end:
        if req.start is not None and req.end is None:
            end = start  # only start given and it lies after the data: an empty view
        else:
            raise errors.InvalidInput("start must not be after end", code="invalid_range",
                                      details={"field": "start", "start": start.isoformat(),
                                               "end": end.isoformat()})
    return start, end


def parse_request(args: Mapping[str, Any] | Any) -> ViewRequest:
    """Validate a query string (a werkzeug MultiDict or a plain mapping of lists)."""
    multi = qp.as_lists(args)
    qp.single_controls(multi, _CONTROL_KEYS)
    dataset = qp.dataset_id(multi)
    start, end = _date(multi, "start"), _date(multi, "end")
    if start and end and start > end:
        raise errors.InvalidInput("start must not be after end", code="invalid_range",
                                  details={"field": "start", "start": start.isoformat(),
                                           "end": end.isoformat()})
    grain = qp.one(multi, "grain")
    if grain is not None and grain not in GRAINS:
        raise qp.bad("grain", f"'grain' must be one of {', '.join(GRAINS)}", "invalid_parameter",
                   allowed=list(GRAINS))
    top = _top(multi)
    from shared.metrics.selection import split_filters

    canonical, others = split_filters(multi, _CONTROL_KEYS)
    filters = qp.dimension_filters(canonical, _CONTROL_KEYS)
    if start and end:
        check_points(start, end, grain or default_grain((end - start).days + 1))
    names = {k: qp.one(multi, k) for k in ("measure", "agg", "breakdown")}
    for key, value in names.items():
        if value is not None and len(value) > MAX_NAME:
            raise qp.bad(key, f"'{key}' is longer than {MAX_NAME} characters",
                         "invalid_parameter")
    return ViewRequest(dataset, start, end, grain, top, filters, names["measure"],
                       names["agg"], names["breakdown"], others)


def check_points(start: date, end: date, grain: str) -> None:
    days = (end - start).days + 1
    points = {"day": days, "week": days // 7 + 2, "month": days // 28 + 2,
              "quarter": days // 84 + 2, "year": days // 364 + 2}[grain]
    if points > MAX_SERIES_POINTS:
        raise qp.bad("grain", f"the range is too long for grain '{grain}'", "range_too_long",
                   limit_points=MAX_SERIES_POINTS)


def _date(multi: Mapping[str, Sequence[str]], key: str) -> date | None:
    raw = qp.one(multi, key)
    if raw is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise qp.bad(key, f"'{key}' must be a date as YYYY-MM-DD", "invalid_date",
                   value=raw[:40]) from None


def _top(multi: Mapping[str, Sequence[str]]) -> int | None:
    raw = qp.one(multi, "top")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_TOP:
        raise qp.bad("top", f"'top' must be an integer from 1 to {MAX_TOP}", "invalid_parameter")
    return int(raw)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None
