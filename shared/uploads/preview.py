"""The mapping preview: what the ingest would make of a file, from its first MiB, before
the file is uploaded, so the user can correct a role first (the way Metabase and
Looker Studio confirm a CSV's schema).

The head is run through the very ingest (`shared.ingest.stage`: sniff, settle, map,
convert) into a scratch directory, so the preview cannot disagree with the load on
anything the head shows. Types settled from a head may still change over the whole
file; the answer says when it saw only part of the file.

A workbook is a zip (or an OLE2 file) that its first MiB cannot open, so its preview
takes the whole file, up to WORKBOOK_PREVIEW_BYTES, and reads the first
WORKBOOK_PREVIEW_ROWS data rows of the chosen sheet; the answer lists the sheets.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared import errors

if TYPE_CHECKING:
    from shared.ingest import IngestOptions

PREVIEW_BYTES = 1024 * 1024  # what the browser sends: File.slice(0, 1 MiB)
# Cloud Run functions take HTTP requests of up to 32 MB
# (https://cloud.google.com/functions/quotas#resource_limits); a workbook preview stays
# well under it. A larger workbook is loaded without a preview.
WORKBOOK_PREVIEW_BYTES = 20 * 1024 * 1024
WORKBOOK_PREVIEW_ROWS = 10_000  # about what the first MiB of a CSV holds
SAMPLE_ROWS = 10
# Refusals a mapping (or a date order) chosen on the preview can cure: answered with what
# could be read. Any other (no text, no header, no data row, unparsable) is a 400.
CURABLE = frozenset({"no_date_column", "no_measure_column", "ambiguous_date_format",
                     "mapping_column_missing", "mapping_type_mismatch"})
_SAMPLE_COLUMNS = ("row_number", "occurred_at", "amount", "quantity", "product",
                   "category", "region", "customer", "channel", "order_id")


def preview(head: bytes, *, partial: bool, mapping: dict[str, str | None] | None = None,
            date_order: str | None = None, decimal_separator: str | None = None,
            sheet: str | None = None) -> dict[str, Any]:
    """Columns, roles (with how each was found), types and parsed sample rows of a
    file's head. `partial`: the head is cut from a longer file, so its last line is
    dropped (it may be cut in two). A head the ingest would refuse answers its error
    beside what could be read, so the user sees why and can map a column; a head that
    cannot be read as a CSV with data rows at all is a 400 with the ingest's reason."""
    from shared.ingest import IngestFailed, IngestOptions, stage
    from shared.ingest.workbooks import looks_like_workbook

    if not head:
        raise errors.InvalidInput("the body must hold the first bytes of the CSV file",
                                  code="body_required")
    if looks_like_workbook(head):
        return _workbook(head, partial,
                         IngestOptions("preview", "preview", "preview", mapping=mapping or None,
                                       date_order=date_order, sheet=sheet,
                                       decimal_separator=decimal_separator,
                                       max_reject_share=1.0))
    if len(head) > PREVIEW_BYTES:
        raise errors.TooLarge(f"a preview reads at most the first {PREVIEW_BYTES} bytes",
                              code="preview_too_large",
                              details={"limit_bytes": PREVIEW_BYTES})
    if partial and b"\n" in head:
        head = head[:head.rindex(b"\n") + 1]
    # No reject limit: the preview shows what is wrong instead of failing on it.
    opts = IngestOptions("preview", "preview", "preview", mapping=mapping or None,
                         date_order=date_order, decimal_separator=decimal_separator,
                         max_reject_share=1.0)
    with tempfile.TemporaryDirectory(prefix="tidemark-preview-") as tmp:
        try:
            staged = stage(lambda: io.BytesIO(head), opts, Path(tmp))
        except IngestFailed as exc:
            if exc.code not in CURABLE:
                raise
            report = getattr(exc, "report", None)
            out = _answer(report.to_dict() if report is not None else {}, [], partial)
            out["error"] = exc.to_dict()["error"]
            return out
        rows = _sample(staged.parquet_path)
        return _answer(staged.report.to_dict(), rows, partial)


def _workbook(body: bytes, partial: bool, opts: IngestOptions) -> dict[str, Any]:
    """A whole workbook's preview: the chosen sheet's first rows."""
    from shared.ingest import IngestFailed, stage

    if partial:
        raise errors.InvalidInput("a workbook's preview needs the whole file, not its head",
                                  code="workbook_partial")
    if len(body) > WORKBOOK_PREVIEW_BYTES:
        raise errors.TooLarge(f"a workbook preview reads at most {WORKBOOK_PREVIEW_BYTES} "
                              "bytes", code="preview_too_large",
                              details={"limit_bytes": WORKBOOK_PREVIEW_BYTES})
    with tempfile.TemporaryDirectory(prefix="tidemark-preview-") as tmp:
        try:
            staged = stage(lambda: io.BytesIO(body), opts, Path(tmp),
                           max_sheet_rows=WORKBOOK_PREVIEW_ROWS)
        except IngestFailed as exc:
            report = getattr(exc, "report", None)
            # Another sheet may cure any refusal of this one: answered with the sheets.
            if report is None or not report.sheets:
                raise
            out = _answer(report.to_dict() if report is not None else {}, [], False)
            out["error"] = exc.to_dict()["error"]
            return out
        return _answer(staged.report.to_dict(), _sample(staged.parquet_path),
                       staged.report.sheet_cut)


def _sample(parquet_path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    if not parquet_path.exists():
        return []
    table = pq.read_table(parquet_path, columns=list(_SAMPLE_COLUMNS)).slice(0, SAMPLE_ROWS)
    return [{k: _plain(v) for k, v in row.items()} for row in table.to_pylist()]


def _plain(value: Any) -> Any:
    """JSON-able: timestamps as ISO text, decimals as text (no float rounding)."""
    from datetime import datetime
    from decimal import Decimal

    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _answer(report: dict[str, Any], rows: list[dict[str, Any]],
            partial: bool) -> dict[str, Any]:
    return {"columns": report.get("columns") or [], "roles": report.get("roles") or {},
            "mapping": report.get("mapping") or {}, "sample_rows": rows,
            "rows_read": report.get("rows_read") or 0,
            "rows_rejected": report.get("rows_rejected") or 0,
            "rejected_by_reason": report.get("rejected_by_reason") or {},
            "warnings": report.get("warnings") or [],
            "encoding": report.get("encoding") or None,
            "delimiter": report.get("delimiter") or None, "partial": partial,
            "sheet": report.get("sheet") or None, "sheets": report.get("sheets") or [],
            "error": None}
