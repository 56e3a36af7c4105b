"""Per-dimension forecasts through GET /api/predictions?dimension=...&top=N: the top
values by revenue, each fitted as the filtered total would be (intervals and backtest
accuracy per series), the bound on N, a dimension with fewer values than N, tenant
isolation, the forecast task's stored breakdowns and the holiday country in the key."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from shared import tenants
from shared.forecast import service
from tests.openapi_shape import check
from tests.support.metrics_data import load_frame

# Daily revenue level per region: the rank by revenue is north, south, east, west.
LEVELS = {"north": 400.0, "south": 250.0, "east": 120.0, "west": 40.0}
DAYS = 210


def _load(deps, tmp_path, tenant_id: str, dataset_id: str = "ds_regions") -> int:
    rows = []
    for i in range(DAYS):
        d = date(2024, 1, 1) + timedelta(days=i)
        for region, level in LEVELS.items():
            amount = level + i * level / 200 + (0.3 * level if d.weekday() >= 5 else 0.0)
            rows.append((d, round(amount, 2), 1.0, "p", "cat", region, f"c{i % 3}",
                         "web", f"o{i}-{region}"))
    frame = pd.DataFrame(rows, columns=["occurred_date", "amount", "quantity", "product",
                                        "category", "region", "customer", "channel",
                                        "order_id"])
    return load_frame(deps, frame, tmp_path, tenant_id=tenant_id, dataset_id=dataset_id)


@pytest.fixture
def client(function_client):
    return function_client("predict", "predict_http")


def _get(client, headers, query: str, status: int = 200) -> dict:
    resp = client.get(f"/api/predictions?{query}", headers=headers)
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()


def test_the_top_values_each_get_a_forecast_like_their_filtered_total(
        client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    version = _load(deps, tmp_path, user["tenant_id"])
    body = _get(client, headers, "dataset=ds_regions&dimension=region&top=3&grain=week"
                "&horizon=6")
    check(body, {"$ref": "#/components/schemas/PredictionAnswer"})
    check(body, {"$ref": "#/components/schemas/PredictionBreakdown"})
    assert (body["dimension"], body["top"], body["version"], body["source"]) == (
        "region", 3, version, "on_demand")
    assert [s["value"] for s in body["series"]] == ["north", "south", "east"]
    revenues = [s["revenue"] for s in body["series"]]
    assert revenues == sorted(revenues, reverse=True) and revenues[0] > 2 * revenues[2]
    for s in body["series"]:
        assert len(s["forecast"]) == 6
        for p in s["forecast"]:
            assert 0 <= p["lo95"] <= p["lo80"] <= p["value"] <= p["hi80"] <= p["hi95"]
        acc = s["accuracy"]
        assert acc["backtest_origins"] >= 1 and acc["mase"] is not None
        assert acc["coverage80"] is not None and acc["baseline"]["mase"] is not None
        # the same fit, accuracy report and intervals as the total filtered on the value
        alone = _get(client, headers, f"dataset=ds_regions&grain=week&horizon=6"
                     f"&region={s['value']}")
        assert s["history"] == alone["history"]
        assert s["forecast"] == alone["forecast"]
        assert s["accuracy"] == alone["accuracy"] and s["model"] == alone["model"]
    # the series differ: each is its own value's history, not the total's
    assert body["series"][0]["history"][3]["value"] > body["series"][2]["history"][3]["value"]
    again = _get(client, headers, "dataset=ds_regions&dimension=region&top=2&grain=week"
                 "&horizon=6")
    assert again["source"] == "cache" and [s["value"] for s in again["series"]] == [
        "north", "south"]


def test_a_dimension_with_fewer_values_than_top_answers_the_ones_it_has(
        client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    _load(deps, tmp_path, user["tenant_id"])
    body = _get(client, headers, "dataset=ds_regions&dimension=channel&top=5&grain=month")
    assert body["top"] == 5 and [s["value"] for s in body["series"]] == ["web"]
    regions = _get(client, headers, "dataset=ds_regions&dimension=region&top=10&grain=month")
    assert [s["value"] for s in regions["series"]] == list(LEVELS)
    # a filter on another dimension narrows the ranking's rows: none match, no series
    none = _get(client, headers, "dataset=ds_regions&dimension=region&grain=month"
                "&channel=shop")
    assert none["series"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("dimension=region&top=11", "top"),
    ("dimension=region&top=0", "top"),
    ("dimension=region&top=two", "top"),
    ("dimension=amount", "dimension"),
    ("top=3", "top"),
    ("dimension=region&dimension=category", "dimension"),
])
def test_the_dimension_and_the_bound_on_top_are_validated(client, make_user, deps,
                                                          tmp_path, query, field):
    user, headers = make_user("viewer")
    _load(deps, tmp_path, user["tenant_id"])
    body = _get(client, headers, f"dataset=ds_regions&{query}", status=400)
    assert body["error"]["details"]["field"] == field


def test_a_tenant_cannot_see_another_tenants_breakdown(client, make_user, deps, tmp_path):
    owner, owner_headers = make_user("viewer")
    _load(deps, tmp_path, owner["tenant_id"])
    _, other_headers = make_user("viewer")
    body = _get(client, other_headers, "dataset=ds_regions&dimension=region&grain=month",
                status=404)
    assert body["error"]["code"] == "dataset_not_found"
    mine = _get(client, owner_headers, "dataset=ds_regions&dimension=region&grain=month")
    assert len(mine["series"]) == 4


def test_the_forecast_task_stores_the_default_breakdowns(client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    version = _load(deps, tmp_path, user["tenant_id"])
    done = service.precompute(deps, user["tenant_id"], "ds_regions", version)
    assert "revenue/week/by-region" in done["forecasts"]
    stored = _get(client, headers, "dataset=ds_regions&dimension=region")
    assert stored["source"] == "snapshot" and stored["top"] == 5
    assert len(stored["series"]) == 4  # every region: fewer than the five stored
    fewer = _get(client, headers, "dataset=ds_regions&dimension=region&top=2")
    assert fewer["source"] == "snapshot" and len(fewer["series"]) == 2
    assert fewer["series"] == stored["series"][:2]


def test_a_change_of_holiday_country_is_not_answered_from_the_stored_forecast(
        client, make_user, deps, tmp_path):
    user, headers = make_user("viewer")
    version = _load(deps, tmp_path, user["tenant_id"])
    service.precompute(deps, user["tenant_id"], "ds_regions", version)
    total = _get(client, headers, "dataset=ds_regions&grain=day")
    by_region = _get(client, headers, "dataset=ds_regions&dimension=region")
    assert total["source"] == by_region["source"] == "snapshot"
    assert total["holiday_country"] is None
    tenants.update(deps.docs, user["tenant_id"], {"holiday_country": "FR"})
    total = _get(client, headers, "dataset=ds_regions&grain=day")
    by_region = _get(client, headers, "dataset=ds_regions&dimension=region")
    assert total["source"] == by_region["source"] == "on_demand"
    assert total["holiday_country"] == by_region["holiday_country"] == "FR"
    assert _get(client, headers, "dataset=ds_regions&grain=day")["source"] == "snapshot"
