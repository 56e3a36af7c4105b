"""Duplicates through the real upload path on the local stack: the same file twice is
refused naming the first (and loads when confirmed), overlapping monthly exports warn
and never double an order line, a replace is never refused."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.support.upload_flow import load_upload_main, upload


@pytest.fixture
def upload_main(deps):
    return load_upload_main()


@pytest.fixture
def client(function_client):
    return function_client("upload", "upload_http")


def export(first: date, last: date) -> tuple[bytes, dict[str, float]]:
    """A daily export: two lines per order, one order per day; the order id and the
    amounts depend on the day only, so two exports that share days share those lines."""
    lines = ["Order Date,Order ID,Product,Sales"]
    amounts: dict[str, float] = {}
    day = first
    while day <= last:
        oid = f"ORD-{day:%Y%m%d}"
        for n, product in enumerate(("Desk", "Lamp")):
            amount = round(10 + day.day + n * 0.5, 2)
            lines.append(f"{day.isoformat()},{oid},{product},{amount}")
            amounts[f"{oid}/{product}"] = amount
        day += timedelta(days=1)
    return ("\n".join(lines) + "\n").encode(), amounts


def revenue_in_warehouse(deps, tenant_id: str) -> float:
    rows = deps.warehouse.query("SELECT SUM(amount) AS r, COUNT(*) AS n FROM "
                                "{business_data} WHERE tenant_id = @t", {"t": tenant_id})
    return float(rows[0]["r"] or 0)


def test_the_same_file_twice_is_refused_naming_the_first(client, make_user, deps,
                                                         upload_main):
    user, headers = make_user("analyst")
    data, amounts = export(date(2024, 3, 1), date(2024, 3, 10))
    first = upload(client, headers, deps, upload_main, data, filename="march.csv")
    assert first["status"] == "loaded"
    assert first["fingerprint"] and len(first["fingerprint"]) == 64
    assert (first["first_date"], first["last_date"]) == ("2024-03-01", "2024-03-10")
    assert first["row_count"] == 20

    again = upload(client, headers, deps, upload_main, data, filename="march-copy.csv")
    assert again["status"] == "failed"
    assert again["error"]["code"] == "duplicate_content"
    assert again["error"]["details"]["upload_id"] == first["id"]
    assert again["error"]["details"]["filename"] == "march.csv"
    assert again["error"]["details"]["loaded_at"]
    assert first["id"] in again["error"]["message"]
    assert revenue_in_warehouse(deps, user["tenant_id"]) == pytest.approx(
        sum(amounts.values()))

    confirmed = upload(client, headers, deps, upload_main, data, filename="march.csv",
                       confirm_duplicate=True)
    assert confirmed["status"] == "loaded", confirmed.get("error")
    assert confirmed["report"]["rows_loaded"] == 20
    assert revenue_in_warehouse(deps, user["tenant_id"]) == pytest.approx(
        2 * sum(amounts.values()))


def test_the_same_content_into_another_dataset_is_not_a_duplicate(client, make_user, deps,
                                                                  upload_main):
    _, headers = make_user("analyst")
    data, _ = export(date(2024, 3, 1), date(2024, 3, 5))
    assert upload(client, headers, deps, upload_main, data)["status"] == "loaded"
    other = upload(client, headers, deps, upload_main, data, dataset="Other shop")
    assert other["status"] == "loaded" and other["report"]["warnings"] == []


def test_a_deleted_upload_no_longer_blocks_its_content(client, make_user, deps,
                                                       upload_main):
    _, headers = make_user("analyst")
    data, _ = export(date(2024, 3, 1), date(2024, 3, 5))
    first = upload(client, headers, deps, upload_main, data)
    assert client.delete(f"/api/uploads/{first['id']}", headers=headers).status_code == 200
    again = upload(client, headers, deps, upload_main, data)
    assert again["status"] == "loaded" and again["report"]["rows_loaded"] == 10


def test_overlapping_exports_warn_and_never_double_an_order_line(client, make_user, deps,
                                                                 upload_main,
                                                                 function_client):
    user, headers = make_user("analyst")
    january, jan_amounts = export(date(2024, 1, 1), date(2024, 1, 31))
    # The February export starts on 25 January: 7 days (14 lines) are in both.
    february, feb_amounts = export(date(2024, 1, 25), date(2024, 2, 29))
    jan = upload(client, headers, deps, upload_main, january, filename="january.csv")
    feb = upload(client, headers, deps, upload_main, february, filename="february.csv")
    assert feb["status"] == "loaded", feb.get("error")

    report = feb["report"]
    overlap = [w for w in report["warnings"] if jan["id"] in w]
    assert len(overlap) == 1
    assert "2024-01-25 to 2024-01-31" in overlap[0] and "january.csv" in overlap[0]
    assert "14 of its rows and 14 of this file's rows" in overlap[0]
    assert any("14 order lines repeat order ids" in w for w in report["warnings"])
    assert report["rejected_by_reason"].get("duplicate_order_line") == 14
    assert report["rows_loaded"] == len(feb_amounts) - 14
    assert feb["duplicate_order_lines"] == 14
    assert feb["row_count"] == len(feb_amounts) - 14
    assert feb["overlaps"] == [{"upload_id": jan["id"], "first": "2024-01-25",
                                "last": "2024-01-31", "rows": 14}]

    unique = {**jan_amounts, **feb_amounts}
    assert revenue_in_warehouse(deps, user["tenant_id"]) == pytest.approx(
        sum(unique.values()))
    metrics = function_client("metrics", "metrics_http")
    resp = metrics.get(f"/api/metrics?dataset={jan['dataset_id']}&start=2024-01-01"
                       "&end=2024-02-29", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["kpis"]["revenue"]["value"] == pytest.approx(sum(unique.values()))

    rejected = client.get(f"/api/uploads/{feb['id']}/rejected", headers=headers)
    lines = rejected.get_data(as_text=True).strip().splitlines()
    assert len(lines) == 1 + 14
    assert all(",duplicate_order_line,Order ID,ORD-202401" in line for line in lines[1:])
    assert "2024-01-25,ORD-20240125,Desk,35.0" in rejected.get_data(as_text=True)


def test_a_replace_is_never_refused_as_a_duplicate(client, make_user, deps, upload_main):
    user, headers = make_user("analyst")
    data, amounts = export(date(2024, 5, 1), date(2024, 5, 20))
    assert upload(client, headers, deps, upload_main, data)["status"] == "loaded"
    replaced = upload(client, headers, deps, upload_main, data, mode="replace")
    assert replaced["status"] == "loaded", replaced.get("error")
    assert replaced["report"]["rows_loaded"] == 40
    assert revenue_in_warehouse(deps, user["tenant_id"]) == pytest.approx(
        sum(amounts.values()))
    # After the replace, the first upload's rows are gone: only the replace's count.
    again = upload(client, headers, deps, upload_main, data)
    assert again["status"] == "failed"
    assert again["error"]["details"]["upload_id"] == replaced["id"]


@pytest.mark.parametrize("value", [0, 1, "true", None])
def test_confirm_duplicate_takes_only_a_boolean(client, make_user, value):
    _, headers = make_user("analyst")
    resp = client.post("/api/uploads", json={"filename": "a.csv", "size_bytes": 5,
                                             "confirm_duplicate": value}, headers=headers)
    assert resp.status_code == 400
    assert "confirm_duplicate" in resp.get_json()["error"]["message"]


def test_overlapping_corpus_exports_through_the_upload_path(client, make_user, deps,
                                                            upload_main):
    """The corpus's overlapping exports (tests/data/csv/overlap_*.csv), uploaded in
    order: repeated order ids in the overlap are rejected, a new order inside it loads,
    and an export without order ids is loaded with a warning naming the upload whose
    loaded rows it overlaps (not the one whose lines in those days were rejected)."""
    from tests.support.environment import ROOT

    corpus = ROOT / "tests" / "data" / "csv"
    user, headers = make_user("analyst")
    april = upload(client, headers, deps, upload_main,
                   (corpus / "overlap_april.csv").read_bytes(), filename="april.csv")
    assert april["status"] == "loaded" and april["report"]["rows_loaded"] == 15
    may = upload(client, headers, deps, upload_main,
                 (corpus / "overlap_april_may.csv").read_bytes(), filename="may.csv")
    assert may["status"] == "loaded", may.get("error")
    report = may["report"]
    assert report["rejected_by_reason"] == {"duplicate_order_line": 5}
    assert report["rows_loaded"] == 11  # A-100 on 12 April is a new order
    [warning] = [w for w in report["warnings"] if april["id"] in w]
    assert "2024-04-11 to 2024-04-15" in warning and "april.csv" in warning
    assert may["overlaps"] == [{"upload_id": april["id"], "first": "2024-04-11",
                                "last": "2024-04-15", "rows": 5}]

    no_ids = upload(client, headers, deps, upload_main,
                    (corpus / "overlap_no_order_id.csv").read_bytes(), filename="loose.csv")
    assert no_ids["status"] == "loaded", no_ids.get("error")
    assert no_ids["report"]["rows_loaded"] == 7  # no order id: nothing to match on
    [named] = [w for w in no_ids["report"]["warnings"] if april["id"] in w]
    assert "2024-04-14 to 2024-04-15" in named
    assert not [w for w in no_ids["report"]["warnings"] if may["id"] in w]
    expected = sum(10 * d + 0.25 for d in range(1, 16)) + 99.90 + sum(
        5 * d + 0.75 for d in range(1, 11)) + sum(d + 0.5 for d in range(14, 21))
    assert revenue_in_warehouse(deps, user["tenant_id"]) == pytest.approx(expected)
