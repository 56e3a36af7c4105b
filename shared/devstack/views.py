"""`tidemark metrics`, `tidemark forecast` and `tidemark export`: print a view for
scripts, as a table (default), JSON or CSV.

They call the HTTP API with a token, like `tidemark upload`: the same parameters as
`GET /api/metrics`, `/api/predictions` and `/api/metrics/export`, the same answers,
the same checks (role, tenant, validation), against the local stack by default or any
deployment with `--server`. Sign in with `--email/--password` or set TIDEMARK_TOKEN.
Filters are `--filter FIELD=VALUE`, repeated (OR within a field, AND across fields).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMATS = ("table", "json", "csv")
_KPI_COLUMNS = ("kpi", "value", "previous", "change_pct", "year_ago", "yoy_pct")


def add_parsers(sub: Any) -> None:
    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--dataset", required=True, help="dataset id")
        sp.add_argument("--grain", choices=("day", "week", "month"))
        sp.add_argument("--filter", action="append", default=[], metavar="FIELD=VALUE",
                        help="filter by a text field (repeat for several values)")
        sp.add_argument("--server", default=None, help="API base URL (default: local stack)")
        sp.add_argument("--email")
        sp.add_argument("--password")

    def view(sp: argparse.ArgumentParser) -> None:
        common(sp)
        sp.add_argument("--start", help="first day, YYYY-MM-DD")
        sp.add_argument("--end", help="last day, YYYY-MM-DD")
        sp.add_argument("--top", type=int)
        sp.add_argument("--measure", help="a field, business or calculated measure")
        sp.add_argument("--agg", choices=("sum", "avg", "min", "max", "count",
                                          "count_distinct"))
        sp.add_argument("--breakdown", help="a text field to break the view down by")

    m = sub.add_parser("metrics", help="print a metrics view (KPIs, series, breakdowns)")
    view(m)
    m.add_argument("--part", choices=("kpis", "series", "breakdowns"), default="kpis",
                   help="what a table or CSV shows (JSON prints the whole view)")
    m.add_argument("--format", choices=FORMATS, default="table")
    m.set_defaults(func=metrics_command)

    e = sub.add_parser("export", help="the CSV export of a view (series or breakdowns)")
    view(e)
    e.add_argument("--part", choices=("series", "breakdowns"), default="series")
    e.add_argument("--format", choices=FORMATS, default="csv")
    e.set_defaults(func=export_command)

    f = sub.add_parser("forecast", help="print a forecast with its intervals")
    common(f)
    f.add_argument("--measure", default="revenue")
    f.add_argument("--horizon", type=int)
    f.add_argument("--format", choices=FORMATS, default="table")
    f.set_defaults(func=forecast_command)


def query(args: argparse.Namespace, keys: Sequence[str]) -> list[tuple[str, str]]:
    """The API's query string from the options: controls once, filters repeated."""
    out = [("dataset", args.dataset)]
    for key in keys:
        value = getattr(args, key, None)
        if value is not None:
            out.append((key, str(value)))
    for item in args.filter:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--filter takes FIELD=VALUE, not {item!r}")
        out.append((name, value))
    return out


def _get(args: argparse.Namespace, path: str, params: list[tuple[str, str]]) -> Any:
    import requests

    from shared.devstack.upload import _error_text, _token
    from shared.settings import Settings

    server = (args.server or Settings().base_url).rstrip("/")
    session = requests.Session()
    token = _token(session, server, args)
    if not token:
        raise RuntimeError("give --email and --password, or set TIDEMARK_TOKEN")
    session.headers["Authorization"] = f"Bearer {token}"
    resp = session.get(server + path, params=params, timeout=120)
    if resp.status_code != 200:
        raise RuntimeError(_error_text(resp))
    return resp


def _run(args: argparse.Namespace, work: Any) -> int:
    import requests

    try:
        print(work(), end="")
        return 0
    except (RuntimeError, ValueError, requests.RequestException) as exc:
        print(f"tidemark {args.command}: {exc}", file=sys.stderr)
        return 1


def metrics_command(args: argparse.Namespace) -> int:
    keys = ("start", "end", "grain", "top", "measure", "agg", "breakdown")
    return _run(args, lambda: render_view(
        _get(args, "/api/metrics", query(args, keys)).json(), args.part, args.format))


def export_command(args: argparse.Namespace) -> int:
    keys = ("start", "end", "grain", "top", "measure", "agg", "breakdown")

    def work() -> str:
        params = [*query(args, keys), ("format", "csv"), ("part", args.part)]
        text = _get(args, "/api/metrics/export", params).text
        if args.format == "csv":
            return text
        rows = list(csv.DictReader(io.StringIO(text)))
        return json.dumps(rows, indent=2) + "\n" if args.format == "json" else \
            table(rows, list(rows[0]) if rows else [])
    return _run(args, work)


def forecast_command(args: argparse.Namespace) -> int:
    def work() -> str:
        body = _get(args, "/api/predictions",
                    query(args, ("measure", "grain", "horizon"))).json()
        if args.format == "json":
            return json.dumps(body, indent=2) + "\n"
        points = body.get("forecast") or body.get("points") or []
        cols = list(points[0]) if points else []
        return table(points, cols) if args.format == "table" else to_csv(points, cols)
    return _run(args, work)


def rows_of(view: Mapping[str, Any], part: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows and columns a table or CSV shows for one part of a metrics view."""
    if part == "kpis":
        rows = [{"kpi": name, **kpi} for name, kpi in (view.get("kpis") or {}).items()
                if isinstance(kpi, Mapping)]
        return rows, list(_KPI_COLUMNS)
    if part == "series":
        rows = list(view.get("series") or [])
        return rows, list(rows[0]) if rows else ["period"]
    rows = []
    brk = view.get("breakdowns") or {}
    field = view.get("breakdown")
    groups: Iterable[tuple[str, Any]] = (
        [(field["field"], field["items"])] if field else
        [(k, v) for k, v in brk.items() if k != "concentration"])
    for name, items in groups:
        rows += [{"dimension": name, **item} for item in items]
    cols = ["dimension", "rank", "value", "revenue", "share", "growth_pct"]
    if any("measure" in r for r in rows):
        cols.append("measure")
    return rows, cols


def render_view(view: Mapping[str, Any], part: str, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(view, indent=2) + "\n"
    rows, cols = rows_of(view, part)
    return table(rows, cols) if fmt == "table" else to_csv(rows, cols)


def table(rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> str:
    from tabulate import tabulate

    return tabulate([[r.get(c) for c in cols] for r in rows], headers=list(cols),
                    floatfmt=",.4g", missingval="") + "\n"


def to_csv(rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in cols])
    return buf.getvalue()
