"""Every file of the awkward-CSV corpus ingests to its expected outcome (manifest.json),
plus the real Superstore orders file in three encodings/dialects."""

from __future__ import annotations

import codecs
import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shared.ingest import IngestFailed, IngestOptions, stage

DATA = Path(__file__).resolve().parents[1] / "data"
MANIFEST = json.loads((DATA / "csv" / "manifest.json").read_text(encoding="utf-8"))["cases"]


def run(path_or_bytes, tmp_path, **opts):
    if isinstance(path_or_bytes, bytes):
        def opener():
            return io.BytesIO(path_or_bytes)
    else:
        def opener():
            return open(path_or_bytes, "rb")
    staged = stage(opener, IngestOptions("t1", "ds1", "up1", **opts), tmp_path / "stage")
    return staged, pq.read_table(staged.parquet_path).to_pylist()


def _norm(value):
    if isinstance(value, Decimal):
        return value.normalize()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus_file_has_expected_outcome(name, tmp_path):
    expected = MANIFEST[name]
    path = DATA / "csv" / name
    options = expected.get("options", {})
    if expected["outcome"] == "failed":
        with pytest.raises(IngestFailed) as info:
            run(path, tmp_path, **options)
        assert info.value.code == expected["error_code"]
        assert not list((tmp_path / "stage").glob("*.parquet")), "nothing may stay staged"
        if "failure" in expected:
            _check_failure(info.value, expected["failure"])
        return
    staged, rows = run(path, tmp_path, **options)
    report = staged.report
    assert report.rows_loaded == expected["rows_loaded"] == len(rows)
    assert report.rows_rejected == expected["rows_rejected"]
    assert dict(report.rejected_by_reason) == expected["rejected_by_reason"]
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    for role, column in expected.get("mapping", {}).items():
        assert report.mapping[role]["column"] == column, role
    if "delimiter" in expected:
        assert report.delimiter == expected["delimiter"]
    if "encoding" in expected:
        assert report.encoding == expected["encoding"]
    for key, want in expected.get("first", {}).items():
        got = _norm(rows[0][key])
        assert got == (Decimal(want).normalize() if key == "amount" and want else want), key
    for key, want in expected.get("last", {}).items():
        assert _norm(rows[-1][key]) == want
    if "amounts" in expected:
        assert [_norm(r["amount"]) for r in rows] == [
            None if a is None else Decimal(a).normalize() for a in expected["amounts"]]
    if "examples" in expected:
        assert [[e["reason"], e["column"], e["value"]]
                for e in report.examples] == expected["examples"]
    for key, want in expected.get("counts", {}).items():
        assert getattr(report, key) == want, key
    if "dates" in expected:
        assert [r["occurred_at"].isoformat() for r in rows] == expected["dates"]
    if "extra" in expected:
        extra = json.loads(rows[0]["extra"])
        for key, want in expected["extra"].items():
            assert extra[key] == want
    numbers = [r["row_number"] for r in rows]
    assert numbers == sorted(set(numbers)), "row numbers are unique and increasing"


def _check_failure(exc: IngestFailed, want: dict) -> None:
    """A file over its reject limit names the column at fault, the share of its bad
    values and examples of them, in the details and in the message a user reads."""
    for key, value in want.items():
        assert exc.details[key] == value, key
    assert repr(want["column"]) in exc.message
    assert f"({want['bad_share']:.0%})" in exc.message
    for example in want["examples"]:
        assert repr(example) in exc.message


def test_the_corpus_is_big_enough():
    assert len(MANIFEST) >= 40
    on_disk = {p.name for p in (DATA / "csv").glob("*.csv")}
    assert on_disk == set(MANIFEST)


SUPERSTORE_MAPPING = {"occurred_at": "Order Date", "amount": "Sales", "quantity": "Quantity",
                      "product": "Product Name", "category": "Category", "region": "Region",
                      "customer": "Customer Name", "order_id": "Order ID"}


def _superstore_rows():
    with open(DATA / "superstore.csv", encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _expected_total() -> Decimal:
    rows = _superstore_rows()
    i = rows[0].index("Sales")
    return sum((Decimal(r[i]) for r in rows[1:]), Decimal(0))


def _check_superstore(staged, rows):
    report = staged.report
    assert report.rows_rejected == 0, report.examples
    assert report.rows_loaded == len(_superstore_rows()) - 1 == len(rows)
    assert {k: v["column"] for k, v in report.mapping.items()} == SUPERSTORE_MAPPING
    assert sum(r["amount"] for r in rows) == _expected_total()
    first = rows[0]
    assert first["order_id"] == "CA-2016-152156"
    assert first["occurred_at"].isoformat() == "2016-11-08T00:00:00+00:00"
    assert json.loads(first["extra"])["Ship Mode"] == "Second Class"


def test_superstore_utf8_ingests_with_right_mapping_and_no_rejects(tmp_path):
    _check_superstore(*run(DATA / "superstore.csv", tmp_path))


def test_superstore_semicolon_decimal_comma_cp1252(tmp_path):
    rows = _superstore_rows()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    numeric = {rows[0].index(c) for c in ("Sales", "Discount", "Profit")}
    writer.writerow(rows[0])
    for r in rows[1:]:
        writer.writerow([v.replace(".", ",") if i in numeric else v for i, v in enumerate(r)])
    data = out.getvalue().encode("cp1252", errors="replace")
    staged, loaded = run(data, tmp_path)
    assert staged.report.delimiter == ";"
    assert staged.report.encoding in ("cp1252", "latin-1")
    _check_superstore(staged, loaded)


def test_superstore_utf16_with_bom(tmp_path):
    text = (DATA / "superstore.csv").read_text(encoding="utf-8")
    staged, loaded = run(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), tmp_path)
    assert staged.report.encoding.startswith("utf-16")
    _check_superstore(staged, loaded)
