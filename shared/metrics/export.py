"""CSV export of a view's series and breakdowns."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from shared import errors
from shared.csvcells import cell
from shared.schema import DIMENSIONS

PARTS = ("series", "breakdowns")
FORMATS = ("csv",)
# `label` names the period on the tenant's calendar (FY2025 Q1, Week of 2024-07-07).
SERIES_COLUMNS = ("period", "label", "revenue", "orders", "units", "customers")
BREAKDOWN_COLUMNS = ("dimension", "rank", "value", "revenue", "share", "growth_pct",
                     "previous_rank")


def parse_export_args(args: Any) -> tuple[str, str, dict[str, list[str]]]:
    """Split `format` and `part` off the query string; the rest is the view."""
    multi = {k: list(v) for k, v in args.lists()} if hasattr(args, "lists") else {
        k: (list(v) if isinstance(v, list | tuple) else [v]) for k, v in dict(args).items()}
    fmt = (multi.pop("format", None) or ["csv"])[0]
    part = (multi.pop("part", None) or ["series"])[0]
    if fmt not in FORMATS:
        raise errors.InvalidInput("'format' must be csv", code="invalid_parameter",
                                  details={"field": "format", "allowed": list(FORMATS)})
    if part not in PARTS:
        raise errors.InvalidInput(f"'part' must be one of {', '.join(PARTS)}",
                                  code="invalid_parameter",
                                  details={"field": "part", "allowed": list(PARTS)})
    return fmt, part, multi


def to_csv(view: Mapping[str, Any], part: str) -> str:
    """With a measure (or a profit column) the series gains `value` / `margin` and the
    breakdowns `measure` / `margin` columns, and a breakdown by another field adds its
    rows (dimension = the field's name)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    if part == "series":
        points = view.get("series") or []
        cols = SERIES_COLUMNS + tuple(c for c in ("value", "margin")
                                      if points and c in points[0])
        w.writerow(cols)
        for point in points:
            w.writerow([cell(point.get(c)) for c in cols])
    else:
        brk = view.get("breakdowns") or {}
        groups = [(dim, brk.get(dim) or []) for dim in DIMENSIONS]
        field = view.get("breakdown")
        if field:
            groups.append((field["field"], field["items"]))
        items = [i for _, g in groups for i in g]
        cols = BREAKDOWN_COLUMNS + tuple(c for c in ("measure", "margin")
                                         if any(c in i for i in items))
        w.writerow(cols)
        for dim, group in groups:
            for item in group:
                w.writerow([cell(dim)] + [cell(item.get(c)) for c in cols[1:]])
    return buf.getvalue()


def filename(view: Mapping[str, Any], part: str) -> str:
    rng = view.get("range") or {}
    stem = "-".join(str(x) for x in (view.get("dataset"), part, rng.get("start"),
                                     rng.get("end")) if x)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stem)
    return f"{safe}.csv"
