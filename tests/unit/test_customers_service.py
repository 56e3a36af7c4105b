"""The customer analysis through the warehouse and the document store: cohort, RFM and
KPI figures equal a pandas oracle on Superstore and on edge cases (a one-purchase
customer, refunds, lines without a customer id); reads page through the stored lists."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from werkzeug.datastructures import MultiDict

from shared import errors
from shared.customers import models, service, task
from tests.support.metrics_data import load_frame, superstore_frame

TENANT = "t_customers"


def _get(deps, dataset, **args):
    return service.get(deps, TENANT, models.parse(MultiDict({"dataset": dataset, **args})))


def oracle_rfm(frame: pd.DataFrame) -> pd.DataFrame:
    """RFM by hand: customer-days, purchases are days with net >= 0."""
    f = frame[frame["customer"].notna()].copy()
    f["day"] = pd.to_datetime(f["occurred_date"])
    days = f.groupby(["customer", "day"], as_index=False)["amount"].sum()
    as_of = pd.to_datetime(frame["occurred_date"]).max()
    bought = days[days["amount"] >= 0]
    out = pd.DataFrame({"frequency": bought.groupby("customer").size(),
                        "recency_days": (as_of - bought.groupby("customer")["day"].max())
                        .dt.days})
    out["monetary"] = days.groupby("customer")["amount"].sum().reindex(out.index)

    def score(s):
        return np.clip(np.ceil(s.rank(method="average", pct=True) * 5), 1, 5).astype(int)
    out["r"], out["f"], out["m"] = (score(-out["recency_days"]), score(out["frequency"]),
                                    score(out["monetary"]))
    return out


def _all_rows(deps, dataset):
    rows, token = [], None
    while True:
        args = {"part": "predictions", "limit": "500"}
        if token:
            args["page_token"] = token
        page = _get(deps, dataset, **args)
        rows += page["customers"]
        token = page["next_page_token"]
        if token is None:
            return rows, page["total"]


def test_superstore_rfm_and_cohorts_equal_the_pandas_oracle(deps, tmp_path):
    frame = superstore_frame()
    version = load_frame(deps, frame, tmp_path, tenant_id=TENANT, dataset_id="ds_store")
    done = task.refresh(deps, TENANT, "ds_store", version)
    expected = oracle_rfm(frame)
    assert done["customers"] == len(expected)
    rows, total = _all_rows(deps, "ds_store")
    assert total == len(expected) == len(rows)
    got = pd.DataFrame(rows).set_index("customer").loc[expected.index]
    for col in ("frequency", "recency_days", "r", "f", "m"):
        assert (got[col].to_numpy() == expected[col].to_numpy()).all(), col
    np.testing.assert_allclose(got["monetary"], expected["monetary"], atol=0.01)
    # Monthly cohorts: the share of each cohort buying in each month, by hand.
    f = frame.assign(day=pd.to_datetime(frame["occurred_date"]))
    f["month"] = f["day"].dt.to_period("M")
    first = f.groupby("customer")["month"].min()
    f["cohort"], f["k"] = f["customer"].map(first), None
    f["k"] = (f["month"] - f["cohort"]).apply(lambda d: d.n)
    sizes = first.value_counts()
    cohorts = _get(deps, "ds_store", part="cohorts", grain="month")["cohorts"]
    assert cohorts, "no cohorts"
    for c in cohorts:
        period = pd.Period(c["cohort"][:7], "M")
        assert c["customers"] == sizes[period]
        sub = f[f["cohort"] == period]
        for k, share in enumerate(c["retention"]):
            want = sub.loc[sub["k"] == k, "customer"].nunique() / sizes[period]
            assert share == pytest.approx(want, abs=1e-4)
    summary = _get(deps, "ds_store")
    counts = f.groupby("customer")["day"].nunique()
    assert summary["kpis"]["repeat_purchase_rate"] == pytest.approx((counts >= 2).mean(),
                                                                    abs=1e-4)
    assert summary["model"]["bgnbd"]["r"] > 0


def test_edge_cases_are_counted_not_dropped(deps, tmp_path):
    rows = [  # customer, day, amount, order
        ("once", date(2024, 1, 5), 50.0, "o1"),
        ("refunder", date(2024, 1, 3), 100.0, "o2"),
        ("refunder", date(2024, 2, 3), -30.0, "o3"),
        ("refunder", date(2024, 3, 3), 40.0, "o4"),
        (None, date(2024, 2, 10), 70.0, "o5"),
        (None, date(2024, 3, 10), 20.0, "o6"),
    ] + [(f"c{i}", date(2024, 1 + i % 3, 1 + i), 10.0 + i, f"p{i}") for i in range(12)] \
      + [(f"c{i}", date(2024, 4, 1 + i), 12.0, f"q{i}") for i in range(8)]
    frame = pd.DataFrame(rows, columns=["customer", "occurred_date", "amount", "order_id"])
    version = load_frame(deps, frame, tmp_path, tenant_id=TENANT, dataset_id="ds_edge")
    task.refresh(deps, TENANT, "ds_edge", version)
    summary = _get(deps, "ds_edge")
    assert summary["lines"]["lines"] == len(frame)
    assert summary["lines"]["lines_without_customer"] == 2
    assert summary["lines"]["revenue_without_customer"] == pytest.approx(90.0)
    assert summary["lines"]["refund_lines"] == 1
    assert summary["lines"]["refund_amount"] == pytest.approx(-30.0)
    by_id = {r["customer"]: r for r in _all_rows(deps, "ds_edge")[0]}
    assert by_id["once"]["frequency"] == 1
    assert by_id["refunder"]["frequency"] == 2  # the refund-only day is no purchase
    assert by_id["refunder"]["monetary"] == pytest.approx(110.0)
    expected = oracle_rfm(frame)
    for cid, row in by_id.items():
        assert (row["r"], row["f"], row["m"]) == tuple(expected.loc[cid, ["r", "f", "m"]])


def test_reads_page_and_refuse_bad_parameters(deps, tmp_path):
    frame = superstore_frame()
    version = load_frame(deps, frame, tmp_path, tenant_id=TENANT, dataset_id="ds_pages")
    task.refresh(deps, TENANT, "ds_pages", version)
    first = _get(deps, "ds_pages", part="predictions", limit="7")
    second = _get(deps, "ds_pages", part="predictions", limit="7",
                  page_token=first["next_page_token"])
    assert first["next_page_token"] == "7"
    assert {r["customer"] for r in first["customers"]}.isdisjoint(
        r["customer"] for r in second["customers"])
    seg = _get(deps, "ds_pages", part="predictions", segment="champions", limit="500")
    assert seg["customers"] and all(r["segment"] == "champions" for r in seg["customers"])
    with pytest.raises(errors.InvalidInput):
        _get(deps, "ds_pages", part="everything")
    with pytest.raises(errors.InvalidInput):
        _get(deps, "ds_pages", bogus="1")


def test_a_new_version_is_not_ready_until_the_task_ran(deps, tmp_path):
    frame = superstore_frame().head(200)
    version = load_frame(deps, frame, tmp_path, tenant_id=TENANT, dataset_id="ds_new")
    with pytest.raises(errors.NotFound) as exc:
        _get(deps, "ds_new")
    assert exc.value.code == "customers_not_ready"
    task.refresh(deps, TENANT, "ds_new", version)
    assert _get(deps, "ds_new")["version"] == version


def test_a_history_without_a_customer_id_analyses_to_an_explained_empty_result():
    """Rows exist but none names a customer: the analysis says why, it does not fail."""
    from shared.customers import analysis
    from shared.customers.history import from_rows

    totals = {"lines": 3, "lines_without_customer": 3, "revenue_without_customer": 30.0,
              "refund_lines": 0, "refund_amount": 0.0,
              "first_date": date(2024, 1, 1), "last_date": date(2024, 3, 1)}
    result = analysis.analyse(from_rows([], totals))
    assert result.customers == [] and result.at_risk == []
    assert result.summary["model_unavailable"]
    assert result.summary["lines"]["lines_without_customer"] == 3
