"""Workbooks through the ingest's stages: typed cells (dates, numbers, formulas as their
cached values), the first or a named sheet, headers below titles and blank rows,
merged header cells, rejected rows numbered as the sheet shows them, the same rows as
the CSV export of the same table, and .xlsx, .ods and .xls alike."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shared.ingest import IngestFailed, IngestOptions, stage
from shared.ingest.workbooks import cell_text, is_workbook, looks_like_workbook
from tests.support.workbooks import XLS_FIXTURE, ods, xlsx

HEADER = ["Order ID", "Order Date", "Product", "Price", "Quantity", "Total"]
ORDERS = [("A-1", dt.date(2024, 1, 2), "Tea", 2.5, 4),
          ("A-2", dt.date(2024, 1, 3), "Coffee", 3.1, 3),
          ("A-3", dt.datetime(2024, 1, 4, 18, 30), "Cocoa", 4.0, 1)]


def orders_sheet() -> tuple[list[list], dict[str, float]]:
    """Rows whose Total is a formula (=Price*Quantity) with the value Excel caches."""
    rows: list[list] = [HEADER]
    cached = {}
    for i, (oid, day, product, price, qty) in enumerate(ORDERS, start=2):
        rows.append([oid, day, product, price, qty, f"=D{i}*E{i}"])
        cached[f"F{i}"] = round(price * qty, 2)
    return rows, cached


def staged_rows(data: bytes, tmp_path: Path, **options) -> tuple[list[dict], object]:
    opts = IngestOptions("t1", "ds1", "up1", **options)
    staged = stage(lambda: io.BytesIO(data), opts, tmp_path)
    return pq.read_table(staged.parquet_path).to_pylist(), staged


def test_cells_keep_their_types_and_formulas_read_as_cached_values(tmp_path):
    rows, cached = orders_sheet()
    data = xlsx({"Orders": rows}, cached={"Orders": cached})
    loaded, staged = staged_rows(data, tmp_path, mapping={"amount": "Total"})
    assert staged.report.sheet == "Orders"
    assert [r["order_id"] for r in loaded] == ["A-1", "A-2", "A-3"]
    assert [r["occurred_date"] for r in loaded] == [dt.date(2024, 1, 2), dt.date(2024, 1, 3),
                                                    dt.date(2024, 1, 4)]
    assert loaded[2]["occurred_at"].replace(tzinfo=None) == dt.datetime(2024, 1, 4, 18, 30)
    assert [r["amount"] for r in loaded] == [Decimal("10"), Decimal("9.3"), Decimal("4")]
    assert [r["quantity"] for r in loaded] == [4, 3, 1]


def test_a_formula_without_a_cached_value_is_an_empty_cell(tmp_path):
    rows, _ = orders_sheet()
    data = xlsx({"Orders": rows})  # never calculated: no cached values
    with pytest.raises(IngestFailed) as failed:
        staged_rows(data, tmp_path, mapping={"amount": "Total"})
    assert failed.value.code == "mapping_type_mismatch"
    assert failed.value.details == {"column": "Total", "role": "amount", "type": "empty"}


def test_the_first_sheet_by_default_and_a_second_one_by_name(tmp_path):
    rows, cached = orders_sheet()
    other = [["Day", "Revenue"], [dt.date(2023, 5, 1), 100], [dt.date(2023, 5, 2), 250.75]]
    data = xlsx({"Orders": rows, "Daily": other}, cached={"Orders": cached})
    first, staged = staged_rows(data, tmp_path / "a")
    assert staged.report.sheets == ["Orders", "Daily"]
    assert len(first) == 3
    second, staged = staged_rows(data, tmp_path / "b", sheet="Daily")
    assert staged.report.sheet == "Daily"
    assert [(r["occurred_date"], r["amount"]) for r in second] == [
        (dt.date(2023, 5, 1), Decimal("100")), (dt.date(2023, 5, 2), Decimal("250.75"))]


def test_an_unknown_sheet_fails_naming_the_sheets_there_are(tmp_path):
    data = xlsx({"Orders": orders_sheet()[0], "Daily": [["Day", "Revenue"]]})
    with pytest.raises(IngestFailed) as failed:
        staged_rows(data, tmp_path, sheet="Sheet9")
    assert failed.value.code == "sheet_not_found"
    assert failed.value.details["sheets"] == ["Orders", "Daily"]
    assert failed.value.report.sheets == ["Orders", "Daily"]


def test_titles_blank_rows_and_merged_headers_above_the_table(tmp_path):
    rows = [[], ["Shop sales, January", None, None, None], [None] * 4,
            ["Date", "Amount", None, "Product"],
            [dt.date(2024, 1, 2), 10.5, 1, "Tea"],
            [dt.date(2024, 1, 3), 20, 2, "Coffee"], [None] * 4, [None] * 4]
    data = xlsx({"Sales": rows}, merges={"Sales": ["A2:D2", "B4:C4"]})
    loaded, staged = staged_rows(data, tmp_path)
    headers = [c["column"] for c in staged.report.columns]
    # The merged "Amount" names both its columns; the second is made unique.
    assert headers == ["Date", "Amount", "Amount_2", "Product"]
    assert staged.report.rows_read == 2  # trailing empty rows are no rows
    assert [(r["occurred_date"], r["amount"], r["product"]) for r in loaded] == [
        (dt.date(2024, 1, 2), Decimal("10.5"), "Tea"),
        (dt.date(2024, 1, 3), Decimal("20"), "Coffee")]


def test_a_merged_ods_header_names_its_covered_cells_column_n(tmp_path):
    """calamine reports no merges for .ods: the documented fallback."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    def cell(shown, **kw):
        c = TableCell(**kw)
        c.addElement(P(text=str(shown)))
        return c

    doc = OpenDocumentSpreadsheet()
    table = Table(name="Sales")
    head = TableRow()
    head.addElement(cell("Date", valuetype="string"))
    head.addElement(cell("Amount", valuetype="string", numbercolumnsspanned=2))
    head.addElement(CoveredTableCell())
    table.addElement(head)
    for day in (1, 2):
        row = TableRow()
        row.addElement(cell(f"2024-06-0{day}", valuetype="date",
                            datevalue=f"2024-06-0{day}"))
        row.addElement(cell(day * 5, valuetype="float", value=day * 5))
        row.addElement(cell(1, valuetype="float", value=1))
        table.addElement(row)
    doc.spreadsheet.addElement(table)
    out = io.BytesIO()
    doc.write(out)
    loaded, staged = staged_rows(out.getvalue(), tmp_path)
    assert [c["column"] for c in staged.report.columns] == ["Date", "Amount", "column_3"]
    assert [r["amount"] for r in loaded] == [Decimal("5"), Decimal("10")]


