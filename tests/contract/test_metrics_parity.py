"""The metric SQL agrees on DuckDB and on BigQuery (the emulator): every query of
shared.metrics, the full view computation and the forecast history, run over the same
canonical rows (the Superstore orders plus a few edge lines) loaded into both
warehouses through the Warehouse port, compared number by number (and type by type).

The BigQuery semantics the SQL relies on, and DuckDB (through shared.adapters.local.sql) must match:
DATE_TRUNC(d, ISOWEEK) starts weeks on Monday, DATE_TRUNC(d, WEEK(SUNDAY)) on Sunday;
DATE_SUB / DATE_ADD of @n MONTH around DATE_TRUNC(.., QUARTER | YEAR) give fiscal
periods; `/` on INT64 yields FLOAT64; ascending
ORDER BY puts NULLs first; COUNT(DISTINCT) is exact; SUM over NUMERIC stays NUMERIC."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.support.metrics_data import SUPERSTORE, canonical_table, superstore_frame

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

TABLE = "business_data"
DATASET = "superstore"
REL = 1e-6
EXTRA = ("Profit", "Discount", "Segment", "Ship Date", "State")
# Lines the Superstore file lacks: no order id, no customer, no dimensions, a refund,
# and the leap day (2016-02-29 also has Superstore orders).
EDGES = pd.DataFrame({
    "occurred_date": [date(2016, 2, 29), date(2016, 2, 29), date(2017, 12, 31),
                      date(2017, 1, 2), date(2016, 2, 28)],
    "amount": [12.5, -40.0, 99.99, None, 7.25],
    "quantity": [1.0, -2.0, 3.0, 4.0, None],
    "order_id": [None, None, "EDGE-1", "EDGE-2", "EDGE-1"],
    "customer": [None, "EDGE-CUST", "EDGE-CUST", None, "EDGE-CUST"],
    "region": ["West", "East", None, "Central", "West"],
    "category": [None, "Technology", "Technology", None, "Furniture"],
})


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def loaded(request, tmp_path_factory):
    """{"local": warehouse, "gcp": warehouse} holding the same rows of one tenant."""
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse
    from tests.contract import backends

    tmp = tmp_path_factory.mktemp("parity")
    tenant = f"t_{uuid.uuid4().hex[:10]}"
    frame = pd.concat([superstore_frame(), EDGES], ignore_index=True)
    raw = pd.read_parquet(SUPERSTORE)
    for col in EXTRA:  # the Superstore columns without a role, kept in `extra`
        frame[col] = pd.concat([raw[col], pd.Series([None] * len(EDGES))],
                               ignore_index=True)
    frame.loc[len(frame) - 1, "Profit"] = "n/a"  # a value that does not read as a number
    path = tmp / "rows.parquet"
    pq.write_table(canonical_table(frame, tenant, DATASET, extra=EXTRA), path)

    local = DuckDbWarehouse(tmp / "warehouse.duckdb")
    request.addfinalizer(local.close)
    gcp = backends.gcp_warehouse(request)
    out = {"local": local, "gcp": gcp}
    for wh in out.values():
        wh.ensure_table(TABLE)
        result = wh.load_parquet(TABLE, str(path), idempotency_key=f"parity-{tenant}")
        assert result.rows_loaded == len(frame)
    return SimpleNamespace(tenant=tenant, rows=len(frame), frame=frame, **out)


def both(loaded, q: tuple[str, dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    sql, params = q
    return (loaded.local.query(sql, params, timeout_s=120),
            loaded.gcp.query(sql, params, timeout_s=120))


# ------------------------------------------------------------------ comparison


def norm(value: Any) -> Any:
    """Warehouse values in one vocabulary: NUMERIC (Decimal) and FLOAT64 as float,
    DATE/TIMESTAMP as ISO dates, containers recursively."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal | int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [norm(v) for v in value]
    return value


