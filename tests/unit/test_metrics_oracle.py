"""Every figure of a metrics view checked against an independent pandas computation on
the Superstore orders (9,994 lines, 2014-2017), loaded through the local warehouse."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from shared.metrics.view import DEFAULT_WINDOW_DAYS
from tests.support.metrics_data import load_frame, superstore_frame

TENANT = "t_oracle"
DATASET = "superstore"
REL = 1e-9


@pytest.fixture(scope="module")
def superstore(tmp_path_factory):
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import Deps, override
    from shared.settings import Settings

    tmp = tmp_path_factory.mktemp("oracle")
    clear_key_cache()
    deps = Deps(Settings(backend="local", data_dir=tmp / "data",
                         public_url="http://127.0.0.1:9"))
    frame = superstore_frame()
    with override(deps):
        version = load_frame(deps, frame, tmp, tenant_id=TENANT, dataset_id=DATASET)
        yield deps, frame, version


def view(superstore, **args):
    from shared.metrics.compute import compute_view
    from shared.metrics.view import parse_request

    deps, _, version = superstore
    return compute_view(deps.warehouse, TENANT, parse_request({"dataset": DATASET, **args}),
                        version=version)


# ------------------------------------------------------------------ the oracle


def select(frame, start, end, filters):
    d = frame["occurred_date"]
    mask = (d >= start) & (d <= end)
    for dim, values in filters.items():
        mask &= frame[dim].isin(values)
    return frame[mask]


def filtered(frame, filters):
    return select(frame, date.min, date.max, filters)


def oracle_kpis(frame, start, end, filters):
    sub = select(frame, start, end, filters)
    history = select(frame, date.min, end, filters)
    firsts = history.groupby("customer")["occurred_date"].min()
    buyers = set(sub["customer"].dropna())
    new = sum(1 for c in buyers if firsts[c] >= start)
    revenue = float(sub["amount"].sum())
    orders = int(sub["order_id"].nunique() + sub["order_id"].isna().sum())
    customers = len(buyers)
    return {"revenue": revenue, "orders": orders, "units": float(sub["quantity"].sum()),
            "aov": revenue / orders if orders else None, "customers": customers,
            "new_customers": new, "returning_customers": customers - new,
            "revenue_per_customer": revenue / customers if customers else None}


def shifted(start, end):
    """Previous period of equal length and the same dates a year ago, by pandas."""
    length = pd.Timestamp(end) - pd.Timestamp(start) + pd.Timedelta(days=1)
    prev_end = pd.Timestamp(start) - pd.Timedelta(days=1)
    prev = ((prev_end - length + pd.Timedelta(days=1)).date(), prev_end.date())
    year = ((pd.Timestamp(start) - pd.DateOffset(years=1)).date(),
            (pd.Timestamp(end) - pd.DateOffset(years=1)).date())
    return prev, year


def change(a, b):
    return None if a is None or b in (None, 0) else (a - b) / abs(b) * 100


def oracle_series(frame, start, end, grain, filters):
    sub = select(frame, start, end, filters).copy()
    ts = pd.to_datetime(sub["occurred_date"])
    freq = {"day": "D", "week": "W-SUN", "month": "M"}[grain]
    sub["period"] = ts.dt.to_period(freq).dt.start_time.dt.date
    g = sub.groupby("period")
    out = pd.DataFrame({
        "revenue": g["amount"].sum(),
        "orders": g["order_id"].nunique() + g["order_id"].apply(lambda s: s.isna().sum()),
        "units": g["quantity"].sum(), "customers": g["customer"].nunique()})
    spine = pd.period_range(pd.Timestamp(start), pd.Timestamp(end), freq=freq)
    return out.reindex([p.start_time.date() for p in spine], fill_value=0)


def oracle_breakdown(frame, start, end, dim, filters, top):
    (ps, pe), _ = shifted(start, end)
    cur = select(frame, start, end, filters).groupby(dim)["amount"].sum().round(4)
    prev = select(frame, ps, pe, filters).groupby(dim)["amount"].sum().round(4)
    total = float(select(frame, start, end, filters)["amount"].sum())
    ranked = sorted(cur.items(), key=lambda kv: (-kv[1], kv[0]))
    prev_rank = {v: i + 1 for i, (v, _) in
                 enumerate(sorted(prev.items(), key=lambda kv: (-kv[1], kv[0])))}
    rows = []
    for i, (value, revenue) in enumerate(ranked[:top]):
        p = prev.get(value)
        rows.append({"value": value, "revenue": revenue, "share": revenue / total,
                     "growth_pct": change(revenue, p) if p is not None else None,
                     "rank": i + 1, "previous_rank": prev_rank.get(value)})
    values = sorted(cur.values, reverse=True)
    k = math.ceil(len(values) / 10)
    return rows, sum(values[:k]) / sum(values)


def close(a, b, rel=REL, abs_=1e-6):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# ------------------------------------------------------------------ the checks

CASES = [
    pytest.param({}, id="default-view"),
    pytest.param({"start": "2016-01-01", "end": "2016-12-31", "grain": "month",
                  "region": "West"}, id="year-by-month-west"),
    pytest.param({"start": "2017-01-01", "end": "2017-06-30", "grain": "week",
                  "category": ["Furniture", "Technology"], "top": "5"}, id="half-year-weeks"),
    pytest.param({"start": "2016-02-01", "end": "2016-02-29"}, id="leap-february"),
    pytest.param({"start": "2014-01-03", "end": "2014-03-31", "channel": "Standard Class"},
                 id="first-quarter-no-history"),
]


def _expected_range(frame, args):
    last = max(frame["occurred_date"])
    if "start" in args:
        return date.fromisoformat(args["start"]), date.fromisoformat(args["end"])
    return (last - pd.Timedelta(days=89)), last


def _filters(args):
    from shared.schema import DIMENSIONS

    return {k: (v if isinstance(v, list) else [v]) for k, v in args.items() if k in DIMENSIONS}


@pytest.mark.parametrize("args", CASES)
def test_kpis_match_pandas_for_all_three_periods(superstore, args):
    _, frame, _ = superstore
    out = view(superstore, **args)
    start, end = _expected_range(frame, args)
    assert out["range"] == {"start": start.isoformat(), "end": end.isoformat()}
    filters = _filters(args)
    (ps, pe), (ys, ye) = shifted(start, end)
    first = min(frame["occurred_date"])
    cur = oracle_kpis(frame, start, end, filters)
    prev = oracle_kpis(frame, ps, pe, filters) if pe >= first else None
    year = oracle_kpis(frame, ys, ye, filters) if ye >= first else None
    assert out["comparison"]["previous"] == {"start": ps.isoformat(), "end": pe.isoformat()}
    assert out["comparison"]["year_ago"] == {"start": ys.isoformat(), "end": ye.isoformat()}
    for name, got in out["kpis"].items():
        assert close(got["value"], cur[name]), (name, got, cur[name])
        want_prev = prev[name] if prev else None
        want_year = year[name] if year else None
        assert close(got["previous"], want_prev), (name, "previous", got, want_prev)
        assert close(got["year_ago"], want_year), (name, "year_ago", got, want_year)
        assert close(got["change_pct"], change(cur[name], want_prev), rel=1e-7)
        assert close(got["yoy_pct"], change(cur[name], want_year), rel=1e-7)


@pytest.mark.parametrize("args", CASES)
def test_series_cover_every_period_and_match_pandas(superstore, args):
    _, frame, _ = superstore
    out = view(superstore, **args)
    start, end = _expected_range(frame, args)
    expected = oracle_series(frame, start, end, out["grain"], _filters(args))
    assert [p["period"] for p in out["series"]] == [d.isoformat() for d in expected.index]
    for point, (_, row) in zip(out["series"], expected.iterrows(), strict=True):
        for m in ("revenue", "orders", "units", "customers"):
            assert close(point[m], float(row[m])), (point, m, row[m])


@pytest.mark.parametrize("args", CASES)
def test_breakdowns_and_concentration_match_pandas(superstore, args):
    from shared.schema import DIMENSIONS

    _, frame, _ = superstore
    out = view(superstore, **args)
    start, end = _expected_range(frame, args)
    top = int(args.get("top", 10))
    for dim in DIMENSIONS:
        rows, share = oracle_breakdown(frame, start, end, dim, _filters(args), top)
        got = out["breakdowns"][dim]
        assert [g["value"] for g in got] == [r["value"] for r in rows], dim
        for g, r in zip(got, rows, strict=True):
            assert g["rank"] == r["rank"] and g["previous_rank"] == r["previous_rank"], (g, r)
            for k in ("revenue", "share", "growth_pct"):
                assert close(g[k], r[k], rel=1e-7), (dim, k, g, r)
        conc = out["breakdowns"]["concentration"]["by_dimension"][dim]["top10pct_share"]
        assert close(conc, share, rel=1e-7), (dim, conc, share)
    assert out["breakdowns"]["concentration"]["top10pct_share"] == (
        out["breakdowns"]["concentration"]["by_dimension"]["customer"]["top10pct_share"])


def test_default_view_is_the_last_90_days_at_day_grain(superstore):
    out = view(superstore)
    assert out["grain"] == "day"
    assert out["range"] == {"start": "2017-10-02", "end": "2017-12-30"}
    assert len(out["series"]) == DEFAULT_WINDOW_DAYS
    assert out["data_range"] == {"start": "2014-01-03", "end": "2017-12-30"}


def test_revenue_insight_names_the_category_that_led_the_change(superstore):
    _, frame, _ = superstore
    out = view(superstore, start="2017-11-01", end="2017-11-30")
    rev = next(i for i in out["insights"] if i["kind"] == "revenue_change")
    cur = select(frame, date(2017, 11, 1), date(2017, 11, 30), {})
    prev = select(frame, date(2017, 10, 2), date(2017, 10, 31), {})
    total_change = change(cur["amount"].sum(), prev["amount"].sum())
    deltas = (cur.groupby("category")["amount"].sum()
              - prev.groupby("category")["amount"].sum())
    same_sign = deltas[deltas * total_change > 0]
    leader = same_sign.abs().idxmax()
    assert rev["numbers"]["leader"]["value"] == leader
    assert close(rev["numbers"]["change_pct"], total_change, rel=1e-7)
    word = "rose" if total_change > 0 else "fell"
    assert rev["text"].startswith(f"Revenue {word} {abs(total_change):.0f}% month over month")
    assert f"led by Category {leader}" in rev["text"]
    assert out["insights"] == sorted(out["insights"], key=lambda i: -i["score"])