def test_rejected_rows_carry_their_sheet_row_numbers(tmp_path):
    rows = [["Exported 2024-02-01"], [],
            ["Date", "Sales", "Product"]]
    rows += [[dt.date(2024, 1, d), 10 + d, "Tea"] for d in range(1, 11)]
    rows[6][1] = "unknown"  # sheet row 7
    rows.insert(9, [None, None, None])  # a blank row inside the table, sheet row 10
    rows[11][0] = "not a date"  # sheet row 12
    data = xlsx({"Sales": rows})
    _, staged = staged_rows(data, tmp_path)
    assert staged.report.rows_rejected == 2
    with open(staged.rejected_path, encoding="utf-8", newline="") as fh:
        rejected = list(csv.DictReader(fh))
    assert [(r["row_number"], r["reason"]) for r in rejected] == [
        ("7", "invalid_amount"), ("12", "invalid_date")]
    assert sorted(e["row_number"] for e in staged.report.examples) == [7, 12]


def test_a_workbook_loads_the_rows_of_its_csv_export(tmp_path):
    """The same table as .xlsx and as the CSV a spreadsheet program exports."""
    rows, cached = orders_sheet()
    data = xlsx({"Orders": rows}, cached={"Orders": cached})
    export = io.StringIO()
    writer = csv.writer(export)
    writer.writerow(HEADER)
    for oid, day, product, price, qty in ORDERS:
        when = day.strftime("%Y-%m-%d %H:%M") if isinstance(day, dt.datetime) \
            else day.isoformat()
        writer.writerow([oid, when, product, price, qty, f"{price * qty:.2f}"])
    from_book, _ = staged_rows(data, tmp_path / "book", mapping={"amount": "Total"})
    from_csv, _ = staged_rows(export.getvalue().encode(), tmp_path / "csv",
                              mapping={"amount": "Total"})
    keys = ("occurred_at", "occurred_date", "amount", "quantity", "product", "order_id")
    assert [{k: r[k] for k in keys} for r in from_book] == \
        [{k: r[k] for k in keys} for r in from_csv]