def assert_same(local: Any, gcp: Any, path: str = "$") -> None:
    """Identical structure and keys; numbers equal to REL relative (absolute near 0)."""
    local, gcp = norm(local), norm(gcp)
    if isinstance(local, dict):
        assert isinstance(gcp, dict), f"{path}: {gcp!r} is not an object"
        assert sorted(local) == sorted(gcp), f"{path}: keys differ"
        for k in local:
            assert_same(local[k], gcp[k], f"{path}.{k}")
    elif isinstance(local, list):
        assert isinstance(gcp, list), f"{path}: {gcp!r} is not a list"
        assert len(local) == len(gcp), f"{path}: {len(local)} vs {len(gcp)} items"
        for i, (a, b) in enumerate(zip(local, gcp, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(local, float) and isinstance(gcp, float):
        assert math.isclose(local, gcp, rel_tol=REL, abs_tol=1e-9), \
            f"{path}: duckdb {local!r} != bigquery {gcp!r}"
    else:
        assert local == gcp, f"{path}: duckdb {local!r} != bigquery {gcp!r}"


def sorted_rows(rows: list[dict], *keys: str) -> list[dict]:
    return sorted(rows, key=lambda r: tuple((r[k] is None, norm(r[k]) or "") for k in keys))


def kinds(rows: list[dict]) -> list[dict[str, str]]:
    """The Python type of every non-NULL value: a COUNT must stay an int and a NUMERIC
    sum a Decimal on both (the JSON and the arithmetic downstream depend on it)."""
    return [{k: type(v).__name__ for k, v in r.items() if v is not None} for r in rows]


def assert_same_rows(local: list[dict], gcp: list[dict], *keys: str) -> None:
    if keys:
        local, gcp = sorted_rows(local, *keys), sorted_rows(gcp, *keys)
    assert_same(local, gcp)
    assert kinds(local) == kinds(gcp)


# ------------------------------------------------------------------ the queries


def test_both_warehouses_hold_the_same_rows(loaded):
    from shared.metrics import queries

    local, gcp = both(loaded, queries.bounds(loaded.tenant, DATASET))
    assert_same_rows(local, gcp)
    assert norm(local) == [{"first_date": "2014-01-03", "last_date": "2017-12-31",
                            "line_count": float(loaded.rows)}]


RANGES = {
    "quarter": {"current": (date(2017, 10, 2), date(2017, 12, 31)),
                "previous": (date(2017, 7, 3), date(2017, 10, 1)),
                "year_ago": (date(2016, 10, 2), date(2016, 12, 31))},
    "leap_february": {"current": (date(2016, 2, 1), date(2016, 2, 29)),
                      "previous": (date(2016, 1, 3), date(2016, 1, 31)),
                      "year_ago": (date(2015, 2, 1), date(2015, 2, 28))},
}
FILTERS = {"none": {}, "west": {"region": ["West"]},
           "two_categories": {"category": ["Technology", "Furniture"], "region": ["East"]}}


@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
@pytest.mark.parametrize("ranges", RANGES.values(), ids=RANGES.keys())
def test_kpis_agree(loaded, ranges, filters):
    from shared.metrics import queries

    local, gcp = both(loaded, queries.kpis(loaded.tenant, DATASET, filters, ranges))
    assert len(local) == 1
    assert local[0]["lines_current"] > 0  # the range holds data: the test compares figures
    assert_same_rows(local, gcp)


@pytest.mark.parametrize("grain", ["day", "week", "month"])
@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
def test_series_agree(loaded, grain, filters):
    from shared.metrics import queries

    q = queries.series(loaded.tenant, DATASET, filters, grain, date(2015, 12, 30),
                       date(2016, 3, 31))
    local, gcp = both(loaded, q)
    assert local, "the range holds data"
    assert_same_rows(local, gcp, "bucket")
    if grain == "week":  # ISO weeks start on Monday on both
        assert all(date.fromisoformat(r["bucket"]).weekday() == 0 for r in norm(gcp))


@pytest.mark.parametrize("filters", FILTERS.values(), ids=FILTERS.keys())
@pytest.mark.parametrize("top", [3, 10])
def test_breakdowns_agree(loaded, filters, top):
    from shared.metrics import queries

    q = queries.breakdowns(loaded.tenant, DATASET, filters,
                           (date(2017, 10, 2), date(2017, 12, 31)), date(2017, 7, 3), top)
    local, gcp = both(loaded, q)
    assert local, "the range holds data"
    assert_same_rows(local, gcp, "dimension", "item")


CALENDARS = {
    "sunday_weeks": {"week_start": "sunday"},
    "july_fiscal": {"fiscal_year_start_month": 7},
    "april_fiscal_sunday": {"fiscal_year_start_month": 4, "week_start": "sunday"},
    "nrf_445": {"fiscal_year_start_month": 2, "week_start": "sunday",
                "retail_calendar": "4-4-5"},
    "monday_544": {"fiscal_year_start_month": 1, "retail_calendar": "5-4-4"},
}


@pytest.mark.parametrize("grain", ["week", "month", "quarter", "year"])
@pytest.mark.parametrize("settings", CALENDARS.values(), ids=CALENDARS.keys())
def test_calendar_grains_agree_and_start_their_periods(loaded, grain, settings):
    """Each grain on the tenant's calendar: the same buckets and figures on both, and
    every bucket is the start of its period by shared.calendars."""
    from shared.calendars import Calendar
    from shared.metrics import queries

    cal = Calendar.of(settings)
    q = queries.series(loaded.tenant, DATASET, {}, grain, date(2014, 1, 1),
                       date(2017, 12, 31), calendar=cal)
    local, gcp = both(loaded, q)
    assert local, "the range holds data"
    assert_same_rows(local, gcp, "bucket")
    for row in norm(gcp):
        start = date.fromisoformat(row["bucket"])
        assert cal.bucket(start, grain) == start, (grain, start)


# ------------------------------------------------------------------ the views


VIEWS = {
    "default": {},
    "west": {"region": "West"},
    "week_grain": {"start": "2017-01-01", "end": "2017-06-30", "grain": "week"},
    "leap_february": {"start": "2016-02-01", "end": "2016-02-29"},
    "month_grain_filtered": {"start": "2015-01-01", "end": "2016-12-31", "grain": "month",
                             "category": ["Technology", "Office Supplies"], "top": "5"},
    "empty_range": {"start": "2013-01-01", "end": "2013-01-31"},
    "fiscal_quarters": {"start": "2015-07-01", "end": "2017-06-30", "grain": "quarter"},
}


@pytest.mark.parametrize("args", VIEWS.values(), ids=VIEWS.keys())
def test_views_agree(loaded, args):
    from shared.metrics.compute import compute_view
    from shared.metrics.view import parse_request

    req = parse_request({"dataset": DATASET, **args})
    local = compute_view(loaded.local, loaded.tenant, req, version=1)
    gcp = compute_view(loaded.gcp, loaded.tenant, req, version=1, parallel=True)
    for view in (local, gcp):
        view.pop("computed_at")
    assert local["series"], "the view has a series"
    assert_same(local, gcp)


@pytest.mark.parametrize("settings", [CALENDARS["july_fiscal"], CALENDARS["nrf_445"]],
                         ids=["july_fiscal", "nrf_445"])
def test_views_on_a_fiscal_calendar_agree(loaded, settings):
    from shared.calendars import Calendar
    from shared.metrics.compute import compute_view
    from shared.metrics.view import parse_request

    cal = Calendar.of(settings)
    req = parse_request({"dataset": DATASET, "start": "2016-01-31", "end": "2017-06-30",
                         "grain": "quarter"})
    local = compute_view(loaded.local, loaded.tenant, req, version=1, calendar=cal)
    gcp = compute_view(loaded.gcp, loaded.tenant, req, version=1, parallel=True,
                       calendar=cal)
    for view in (local, gcp):
        view.pop("computed_at")
    assert local["calendar"] == cal.describe()
    assert all(p["label"].startswith("FY") for p in local["series"])
    assert_same(local, gcp)


# ------------------------------------------------------------------ forecast history


HISTORIES = {
    "revenue_week": {"dataset": DATASET},
    "orders_month": {"dataset": DATASET, "measure": "orders", "grain": "month"},
    "customers_day_west": {"dataset": DATASET, "measure": "customers", "grain": "day",
                           "region": "West"},
    "units_week_technology": {"dataset": DATASET, "measure": "units",
                              "category": "Technology"},
}


@pytest.mark.parametrize("args", HISTORIES.values(), ids=HISTORIES.keys())
def test_forecast_history_agrees(loaded, args):
    from shared.forecast import history
    from shared.forecast.request import parse

    req = parse(args)
    local = history.load(SimpleNamespace(warehouse=loaded.local), loaded.tenant, req)
    gcp = history.load(SimpleNamespace(warehouse=loaded.gcp), loaded.tenant, req)
    assert len(local) > 10
    assert_same(local, gcp)


def test_parameters_are_values_not_sql_on_both(loaded):
    """A filter value that looks like SQL matches nothing and breaks nothing."""
    from shared.metrics import queries

    evil = {"region": ["West' OR '1'='1", "x); DROP TABLE business_data; --"]}
    local, gcp = both(loaded, queries.series(loaded.tenant, DATASET, evil, "month",
                                             date(2014, 1, 1), date(2017, 12, 31)))
    assert local == [] and gcp == []


def test_parquet_rows_round_trip_identically(loaded):
    """The canonical columns read back the same from both (types included)."""
    sql = ("SELECT row_number, occurred_date, amount, quantity, order_id, customer "
           "FROM {business_data} WHERE tenant_id = @t AND dataset_id = @d "
           "AND row_number > @n ORDER BY row_number")
    params = {"t": loaded.tenant, "d": DATASET, "n": loaded.rows - len(EDGES) - 2}
    local, gcp = both(loaded, (sql, params))
    assert len(local) == len(EDGES) + 2
    assert_same_rows(local, gcp)


# ------------------------------------------------------------------ any field


def catalog():
    """The catalog of the loaded rows (as the ingest reports would give it)."""
    from shared.metrics.catalog import Catalog
    from shared.metrics.fields import CANONICAL

    fields = [{"name": n, "type": t, "role": r, "canonical": True, "unit": u}
              for n, (t, r, u) in CANONICAL.items()]
    fields += [{"name": "Profit", "type": "number", "role": "measure", "canonical": False,
                "unit": "currency"},
               {"name": "Discount", "type": "number", "role": "measure", "canonical": False,
                "unit": "percent"},
               {"name": "Segment", "type": "text", "role": "dimension", "canonical": False},
               {"name": "State", "type": "text", "role": "dimension", "canonical": False}]
    return Catalog(DATASET, 1, {"fields": fields, "aliases": {}, "profit_field": "Profit",
                                "discount_field": "Discount", "has_quantity": True,
                                "has_orders": True})


SELECTIONS = {
    "avg_discount_by_segment": ("Discount", "avg", "Segment", {}),
    "profit_sum_in_texas": ("Profit", "sum", "Segment", {"State": ("Texas",)}),
    "margin": ("margin", None, "State", {}),
    "distinct_states": ("State", "count_distinct", None, {"Segment": ("Consumer",)}),
    "units_per_order": ("units_per_order", None, None, {}),
}


def selection(args):
    from shared.metrics import selection as s

    measure, agg, breakdown, field_filters = args
    return s.build(catalog(), [], measure, agg, breakdown, field_filters)


@pytest.mark.parametrize("args", SELECTIONS.values(), ids=SELECTIONS.keys())
def test_any_field_queries_agree(loaded, args):
    from shared.metrics import queries

    sel = selection(args)
    local, gcp = both(loaded, queries.kpis(loaded.tenant, DATASET, {},
                                           RANGES["quarter"], sel))
    assert local[0]["m_m_current"] is not None
    assert_same_rows(local, gcp)
    local, gcp = both(loaded, queries.series(loaded.tenant, DATASET,
                                             {"region": ["Central"]}, "month",
                                             date(2015, 1, 1), date(2016, 12, 31), sel))
    assert local and any(r["m_m"] is not None for r in local)
    assert_same_rows(local, gcp, "bucket")
    local, gcp = both(loaded, queries.breakdowns(loaded.tenant, DATASET, {},
                                                 (date(2017, 10, 2), date(2017, 12, 31)),
                                                 date(2017, 7, 3), 5, sel=sel))
    assert_same_rows(local, gcp, "dimension", "item")


@pytest.mark.parametrize("args", SELECTIONS.values(), ids=SELECTIONS.keys())
def test_any_field_views_agree(loaded, args):
    from shared.metrics.compute import compute_view
    from shared.metrics.view import parse_request

    req = parse_request({"dataset": DATASET, "start": "2017-01-01", "end": "2017-06-30"})
    sel = selection(args)
    local = compute_view(loaded.local, loaded.tenant, req, version=1, sel=sel)
    gcp = compute_view(loaded.gcp, loaded.tenant, req, version=1, parallel=True, sel=sel)
    for view in (local, gcp):
        view.pop("computed_at")
    assert local["kpis"]["measure"]["value"] is not None
    assert_same(local, gcp)


def test_a_non_numeric_value_is_left_out_on_both(loaded):
    """The edge line's Profit "n/a" is NULL to SUM and counted apart, on both."""
    from shared.metrics.catalog import _warehouse_figures

    entries = [dict(f) for f in catalog().doc["fields"]]
    figures = {}
    for name in ("local", "gcp"):
        copy = [dict(e) for e in entries]
        _warehouse_figures(SimpleNamespace(warehouse=getattr(loaded, name)), loaded.tenant,
                           DATASET, copy)
        figures[name] = {e["name"]: e for e in copy}
    for name in ("local", "gcp"):
        assert figures[name]["Profit"]["non_numeric_count"] == 1
        assert figures[name]["Segment"]["examples"] == ["Consumer", "Corporate",
                                                        "Home Office"]
    for field in ("Segment", "State", "region"):
        a, b = (figures[n][field]["distinct_estimate"] for n in ("local", "gcp"))
        assert abs(a - b) <= max(1, 0.05 * b), field  # approximate on both
