"""Workbooks (.xlsx, .xls, .ods) as ingest sources, read with python-calamine.

A sheet is turned into the canonical CSV the CSV path already reads without guessing,
and that CSV goes through the very same stages (whole-column typing, mapping,
validation report, quarantine), so a workbook and its CSV export load alike. The
alternative, a second row source inside the pipeline, would duplicate the Arrow
conversion that the CSV reader and `convert` already do well; the cost of the detour
is one write and one read of a local file, small next to reading the workbook.

Cells keep the types the workbook gives them: a date cell is written as an ISO date
(a date-time as ISO date-time), a number as a plain decimal (no grouping, no
exponent), a formula as its cached value (calamine reads the value the spreadsheet
program stored; a file whose formulas were never calculated has none, and the cell
arrives empty). The CSV is written UTF-8 with "," delimiters and the header is known,
so the sniffer's guesses (encoding, delimiter, header line) are skipped: `Converted`
carries the `Sniffed` the pipeline would otherwise infer.

The header is the first row with mostly non-empty text cells (titles and blank rows
above a table are skipped). An empty header cell inside a merged range takes the text
of the range's anchor where calamine reports merges (.xlsx, .xls); it reports none for
.ods (python-calamine 0.9 answers None there), so the covered cells of a merged .ods
header stay empty and are named column_<n>, as a blank CSV header is.

Memory: calamine reads a whole sheet into its own compact cell array before the rows
are iterated (it has no lazy row reader, see
https://github.com/dimastbk/python-calamine/issues/42), so peak memory grows with the
sheet's cell count, about 70 bytes a cell; the Python side holds one row at a time.
benchmarks/workbook_bench.py measures it.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
import shutil
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from shared.ingest.report import IngestFailed, Report
from shared.ingest.sniff import Sniffed, unique_headers

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS_TYPE = "application/vnd.ms-excel"
ODS_TYPE = "application/vnd.oasis.opendocument.spreadsheet"
EXTENSIONS = {".xlsx": XLSX_TYPE, ".xlsm": XLSX_TYPE, ".xls": XLS_TYPE, ".ods": ODS_TYPE}
# Zip (xlsx, ods) and OLE2 compound file (xls) signatures: what the bytes are decides
# how they are read, whatever the name or content type said.
_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
# The header is the first row, among these, with mostly non-empty text cells; rows
# above it (titles, notes, blank rows) are skipped.
HEADER_SEARCH_ROWS = 50
_COPY_CHUNK = 1024 * 1024


def is_workbook(name: str | None, content_type: str | None) -> bool:
    """Whether an upload is a workbook by its name or content type, for callers that
    must decide before reading it (a workbook cannot be split at byte offsets, nor
    previewed from its first MiB). `application/vnd.ms-excel` alone is not enough:
    browsers on Windows label .csv files with it."""
    suffix = Path(name or "").suffix.lower()
    if suffix in EXTENSIONS:
        return True
    ctype = (content_type or "").split(";")[0].strip().lower()
    return ctype in (XLSX_TYPE, ODS_TYPE) and suffix not in (".csv", ".tsv", ".txt")


def looks_like_workbook(head: bytes) -> bool:
    """Whether a file's first bytes are a zip or an OLE2 container (never text)."""
    return head.startswith(_MAGIC)


