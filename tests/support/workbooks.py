"""Workbooks for the tests, written by the libraries spreadsheet users' files come from:
openpyxl for .xlsx, odfpy for .ods (LibreOffice's OpenDocument format). The .xls
fixture is vendored (tests/data/workbooks/orders.xls, see its README): no maintained
library writes the legacy format.

openpyxl stores formulas without their computed values (it does not calculate), which
is not what a file saved by Excel holds; `cached_formulas` writes the value Excel
would have stored beside each formula, as the file format allows (ECMA-376 Part 1,
18.3.1.96: a cell's <f> formula and its <v> last computed value).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
XLS_FIXTURE = ROOT / "tests" / "data" / "workbooks" / "orders.xls"
Row = Sequence[Any]


def xlsx(sheets: dict[str, list[Row]], *, merges: dict[str, list[str]] | None = None,
         cached: dict[str, dict[str, Any]] | None = None) -> bytes:
    """An .xlsx with one worksheet per entry, in order. `merges`: sheet -> ranges
    ("B4:C4"); `cached`: sheet -> {cell: value} for cells holding a formula."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(list(row))
        for ref in (merges or {}).get(name, []):
            ws.merge_cells(ref)
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    if cached:
        index = {name: i for i, name in enumerate(sheets, start=1)}
        data = cached_formulas(data, {f"xl/worksheets/sheet{index[s]}.xml": v
                                      for s, v in cached.items()})
    return data


def cached_formulas(data: bytes, values: dict[str, dict[str, Any]]) -> bytes:
    """The .xlsx with the given cached values written into its formula cells."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            for cell, value in values.get(item.filename, {}).items():
                text = body.decode()
                pattern = re.compile(rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)<v\s*/>')
                assert pattern.search(text), f"no formula cell {cell} in {item.filename}"
                body = pattern.sub(lambda m, v=value: f"{m.group(1)}{m.group(2)}<v>{v}</v>",
                                   text).encode()
            dst.writestr(item, body)
    return out.getvalue()


def ods(sheets: dict[str, list[Row]]) -> bytes:
    """An .ods with one table per entry; dates, numbers and texts as typed cells."""
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    doc = OpenDocumentSpreadsheet()
    for name, rows in sheets.items():
        table = Table(name=name)
        for row in rows:
            tr = TableRow()
            for value in row:
                tr.addElement(_ods_cell(TableCell, P, value))
            table.addElement(tr)
        doc.spreadsheet.addElement(table)
    out = io.BytesIO()
    doc.write(out)
    return out.getvalue()


def _ods_cell(cell_class, p_class, value: Any):
    if value is None:
        return cell_class()
    if isinstance(value, dt.date):
        cell = cell_class(valuetype="date", datevalue=value.isoformat())
    elif isinstance(value, int | float) and not isinstance(value, bool):
        cell = cell_class(valuetype="float", value=value)
    else:
        cell = cell_class(valuetype="string")
    cell.addElement(p_class(text=str(value)))
    return cell


def csv_as_xlsx(csv_path: Path, out: Path, *, dates: Sequence[str], numbers: Sequence[str],
                sheet: str = "Orders", before: dict[str, list[Row]] | None = None) -> int:
    """The CSV as a spreadsheet program saves it after opening it: the named columns as
    date and number cells, the rest as text; `before`: sheets placed ahead of it. The
    number of data rows."""
    import csv

    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    for name, rows in (before or {}).items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    ws = book.create_sheet(sheet)
    count = 0
    with open(csv_path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        ws.append(header)
        kinds = ["date" if h in dates else "number" if h in numbers else "text"
                 for h in header]
        for row in reader:
            ws.append([_typed(v, k) for v, k in zip(row, kinds, strict=True)])
            count += 1
    book.save(out)
    return count


def _typed(value: str, kind: str) -> Any:
    if value == "" or kind == "text":
        return value or None
    if kind == "date":
        return dt.date.fromisoformat(value)
    number = float(value)
    return int(number) if number.is_integer() and "." not in value else number
