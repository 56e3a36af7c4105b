"""Duplicates: the same file appended twice, and exports whose dates overlap.

Three checks, all on an append (a replace swaps the dataset's rows, so nothing it
brings can double what was there):
- content: the SHA-256 of the object's bytes, taken while the ingest streams the file
  (no extra read). The lookup is a document keyed by (dataset, fingerprint), read and
  taken in one transaction, so no Firestore query and no index is needed, and two
  identical appends ingested at once cannot both get in. The object's own MD5 is not used: GCS
  gives none for composite objects, and the local store gives none at all
  (https://cloud.google.com/storage/docs/hashes-etags#composite-objects).
- dates: the staged file's first and last business date (its Parquet statistics) are
  compared with the rows already loaded into the dataset, upload by upload, in the
  warehouse; every overlap is a warning naming the earlier upload and the rows involved.
- order lines: a line whose order id is already loaded in the dataset (within the
  file's date range) is a repeat of that line, not a new sale. It is kept out of the
  load and rejected as `duplicate_order_line` (counted, and in the rejected download),
  so revenue is never doubled. A user who confirms a duplicate (`confirm_duplicate`)
  states that the content is new: then neither the content nor the order lines are
  held back, and only the date overlap is reported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from shared.ingest.rejects import LEAD_COLUMNS, neutralize
from shared.uploads.records import datasets_path, fingerprint_key, fingerprints_path, uploads_path

if TYPE_CHECKING:
    from shared.bootstrap import Deps
    from shared.ingest.pipeline import Staged
    from shared.ingest.report import Report
    from shared.ports import Transaction
    from shared.uploads.claims import IngestRun

REASON = "duplicate_order_line"
_CHUNK = 1024 * 1024


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it; the digest counts only when one read
    went from the first byte to the end of the object."""

    def __init__(self, raw: BinaryIO, done: Callable[[str, int], None]) -> None:
        self._raw, self._done = raw, done
        self._hash, self._bytes, self._reported = hashlib.sha256(), 0, False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._hash.update(data)
        self._bytes += len(data)
        if not data and size != 0 and not self._reported:
            self._reported = True
            self._done(self._hash.hexdigest(), self._bytes)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


class Fingerprint:
    """Wraps the ingest's `open_stream`: every stream it opens hashes its bytes, and the
    first one read to the end of an object of the expected size gives the fingerprint.
    Memory stays constant (a hash state), and the file is not read once more for it."""

    def __init__(self, open_stream: Callable[[], BinaryIO], size: int) -> None:
        self._open, self._size = open_stream, size
        self.digest: str | None = None

    def _finished(self, digest: str, count: int) -> None:
        if self.digest is None and count == self._size:
            self.digest = digest

    def __call__(self) -> BinaryIO:
        return io.BufferedReader(_Hashing(self._open(), self._finished), _CHUNK)

    def result(self) -> str:
        """The fingerprint; read once more, in chunks, only if no pass read it all."""
        if self.digest is None:
            with self() as stream:
                while stream.read(_CHUNK):
                    pass
        if self.digest is None:
            raise RuntimeError("the object changed size while it was read")
        return self.digest


@dataclass(frozen=True)
class Span:
    first: date | None
    last: date | None
    rows: int