@dataclass
class Converted:
    """A sheet written as canonical CSV, and how its rows map back to the sheet."""

    csv_path: Path
    sheet: str
    sheets: list[str]
    sniffed: Sniffed
    # The sheet row number (1-based, as the spreadsheet shows it) of each data row.
    sheet_rows: array = field(default_factory=lambda: array("l"))
    truncated: bool = False

    def sheet_row(self, data_row: int) -> int:
        """The sheet row of the data_row-th (1-based) data row of the CSV."""
        return int(self.sheet_rows[data_row - 1])

    def describe(self, report: Report) -> None:
        """The sheet in the report; a preview cut short says so."""
        report.sheet, report.sheets = self.sheet, list(self.sheets)
        report.sheet_cut = self.truncated
        if self.truncated:
            report.warn(f"only the first {len(self.sheet_rows)} data rows of sheet "
                        f"{self.sheet!r} were read")

    def renumber(self, report: Report, rejected: Path | None) -> None:
        """Row numbers of the rejected rows and the report's examples as the spreadsheet
        shows them: the CSV path counts data rows, and a sheet's header may sit lower
        down, with blank rows between data rows."""
        for example in report.examples:
            if example.get("row_number"):
                example["row_number"] = self.sheet_row(int(example["row_number"]))
        if rejected is None or not rejected.exists():
            return
        renumbered = rejected.with_suffix(".renumbered")
        with open(rejected, encoding="utf-8", newline="") as src, \
                open(renumbered, "w", encoding="utf-8", newline="") as dst:
            reader, writer = csv.reader(src), csv.writer(dst)
            writer.writerows(itertools.islice(reader, 1))
            for row in reader:
                if row and row[0].isdigit():
                    row[0] = str(self.sheet_row(int(row[0])))
                writer.writerow(row)
        renumbered.replace(rejected)


def _failed(message: str, exc: Exception | None = None, **details: Any) -> IngestFailed:
    if exc is not None:
        details["reason"] = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
    return IngestFailed(message, code="workbook_unreadable", details=details)


def _open(path: Path):
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except (CalamineError, ValueError, OSError) as exc:
        raise _failed("the file could not be read as a workbook (.xlsx, .xls or .ods)",
                      exc) from None


