"""The parser on generated files: whole-column settling (evidence at the last row of a
file far larger than any sample), wide and huge-field files, quarantine output, and
property-based fuzzing: never a crash, never a partial load."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.ingest import IngestFailed, IngestOptions, stage
from shared.ingest.rejects import neutralize
from shared.ingest.sniff import detect_encoding, unique_headers


def _stage(data: bytes, tmp_path, **opts):
    return stage(lambda: io.BytesIO(data), IngestOptions("t", "d", "u", **opts),
                 tmp_path / "stage")


def test_day_first_is_settled_by_the_last_row_of_a_big_file(tmp_path):
    # ~12 MB: every row but the last reads either way; only the last says day-first.
    lines = ["date,amount"] + [f"{(i % 12) + 1:02d}/{(i % 7) + 1:02d}/2023,{i}.25"
                               for i in range(600_000)] + ["31/12/2023,1.00"]
    staged = _stage("\n".join(lines).encode(), tmp_path)
    assert staged.report.rows_rejected == 0
    assert staged.report.rows_loaded == 600_001
    table = pq.read_table(staged.parquet_path, columns=["occurred_at"])
    first = table.column("occurred_at")[0].as_py()
    assert (first.day, first.month) == (1, 1)
    second = table.column("occurred_at")[1].as_py()
    assert (second.day, second.month) == (2, 2)
    assert table.column("occurred_at")[-1].as_py().isoformat().startswith("2023-12-31")


def test_decimal_comma_evidence_late_in_file(tmp_path):
    # "1,234" alone is ambiguous; the very last value "7,5" settles it as decimal comma.
    lines = ["date;amount"] + ["2024-01-05;1,234"] * 200_000 + ["2024-01-06;7,5"]
    staged = _stage("\n".join(lines).encode(), tmp_path)
    amounts = pq.read_table(staged.parquet_path, columns=["amount"]).column("amount")
    assert str(amounts[0].as_py().normalize()) == "1.234"
    assert str(amounts[-1].as_py().normalize()) == "7.5"


def test_ten_thousand_columns(tmp_path):
    header = ["date", "amount"] + [f"c{i}" for i in range(9_998)]
    row = ["2024-01-05", "3"] + ["x"] * 9_998
    data = "\n".join(",".join(r) for r in (header, row, row)).encode()
    staged = _stage(data, tmp_path)
    assert staged.report.rows_loaded == 2
    extra = json.loads(pq.read_table(staged.parquet_path).column("extra")[0].as_py())
    assert len(extra) == 9_998


def test_one_megabyte_single_field(tmp_path):
    big = "y" * (1024 * 1024)
    data = f'date,amount,note\n2024-01-05,1,"{big}"\n2024-01-06,2,small\n'.encode()
    staged = _stage(data, tmp_path)
    assert staged.report.rows_loaded == 2
    extra = json.loads(pq.read_table(staged.parquet_path).column("extra")[0].as_py())
    assert extra["note"] == big


def test_rejected_rows_csv_has_reason_and_neutralized_formulas(tmp_path):
    rows = [f"2024-01-{d:02d},P,{d}" for d in range(1, 10)]
    rows.append('2024-01-10,"=HYPERLINK(""http://evil"")",@SUM(A1)')
    staged = _stage(("date,product,amount\n" + "\n".join(rows)).encode(), tmp_path)
    assert staged.report.rows_rejected == 1
    with open(staged.rejected_path, encoding="utf-8", newline="") as fh:
        out = list(csv.DictReader(fh))
    assert len(out) == 1
    assert out[0]["reason"] == "invalid_amount"
    assert out[0]["row_number"] == "10"
    assert out[0]["column"] == "amount"
    assert out[0]["value"] == "'@SUM(A1)"
    assert out[0]["product"] == "'=HYPERLINK(\"http://evil\")"


@pytest.mark.parametrize("cell,want", [("=1+1", "'=1+1"), ("+A1", "'+A1"), ("-A1", "'-A1"),
                                       ("@x", "'@x"), ("\tx", "'\tx"), ("-12.5", "-12.5"),
                                       ("plain", "plain"), (None, "")])
def test_neutralize(cell, want):
    assert neutralize(cell) == want


def test_headers_made_unique_and_blank_named():
    assert unique_headers(["a", "A", "", "a"]) == ["a", "A_2", "column_3", "a_3"]


@pytest.mark.parametrize("data,enc", [
    (b"plain ascii", "utf-8"),
    ("\ufeffé".encode(), "utf-8"),
    ("é,ü".encode("utf-16"), "utf-16"),
    ("Crème brûlée, café €5".encode("cp1252") * 20, "cp1252"),
])
def test_detect_encoding(data, enc):
    assert detect_encoding(data) == enc


def test_user_mapping_overrides_and_unknown_column_fails(tmp_path):
    data = b"date,sales,other_value\n2024-01-05,1,10\n2024-01-06,2,20\n"
    staged = _stage(data, tmp_path, mapping={"amount": "other_value"})
    assert staged.report.mapping["amount"] == {"column": "other_value", "by": "user"}
    with pytest.raises(IngestFailed) as info:
        _stage(data, tmp_path, mapping={"amount": "nope"})
    assert info.value.code == "mapping_column_missing"
    assert "sales" in info.value.details["columns_seen"]


def test_date_order_option_settles_an_ambiguous_column(tmp_path):
    data = b"date,amount\n01/02/2024,1\n03/04/2024,2\n"
    staged = _stage(data, tmp_path, date_order="MDY")
    first = pq.read_table(staged.parquet_path).column("occurred_at")[0].as_py()
    assert (first.month, first.day) == (1, 2)


def test_no_date_message_names_columns_and_needs(tmp_path):
    with pytest.raises(IngestFailed) as info:
        _stage(b"product,amount\nA,1\n", tmp_path)
    assert "product" in info.value.message and "amount" in info.value.message
    assert info.value.details["needs"] == "occurred_at"


# ------------------------------------------------------------------------- fuzzing

_cells = st.one_of(st.text(max_size=12), st.sampled_from(
    ["2024-01-05", "13/01/2024", "1,5", "(3.00)", "$4", '"', '""', "\n", "\r", ";", "\x00",
     "=1+1", "", "NA"]))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_cells, min_size=1, max_size=5), min_size=0, max_size=12),
       header=st.sampled_from(["date,amount,product", "date;amount", "x,y", ""]),
       delim=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]))
def test_fuzz_never_crashes_never_partially_loads(tmp_path, rows, header, delim, encoding):
    text = header + "\n" + "\n".join(delim.join(r) for r in rows)
    data = text.encode(encoding, errors="replace")
    workdir = tmp_path / "fuzz"
    try:
        staged = stage(lambda: io.BytesIO(data), IngestOptions("t", "d", "u"), workdir)
    except IngestFailed as exc:
        assert exc.code and exc.message
        assert not list(workdir.glob("*.parquet")), "a failed file leaves nothing to load"
        return
    report = staged.report
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    assert report.rows_rejected <= 0.2 * report.rows_read
    table = pq.read_table(staged.parquet_path)
    assert table.num_rows == report.rows_loaded
    assert table.column("occurred_at").null_count == 0
    for value in table.column("extra").to_pylist():
        assert value is None or isinstance(json.loads(value), dict)
    staged.parquet_path.unlink()