def staged_span(parquet_path: Path) -> Span:
    """First and last business date and the row count of a staged file, from its
    Parquet footer (the ingest writes min/max statistics for `occurred_date`)."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(parquet_path).metadata
    col = meta.schema.names.index("occurred_date")
    first: date | None = None
    last: date | None = None
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(col).statistics
        if stats is None or not stats.has_min_max:
            continue
        first = stats.min if first is None else min(first, stats.min)
        last = stats.max if last is None else max(last, stats.max)
    return Span(first, last, meta.num_rows)


def earlier_copy(deps: Deps, tenant_id: str, dataset_id: str, digest: str,
                 upload_id: str) -> dict[str, Any] | None:
    """The upload that brought the same bytes into the dataset, if its rows are still
    there (deleted since, failed, or swapped away by a later replace, it no longer
    counts) or are being loaded now. Otherwise this upload takes the fingerprint's
    document, in the same transaction: of two identical appends ingested at the same
    time, one loads and the other is refused, where two separate reads would let both in.
    """
    fingerprints = fingerprints_path(tenant_id)
    key = fingerprint_key(dataset_id, digest)

    def tx_fn(tx: Transaction) -> dict[str, Any] | None:
        fp = tx.get(fingerprints, key)
        holder = fp.data.get("upload_id") if fp is not None else None
        earlier = tx.get(uploads_path(tenant_id), holder) if holder else None
        dataset = tx.get(datasets_path(tenant_id), dataset_id)
        if fp is not None and earlier is not None and holder != upload_id:
            status = earlier.data.get("status")
            replaced = int((dataset.data if dataset else {}).get("replaced_version") or 0)
            version = int(earlier.data.get("dataset_version") or 0)
            if status == "processing" or (status == "loaded" and version >= replaced):
                return {"upload_id": earlier.id, "filename": earlier.data.get("filename"),
                        "loaded_at": fp.data.get("loaded_at")}
        tx.set(fingerprints, key, {"upload_id": upload_id, "dataset_id": dataset_id,
                                   "loaded_at": None})
        return None

    return deps.docs.transaction(tx_fn)


def duplicate_error(earlier: dict[str, Any]) -> dict[str, Any]:
    loaded_at = earlier["loaded_at"]
    when = loaded_at.isoformat() if hasattr(loaded_at, "isoformat") else None
    return {"code": "duplicate_content",
            "message": f"this file's content was already loaded into the dataset by upload "
                       f"{earlier['upload_id']} ({earlier['filename']}, "
                       f"{when or 'being loaded now'}); nothing "
                       "was loaded. Send it again with confirm_duplicate: true to load "
                       "it anyway",
            "details": {"upload_id": earlier["upload_id"], "filename": earlier["filename"],
                        "loaded_at": when}}


def _scope(run_tenant: str, dataset_id: str, upload_id: str, span: Span) -> dict[str, Any]:
    return {"tenant_id": run_tenant, "dataset_id": dataset_id, "upload_id": upload_id,
            "first": span.first, "last": span.last}


# Values only as @parameters (the Warehouse port's rule); the scope is spelled out in
# each statement so that the SQL is one literal.
_OVERLAPS = (
    "SELECT upload_id, MIN(occurred_date) AS first_date, MAX(occurred_date) AS last_date, "
    "COUNT(*) AS row_count FROM {business_data} WHERE tenant_id = @tenant_id AND "
    "dataset_id = @dataset_id AND upload_id != @upload_id AND occurred_date BETWEEN @first "
    "AND @last GROUP BY upload_id ORDER BY first_date, upload_id")
_ORDER_IDS = (
    "SELECT DISTINCT order_id FROM {business_data} WHERE tenant_id = @tenant_id AND "
    "dataset_id = @dataset_id AND upload_id != @upload_id AND occurred_date BETWEEN @first "
    "AND @last AND order_id IS NOT NULL")


def overlaps(deps: Deps, tenant_id: str, dataset_id: str, upload_id: str,
             span: Span) -> list[dict[str, Any]]:
    """The earlier uploads with rows inside this file's dates: for each, the dates of
    those rows and how many there are. The warehouse answers (it holds what is loaded
    now), filtered on the partitioning date so only the overlapping months are read."""
    if span.first is None or span.last is None:
        return []
    rows = deps.warehouse.query(_OVERLAPS, _scope(tenant_id, dataset_id, upload_id, span))
    return [{"upload_id": r["upload_id"], "first": _as_date(r["first_date"]),
             "last": _as_date(r["last_date"]), "rows": int(r["row_count"])} for r in rows]


def loaded_order_ids(deps: Deps, tenant_id: str, dataset_id: str, upload_id: str,
                     span: Span) -> set[str]:
    """The order ids already loaded in this file's dates. Bounded by the overlap: only
    rows inside the file's own date range are read."""
    if span.first is None or span.last is None:
        return set()
    return {r["order_id"] for r in
            deps.warehouse.query(_ORDER_IDS, _scope(tenant_id, dataset_id, upload_id, span))}


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def rows_within(staged: Path, spans: list[dict[str, Any]]) -> list[int]:
    """This file's rows inside each overlap's dates, reading only the date column, one
    row group at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    source = pq.ParquetFile(staged)
    counts = [0] * len(spans)
    for i in range(source.num_row_groups):
        d = source.read_row_group(i, columns=["occurred_date"]).column("occurred_date")
        for k, s in enumerate(spans):
            inside = pc.and_(pc.greater_equal(d, pa.scalar(s["first"])),
                             pc.less_equal(d, pa.scalar(s["last"])))
            counts[k] += pc.sum(inside).as_py() or 0
    return counts


def drop_repeated_lines(staged: Path, order_ids: set[str], report: Report,
                        rejected: Path) -> int:
    """Rewrite the staged file without the lines whose order id is already loaded, and
    reject each one in the report and the rejected-rows file (the mapped fields from the
    line's canonical values, the rest from its `extra`). One row group at a time, so
    memory stays bounded; returns how many lines went."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    source = pq.ParquetFile(staged)
    dropped = 0
    keep_path = staged.with_suffix(".dedup.parquet")
    headers = [c["column"] for c in report.columns]
    by_column = {m["column"]: role for role, m in report.mapping.items()
                 if isinstance(m, dict) and "column" in m}
    id_column = next((c for c, r in by_column.items() if r == "order_id"), "order_id")
    new_file = not rejected.exists()
    ids = pa.array(sorted(order_ids), pa.string())
    with pq.ParquetWriter(keep_path, source.schema_arrow) as writer, \
            open(rejected, "a", encoding="utf-8", newline="") as out:
        rows_out = csv.writer(out)
        if new_file:
            rows_out.writerow([neutralize(h) for h in (*LEAD_COLUMNS, *headers)])
        for i in range(source.num_row_groups):
            group = source.read_row_group(i)
            repeat = pc.fill_null(pc.is_in(group.column("order_id"), value_set=ids), False)
            for row in group.filter(repeat).to_pylist():
                dropped += 1
                report.reject(row["row_number"], id_column, row["order_id"], REASON)
                rows_out.writerow([neutralize(c) for c in (
                    row["row_number"], REASON, id_column, row["order_id"],
                    *_fields(row, headers, by_column))])
            writer.write_table(group.filter(pc.invert(repeat)))
    keep_path.replace(staged)
    return dropped


def _fields(row: dict[str, Any], headers: list[str], by_column: dict[str, str]) -> list[Any]:
    extra = row.get("extra")
    extra = json.loads(extra) if isinstance(extra, str) and extra else (extra or {})
    out: list[Any] = []
    for h in headers:
        role = by_column.get(h)
        value = row.get("occurred_date" if role == "occurred_at" else role) if role \
            else (extra.get(h) if isinstance(extra, dict) else None)
        out.append("" if value is None else value)
    return out


def warn_overlaps(report: Report, found: list[dict[str, Any]], names: dict[str, str],
                  in_overlap: list[int], repeated: int, confirmed: bool) -> None:
    """One warning per earlier upload whose dates this file overlaps."""
    for k, o in enumerate(found):
        rows_here = f"{in_overlap[k]} of this file's rows" if k < len(in_overlap) \
            else "rows of this file"
        report.warn(f"dates {o['first'].isoformat()} to {o['last'].isoformat()} overlap "
                    f"upload {o['upload_id']} ({names.get(o['upload_id'], '?')}): "
                    f"{o['rows']} of its rows and {rows_here} fall in those dates")
    if repeated:
        report.warn(f"{repeated} order lines repeat order ids already loaded in this "
                    "dataset; they were left out of the load and rejected as "
                    f"{REASON}")
    elif confirmed and found:
        report.warn("loaded as confirmed: lines whose order ids were already loaded "
                    "were not held back")


def duplicates_of(deps: Deps, run: IngestRun, record: dict[str, Any], staged: Staged,
                  digest: str, rejected: Path) -> dict[str, Any]:
    """The checks of one staged append, before it loads. Returns the facts the upload
    records (fingerprint, dates, rows, repeated lines), or {"error": ...} when the same
    content is already loaded and the user did not confirm it. The staged file loses
    its repeated order lines, which go to the rejected rows (and `staged.rejected_path`
    then names that file)."""
    span = staged_span(staged.parquet_path)
    facts: dict[str, Any] = {"fingerprint": digest, "first_date": _iso(span.first),
                             "last_date": _iso(span.last), "row_count": span.rows,
                             "duplicate_order_lines": 0}
    if record.get("mode") == "replace":
        return facts
    confirmed = bool(record.get("confirm_duplicate"))
    dataset_id = record["dataset_id"]
    if not confirmed:
        earlier = earlier_copy(deps, run.tenant_id, dataset_id, digest, run.upload_id)
        if earlier is not None:
            return {**facts, "error": duplicate_error(earlier)}
    dataset = deps.docs.get(datasets_path(run.tenant_id), dataset_id)
    if dataset is None or not int(dataset.data.get("row_count") or 0):
        return facts  # nothing loaded yet: no warehouse query to pay for
    found = overlaps(deps, run.tenant_id, dataset_id, run.upload_id, span)
    if not found:
        return facts
    in_overlap = rows_within(staged.parquet_path, found)  # before repeated lines go
    repeated = 0
    if not confirmed:
        ids = loaded_order_ids(deps, run.tenant_id, dataset_id, run.upload_id, span)
        if ids:
            staged.rejected_path = rejected
            repeated = drop_repeated_lines(staged.parquet_path, ids, staged.report,
                                           rejected)
    names = {}
    for o in found:
        doc = deps.docs.get(uploads_path(run.tenant_id), o["upload_id"])
        names[o["upload_id"]] = (doc.data.get("filename") if doc else None) or "deleted"
    warn_overlaps(staged.report, found, names, in_overlap, repeated, confirmed)
    facts["duplicate_order_lines"] = repeated
    facts["row_count"] = span.rows - repeated
    facts["overlaps"] = [{**o, "first": o["first"].isoformat(),
                          "last": o["last"].isoformat()} for o in found]
    return facts


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