def test_an_ods_written_by_odfpy(tmp_path):
    data = ods({"Ventes": [["Date", "Montant", "Produit"],
                           [dt.date(2024, 6, 1), 12.75, "Thé"],
                           [dt.date(2024, 6, 2), 3, "Café"]],
                "Notes": [["ignored"]]})
    assert looks_like_workbook(data)
    loaded, staged = staged_rows(data, tmp_path, mapping={"amount": "Montant",
                                                          "occurred_at": "Date"})
    assert staged.report.sheets == ["Ventes", "Notes"]
    assert [(r["occurred_date"], r["amount"]) for r in loaded] == [
        (dt.date(2024, 6, 1), Decimal("12.75")), (dt.date(2024, 6, 2), Decimal("3"))]


def test_an_xls_workbook(tmp_path):
    loaded, staged = staged_rows(XLS_FIXTURE.read_bytes(), tmp_path)
    assert staged.report.rows_read == 10
    assert staged.report.rows_rejected == 1
    assert staged.report.examples[0]["row_number"] == 4  # A-3's sheet row
    assert loaded[0]["occurred_date"] == dt.date(2024, 3, 1)
    assert loaded[0]["amount"] == Decimal("12.5")


def test_a_zip_that_is_no_workbook_fails_as_a_whole(tmp_path):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hello")
    with pytest.raises(IngestFailed) as failed:
        staged_rows(buf.getvalue(), tmp_path)
    assert failed.value.code == "workbook_unreadable"
    assert not list(tmp_path.glob("*.workbook")) and not list(tmp_path.glob("*.sheet.csv"))


@pytest.mark.parametrize(("value", "text"), [
    (dt.date(2024, 1, 2), "2024-01-02"), (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
    (12.0, "12"), (0.1 + 0.2, "0.3"), (1e20, "100000000000000000000"), (2.5e-7, "0.00000025"),
    (-3.75, "-3.75"), (True, "true"), ("", ""), (None, ""), ("text", "text")])
def test_cells_are_written_in_forms_the_csv_path_reads_unambiguously(value, text):
    assert cell_text(value) == text


def test_a_decimal_comma_chosen_for_the_upload_applies_to_number_cells():
    assert cell_text(1234.5, decimal=",") == "1234,5"


@pytest.mark.parametrize(("name", "ctype", "expected"), [
    ("sales.xlsx", None, True), ("SALES.XLS", "application/vnd.ms-excel", True),
    ("sales.ods", None, True),
    ("sales.csv", "application/vnd.ms-excel", False),  # Windows labels CSV so
    ("export", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", True),
    ("sales.csv", "text/csv", False)])
def test_is_workbook_by_name_or_content_type(name, ctype, expected):
    assert is_workbook(name, ctype) is expected


@pytest.mark.parametrize("rows", [2_000, pytest.param(200_000, marks=pytest.mark.full)])
def test_a_large_sheet_loads_every_row(tmp_path, rows):
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet("Orders")
    ws.append(["Order Date", "Sales", "Quantity", "Region"])
    start = dt.date(2024, 1, 1)
    for i in range(rows):
        ws.append([start + dt.timedelta(days=i % 366), (i % 100) + 0.25, i % 5 + 1,
                   ("East", "West")[i % 2]])
    path = tmp_path / "big.xlsx"
    book.save(path)
    _, staged = staged_rows(path.read_bytes(), tmp_path / "out")
    assert staged.report.rows_loaded == rows
    table = pq.read_table(staged.parquet_path, columns=["amount"])
    expected = sum(Decimal(i % 100) + Decimal("0.25") for i in range(rows))
    assert sum(table.column("amount").to_pylist()) == expected
