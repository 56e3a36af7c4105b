"""Edge cases of fields as measures, through the real upload path: empty cells,
negative values, and a column that settles as a number in one upload and as text in
the next (the catalog says so, and its measures use the numeric values only, with the
others counted)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.support.field_data import load_csv

FIRST = [("2024-01-01", "10", "5.5", "a"), ("2024-01-02", "20", "-3", "b"),
         ("2024-01-03", "30", "", "a"), ("2024-01-04", "40", "-12.25", "")]
# "n/a" would be read as an empty cell (an ingest null token); "pending" is text.
SECOND = [("2024-01-05", "50", "pending", "b"), ("2024-01-06", "60", "7", "a"),
          ("2024-01-07", "70", "high", "c"), ("2024-01-08", "80", "", "c")]


def csv_bytes(rows) -> bytes:
    lines = ["date,amount,Score,Tier"] + [",".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def metrics(function_client):
    return function_client("metrics", "metrics_http")


@pytest.fixture
def mixed(function_client, make_user, deps):
    _, headers = make_user("analyst")
    first = load_csv(function_client, headers, deps, csv_bytes(FIRST), dataset="Mixed")
    load_csv(function_client, headers, deps, csv_bytes(SECOND), dataset="Mixed")
    frame = pd.DataFrame(FIRST + SECOND, columns=["date", "amount", "Score", "Tier"])
    frame["Score"] = frame["Score"].replace("", None)
    frame["Tier"] = frame["Tier"].replace("", None)
    return headers, first["dataset_id"], frame


def test_a_field_typed_differently_across_uploads_is_flagged(metrics, mixed):
    headers, dataset, frame = mixed
    body = metrics.get(f"/api/metrics/datasets/{dataset}/fields", headers=headers).get_json()
    assert body["version"] == 2
    score = next(f for f in body["fields"] if f["name"] == "Score")
    assert score["type"] == "number" and score["mixed_types"] == ["number", "text"]
    numeric = pd.to_numeric(frame["Score"], errors="coerce")
    assert score["non_numeric_count"] == int(frame["Score"].notna().sum() - numeric.notna().sum())
    assert score["non_numeric_count"] == 2
    assert score["null_share"] == pytest.approx(frame["Score"].isna().mean())
    tier = next(f for f in body["fields"] if f["name"] == "Tier")
    assert tier["type"] == "text" and "mixed_types" not in tier
    assert tier["examples"] == ["a", "b", "c"] and tier["distinct_estimate"] == 3


@pytest.mark.parametrize("agg", ["sum", "avg", "min", "max", "count", "count_distinct"])
def test_measures_over_nulls_negatives_and_text_use_the_numbers_only(metrics, mixed, agg):
    headers, dataset, frame = mixed
    resp = metrics.get(f"/api/metrics?dataset={dataset}&measure=Score&agg={agg}"
                       "&start=2024-01-01&end=2024-01-08&breakdown=Tier", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    numeric = pd.to_numeric(frame["Score"], errors="coerce")
    want = {"sum": numeric.sum(), "avg": numeric.mean(), "min": numeric.min(),
            "max": numeric.max(), "count": frame["Score"].notna().sum(),
            "count_distinct": frame["Score"].nunique()}[agg]
    assert math.isclose(body["kpis"]["measure"]["value"], float(want), rel_tol=1e-9), agg
    if agg in ("sum", "avg", "min", "max"):  # the text values left out are said
        assert body["measure"]["non_numeric_count"] == 2
    else:
        assert "non_numeric_count" not in body["measure"]
    items = {i["value"]: i["measure"] for i in body["breakdown"]["items"]}
    assert set(items) == {"a", "b", "c"}  # the empty Tier is no breakdown value
    if agg == "sum":
        assert items == {"a": 5.5 + 7, "b": -3.0, "c": None}
    # per day: the spine carries the value, null where a day's value is not a number
    points = {p["period"]: p["value"] for p in body["series"]}
    if agg == "min":
        assert points["2024-01-04"] == -12.25 and points["2024-01-05"] is None


def test_the_export_carries_the_measure_and_the_field_breakdown(metrics, mixed):
    import csv
    import io

    headers, dataset, _ = mixed
    resp = metrics.get(f"/api/metrics/export?dataset={dataset}&measure=Score&agg=max"
                       "&breakdown=Tier&part=breakdowns&start=2024-01-01&end=2024-01-08",
                       headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    rows = [r for r in csv.DictReader(io.StringIO(resp.get_data(as_text=True)))
            if r["dimension"] == "Tier"]
    assert {r["value"]: r["measure"] for r in rows} == {"a": "7.0", "b": "-3.0", "c": ""}
    series = metrics.get(f"/api/metrics/export?dataset={dataset}&measure=Score&agg=max"
                         "&start=2024-01-01&end=2024-01-08", headers=headers)
    points = list(csv.DictReader(io.StringIO(series.get_data(as_text=True))))
    assert [p["value"] for p in points] == ["5.5", "-3.0", "", "-12.25", "", "7.0", "", ""]


def test_a_redefined_or_deleted_measure_never_answers_from_an_old_cache(metrics, mixed):
    headers, dataset, frame = mixed
    base = f"/api/metrics/datasets/{dataset}/measures"
    view = (f"/api/metrics?dataset={dataset}&measure=calc&start=2024-01-01"
            "&end=2024-01-08")
    assert metrics.post(base, headers=headers, json={"name": "calc",
                        "expression": "sum(amount)"}).status_code == 201
    first = metrics.get(view, headers=headers).get_json()
    assert metrics.get(view, headers=headers).get_json()["source"] == "cache"
    assert first["kpis"]["measure"]["value"] == frame["amount"].astype(float).sum()
    assert metrics.delete(f"{base}/calc", headers=headers).status_code == 200
    gone = metrics.get(view, headers=headers)
    assert gone.status_code == 400 and gone.get_json()["error"]["code"] == "unknown_measure"
    assert metrics.post(base, headers=headers, json={"name": "calc",
                        "expression": "max(amount) * 2"}).status_code == 201
    again = metrics.get(view, headers=headers).get_json()
    assert again["source"] == "on_demand" and again["kpis"]["measure"]["value"] == 160.0


@pytest.mark.parametrize("expression,code", [("sum(Tier)", "not_a_number"),
                                             ("avg(Nope)", "unknown_field"),
                                             ("sum(Score) ** 2", "unsupported_syntax")])
def test_a_bad_expression_is_a_400_naming_the_expression(metrics, mixed, expression, code):
    headers, dataset, _ = mixed
    resp = metrics.post(f"/api/metrics/datasets/{dataset}/measures", headers=headers,
                        json={"name": "bad", "expression": expression})
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == code and err["details"]["field"] == "expression"


def test_a_viewer_reads_measures_but_cannot_define_them(metrics, function_client,
                                                       make_user, deps):
    analyst, headers = make_user("analyst")
    done = load_csv(function_client, headers, deps, csv_bytes(FIRST), dataset="Roles")
    _, viewer = make_user("viewer", tenant_id=analyst["tenant_id"])
    base = f"/api/metrics/datasets/{done['dataset_id']}/measures"
    body = {"name": "total", "expression": "sum(amount)"}
    assert metrics.post(base, headers=viewer, json=body).status_code == 403
    assert metrics.post(base, headers=headers, json=body).status_code == 201
    assert metrics.get(base, headers=viewer).get_json()["measures"] == [
        {"name": "total", "expression": "sum(amount)"}]
    assert metrics.delete(f"{base}/total", headers=viewer).status_code == 403
    assert metrics.get(f"/api/metrics/datasets/{done['dataset_id']}/fields",
                       headers=viewer).status_code == 200
    assert metrics.get("/api/metrics/datasets/nope/fields", headers=viewer).status_code == 404
