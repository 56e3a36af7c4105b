"""Request validation, SQL hygiene, and the snapshot / cache / on-demand use cases."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest
from werkzeug.datastructures import MultiDict

from shared import errors
from shared.metrics import queries, service
from shared.metrics.view import parse_request
from tests.support.metrics_data import load_frame

TENANT = "t_service"


def sales(days=120, start=date(2024, 1, 1)):
    rows = []
    for i in range(days):
        rows.append((start + timedelta(days=i), 10.0 + i % 7, 1.0,
                     f"p{i % 5}", "cat", "north", f"c{i % 9}", "web", f"o{i}"))
    return pd.DataFrame(rows, columns=["occurred_date", "amount", "quantity", "product",
                                       "category", "region", "customer", "channel",
                                       "order_id"])


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(("args", "field", "code"), [
    ({"dataset": "d", "amount": "5"}, "amount", "unknown_filter"),
    ({"dataset": "d", "grain": "hour"}, "grain", "invalid_parameter"),
    ({"dataset": "d", "start": "2024-13-01"}, "start", "invalid_date"),
    ({"dataset": "d", "end": "yesterday"}, "end", "invalid_date"),
    ({"dataset": "d", "start": "2024-02-01", "end": "2024-01-01"}, "start", "invalid_range"),
    ({"dataset": "d", "top": "0"}, "top", "invalid_parameter"),
    ({"dataset": "d", "top": "abc"}, "top", "invalid_parameter"),
    ({"dataset": "d", "region": ""}, "region", "invalid_filter_value"),
    ({"dataset": "d", "start": "1900-01-01", "end": "2024-01-01", "grain": "day"},
     "grain", "range_too_long"),
    ({}, "dataset", "missing_parameter"),
    ({"dataset": "../etc"}, "dataset", "invalid_parameter"),
])
def test_bad_requests_name_the_field(args, field, code):
    with pytest.raises(errors.InvalidInput) as info:
        parse_request(args)
    assert info.value.code == code
    assert info.value.details["field"] == field


def test_a_filter_on_another_name_waits_for_the_catalog():
    """Any text field filters (issue 19): a name that is not a canonical column is kept
    as a field filter and checked against the dataset's catalog by the service, which
    answers 400 unknown_filter for a name the catalog does not know."""
    req = parse_request({"dataset": "d", "colour": ["red", "blue"]})
    assert req.field_filters == {"colour": ("blue", "red")} and not req.filters
    assert not req.is_default


def test_repeated_dimension_values_are_one_filter():
    req = parse_request(MultiDict([("dataset", "d"), ("region", "West"), ("region", "East"),
                                   ("region", "West")]))
    assert req.filters == {"region": ("East", "West")}
    with pytest.raises(errors.InvalidInput) as info:
        parse_request(MultiDict([("dataset", "d"), ("dataset", "e")]))
    assert info.value.details["field"] == "dataset"


def test_filter_values_travel_as_parameters_never_as_sql():
    hostile = "x' OR '1'='1"
    req = parse_request({"dataset": "d", "product": hostile})
    sql, params = queries.series("t", "d", req.filters, "day", date(2024, 1, 1),
                                 date(2024, 1, 2))
    assert hostile not in sql and "OR '1'" not in sql
    assert params["f_product_0"] == hostile
    assert "product IN (@f_product_0)" in sql
    with pytest.raises(ValueError):
        queries.filter_clause({"amount; DROP TABLE x": ["1"]})


def test_default_view_and_cache_keys():
    assert parse_request({"dataset": "d"}).is_default
    assert parse_request({"dataset": "d", "grain": "day", "top": "10"}).is_default
    assert not parse_request({"dataset": "d", "grain": "month"}).is_default
    a = parse_request(MultiDict([("dataset", "d"), ("region", "W"), ("region", "E")]))
    b = parse_request(MultiDict([("dataset", "d"), ("region", "E"), ("region", "W")]))
    assert a.cache_key(3) == b.cache_key(3) != a.cache_key(4)


# ------------------------------------------------------------------ use cases


def test_default_view_is_computed_once_then_served_from_the_snapshot(deps, tmp_path):
    load_frame(deps, sales(), tmp_path, tenant_id=TENANT)
    req = parse_request({"dataset": "ds_sales"})
    first = service.get_metrics(deps, TENANT, req)
    assert first.source == "on_demand"
    second = service.get_metrics(deps, TENANT, req)
    assert second.source == "snapshot" and second.payload == first.payload
    body = json.loads(second.render())
    assert body["source"] == "snapshot" and body["version"] == 1
    explicit = parse_request({"dataset": "ds_sales", "start": body["range"]["start"],
                              "end": body["range"]["end"]})
    assert service.get_metrics(deps, TENANT, explicit).source == "snapshot"


def test_a_new_version_makes_the_snapshot_stale(deps, tmp_path):
    load_frame(deps, sales(), tmp_path, tenant_id=TENANT)
    req = parse_request({"dataset": "ds_sales"})
    before = service.get_metrics(deps, TENANT, req).as_dict()
    load_frame(deps, sales(days=10, start=date(2024, 4, 30)), tmp_path, tenant_id=TENANT)
    after = service.get_metrics(deps, TENANT, req)
    assert after.source == "on_demand" and after.version == 2
    assert after.as_dict()["kpis"]["revenue"]["value"] != before["kpis"]["revenue"]["value"]
    assert service.get_metrics(deps, TENANT, req).source == "snapshot"


def test_other_views_are_cached_per_version(deps, tmp_path):
    load_frame(deps, sales(), tmp_path, tenant_id=TENANT)
    req = parse_request({"dataset": "ds_sales", "grain": "week", "product": "p1"})
    assert service.get_metrics(deps, TENANT, req).source == "on_demand"
    hit = service.get_metrics(deps, TENANT, req)
    assert hit.source == "cache"
    assert hit.as_dict()["filters"] == {"product": ["p1"]}
    load_frame(deps, sales(days=5), tmp_path, tenant_id=TENANT)
    assert service.get_metrics(deps, TENANT, req).source == "on_demand"


def test_unknown_dataset_is_not_found(deps):
    with pytest.raises(errors.NotFound) as info:
        service.get_metrics(deps, TENANT, parse_request({"dataset": "nope"}))
    assert info.value.details == {"field": "dataset"}


def test_task_recomputes_the_snapshot_and_enqueues_the_forecast(deps, tmp_path):
    version = load_frame(deps, sales(), tmp_path, tenant_id=TENANT)
    stale = parse_request({"dataset": "ds_sales", "grain": "month"})
    service.get_metrics(deps, TENANT, stale)  # a cache entry of version 1
    version = load_frame(deps, sales(days=3), tmp_path, tenant_id=TENANT)
    out = service.recompute_snapshot(deps, TENANT, "ds_sales", version)
    assert out["status"] == "computed" and out["cache_entries_removed"] == 1
    name = f"forecast-{TENANT}-ds_sales-v{version}"
    assert out["forecast_task"] == name
    task = deps.tasks.get(name)
    assert task["target"] == "forecast"
    assert json.loads(task["payload"]) == {"tenant_id": TENANT, "dataset_id": "ds_sales",
                                           "version": version}
    snap = deps.docs.get(f"tenants/{TENANT}/snapshots", "ds_sales")
    assert snap.data["version"] == version
    assert json.loads(snap.data["payload"])["version"] == version
    again = service.recompute_snapshot(deps, TENANT, "ds_sales", version)
    assert again["status"] == "unchanged"


def test_task_for_an_old_version_is_superseded_and_a_future_one_retried(deps, tmp_path):
    load_frame(deps, sales(), tmp_path, tenant_id=TENANT)
    load_frame(deps, sales(days=3), tmp_path, tenant_id=TENANT)
    out = service.recompute_snapshot(deps, TENANT, "ds_sales", 1)
    assert out["status"] == "superseded"
    assert deps.tasks.get(f"forecast-{TENANT}-ds_sales-v1") is None
    with pytest.raises(errors.Unavailable):
        service.recompute_snapshot(deps, TENANT, "ds_sales", 3)


def test_an_older_snapshot_never_overwrites_a_newer_one(deps, tmp_path):
    load_frame(deps, sales(), tmp_path, tenant_id=TENANT)
    assert service.store_snapshot(deps, TENANT, "ds_sales", 5, {"version": 5})
    assert not service.store_snapshot(deps, TENANT, "ds_sales", 4, {"version": 4})
    snap = deps.docs.get(f"tenants/{TENANT}/snapshots", "ds_sales")
    assert snap.data["version"] == 5


def test_datasets_are_listed_per_tenant(deps, tmp_path):
    load_frame(deps, sales(days=3), tmp_path, tenant_id=TENANT, dataset_id="b", name="Beta")
    load_frame(deps, sales(days=3), tmp_path, tenant_id=TENANT, dataset_id="a", name="alpha")
    load_frame(deps, sales(days=3), tmp_path, tenant_id="t_else", dataset_id="z")
    got = service.list_datasets(deps, TENANT)
    assert [(d["id"], d["name"], d["row_count"]) for d in got] == [("a", "alpha", 3),
                                                                   ("b", "Beta", 3)]