def _worksheets(book) -> list[str]:
    """The visible worksheets, in workbook order (chart sheets hold no rows)."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    return [m.name for m in book.sheets_metadata
            if m.typ == SheetTypeEnum.WorkSheet and m.visible == SheetVisibleEnum.Visible]


def sheet_names(path: Path) -> list[str]:
    book = _open(path)
    try:
        return _worksheets(book)
    finally:
        book.close()


def _number(value: float, decimal: str = ".") -> str:
    if value.is_integer() and abs(value) < 2 ** 53:
        return str(int(value))
    if not math.isfinite(value):
        return ""
    # 15 significant digits, as spreadsheets show and export them: a sum stored as
    # 0.30000000000000004 reads 0.3, as in the CSV the same program would write.
    text = format(value, ".15g")
    if "e" in text:
        text = format(Decimal(text), "f")
    return text if decimal == "." else text.replace(".", decimal)


# By exact type (calamine hands back these), without a chain of isinstance checks:
# this runs once per cell.
_FORMATS: dict[type, Callable[[Any, str], str]] = {
    float: _number,
    dt.date: lambda v, _: v.isoformat(),
    dt.datetime: lambda v, _: v.isoformat(sep="T"),
    dt.time: lambda v, _: v.isoformat(),
    bool: lambda v, _: "true" if v else "false",
    int: lambda v, _: str(v),
    dt.timedelta: lambda v, _: str(v),
}


def cell_text(value: Any, decimal: str = ".") -> str:
    """A typed cell in the form the CSV path parses unambiguously."""
    if value is None:
        return ""
    fmt = _FORMATS.get(type(value))
    return fmt(value, decimal) if fmt is not None else str(value)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _filled(value: Any) -> bool:
    return not (value is None or (isinstance(value, str) and not value.strip()))


def _header_index(rows: list[list[Any]]) -> int | None:
    """The first row with mostly non-empty text cells: at least half the width filled,
    and most of its filled cells text. A lone title cell above a table fails the first
    test, a row of figures the second."""
    width = max((len(r) for r in rows), default=0)
    for i, row in enumerate(rows):
        filled = [v for v in row if _filled(v)]
        texts = sum(1 for v in filled if _is_text(v))
        if filled and len(filled) * 2 >= width and texts * 2 > len(filled):
            return i
    for i, row in enumerate(rows):  # no such row: the first non-blank one
        if any(_filled(v) for v in row):
            return i
    return None


def _header(rows: list[list[Any]], at: int, merges: list, col0: int) -> list[str]:
    """The header row's names; an empty cell inside a merged range takes the text of
    the range's anchor (its top-left cell), so a title merged over two columns names
    both (made unique later: "Amounts", "Amounts_2")."""
    names = ["" if not _filled(v) else str(v).strip() for v in rows[at]]
    for (r0, c0), (r1, c1) in merges:
        if not r0 <= at <= r1:
            continue
        anchor_row = rows[r0] if r0 < len(rows) else []
        a = c0 - col0
        text = str(anchor_row[a]).strip() if 0 <= a < len(anchor_row) \
            and _filled(anchor_row[a]) else ""
        for c in range(c0 - col0, c1 - col0 + 1):
            if 0 <= c < len(names) and not names[c]:
                names[c] = text
    return names


def _trimmed(row: list[Any], width: int) -> list[Any]:
    return row[:width] + [""] * (width - len(row))


def convert(path: Path, out: Path, *, sheet: str | None = None, decimal: str = ".",
            max_rows: int | None = None) -> Converted:
    """Write one sheet (the first visible one unless `sheet` names another) of the
    workbook at `path` to `out` as canonical CSV. Blank leading rows and rows above the
    header are skipped; empty rows and empty columns past the data are dropped.
    `max_rows` stops after that many data rows (a preview) and sets `truncated`."""
    from python_calamine import CalamineError

    book = _open(path)
    try:
        names = _worksheets(book)
        if not names:
            raise _failed("the workbook has no worksheet")
        chosen = sheet if sheet is not None else names[0]
        if chosen not in names:
            raise IngestFailed(f"the workbook has no sheet {chosen!r}", code="sheet_not_found",
                               details={"sheet": chosen, "sheets": names})
        try:
            ws = book.get_sheet_by_name(chosen)
            rows: Iterator[list[Any]] = iter(ws.iter_rows())
            merges = list(ws.merged_cell_ranges or [])
            col0 = ws.start[1] if ws.start else 0
            return _write(rows, out, chosen, names, merges, col0, decimal, max_rows)
        except CalamineError as exc:
            raise _failed("the sheet could not be read", exc, sheet=chosen) from None
    finally:
        book.close()


def _write(rows: Iterator[list[Any]], out: Path, sheet: str, sheets: list[str],
           merges: list, col0: int, decimal: str, max_rows: int | None) -> Converted:
    head: list[list[Any]] = []
    for row in rows:
        head.append(row)
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    at = _header_index(head)
    if at is None:
        raise IngestFailed(f"the sheet {sheet!r} is empty", code="empty_file",
                           details={"sheet": sheet, "sheets": sheets})
    # Every column of the sheet's used range, whose bounds calamine sets by the cells
    # holding values: columns empty throughout are past it already, and a column with
    # values under a blank header cell is kept (named column_<n>), never cut off.
    width = max(len(r) for r in head)
    raw = _header(head, at, merges, col0) + [""] * (width - len(head[at]))
    sheet_rows = array("l")
    truncated = False
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(raw)

        def body() -> Iterator[tuple[int, list[Any]]]:
            yield from ((i, r) for i, r in enumerate(head) if i > at)
            yield from enumerate(rows, start=len(head))

        for index, row in body():
            # Text is most cells: kept as is without a call (this loop is most of the
            # time a workbook costs, see benchmarks/README.md).
            cells = [v if type(v) is str else cell_text(v, decimal)
                     for v in _trimmed(row, width)]
            if not any(c.strip() for c in cells):
                continue  # the CSV reader skips blank lines too; trailing ones end here
            if max_rows is not None and len(sheet_rows) >= max_rows:
                truncated = True
                break
            writer.writerow(cells)
            sheet_rows.append(index + 1)
    return Converted(out, sheet, sheets,
                     Sniffed(encoding="utf-8", delimiter=",", skip_lines=1,
                             headers=unique_headers(raw)),
                     sheet_rows, truncated)


def spool(open_stream: Callable[[], BinaryIO], path: Path) -> None:
    """Copy the object to a local file: a zip is read from its end (the central
    directory), so the reader needs the whole file, not a stream."""
    with open_stream() as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst, _COPY_CHUNK)


__all__ = ["EXTENSIONS", "ODS_TYPE", "XLSX_TYPE", "XLS_TYPE", "Converted", "cell_text",
           "convert", "is_workbook", "looks_like_workbook", "sheet_names", "spool"]
