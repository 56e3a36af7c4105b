"""The report's accounting on its own: a role named by a header but not used is a
warning that says what the dashboard loses; the amounts' returns and outliers are
counted over the whole staged file."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from shared.ingest import accounting
from shared.ingest.mapping import ColumnMapping
from shared.ingest.report import Report
from shared.ingest.settle import ColumnType


def test_a_role_named_by_its_header_but_not_used_is_a_warning():
    types = {"Date": ColumnType("date", date_kind="iso", share=1.0),
             "Amount": ColumnType("text", share=1.0),
             "Qty": ColumnType("number", share=1.0)}
    mapping = ColumnMapping(roles={"occurred_at": "Date", "quantity": "Qty"},
                            how={"occurred_at": "header", "quantity": "header"})
    report = Report()
    accounting.dropped_roles(list(types), types, mapping, report)
    [warning] = report.warnings
    assert "'Amount' is named like the amount" in warning
    assert "no revenue figures" in warning
    roles = accounting.roles(mapping)
    assert roles["amount"]["status"] == "not_found"
    assert roles["unit_price"]["impact"].startswith("amounts cannot be derived")


def test_no_warning_when_every_named_role_is_used():
    types = {"Date": ColumnType("date", date_kind="iso", share=1.0),
             "Amount": ColumnType("number", share=1.0)}
    mapping = ColumnMapping(roles={"occurred_at": "Date", "amount": "Amount"})
    report = Report()
    accounting.dropped_roles(list(types), types, mapping, report)
    assert report.warnings == []


def test_amounts_counts_returns_and_outliers_across_row_groups(tmp_path):
    values = [Decimal("10.00")] * 3000 + [Decimal("-4.50")] * 30 + [Decimal("99999")]
    table = pa.table({"row_number": pa.array(range(1, len(values) + 1), pa.int64()),
                      "amount": pa.array(values, pa.decimal128(38, 9))})
    path = tmp_path / "staged.parquet"
    pq.write_table(table, path, row_group_size=500)
    report = Report()
    got = accounting.amounts(path, report)
    assert got["negative_count"] == 30 and got["negative_sum"] == "-135"
    assert got["outlier_count"] == 1 and got["outlier_examples"] == ["99999 (row 3031)"]
    assert len(report.warnings) == 2


def test_amounts_of_a_file_without_amounts_is_empty(tmp_path):
    path = tmp_path / "staged.parquet"
    pq.write_table(pa.table({"row_number": pa.array([1], pa.int64()),
                             "amount": pa.array([None], pa.decimal128(38, 9))}), path)
    report = Report()
    assert accounting.amounts(path, report) == {} and report.warnings == []
