"""The two-pass streaming ingest of one CSV into a Parquet staging file.

Pass 1 streams the whole file to settle every column's type; pass 2 streams it again
to convert, validate and write the good rows to Parquet and the bad ones to a
rejected-rows CSV. Both passes hold a few blocks of the file at a time (the reader's
read-ahead, a couple of grouped batches, one row group being written), so peak memory
does not grow with the file size; see `streams` for the threads that overlap reading,
converting and writing, and `fastpath` for the byte-level shortcuts that keep the
per-row work low on clean data. Nothing here touches a port: the caller opens the
stream and loads the staged Parquet file.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shared.ingest import values as V
from shared.ingest.convert import convert_batch
from shared.ingest.mapping import date_like, infer, require_usable
from shared.ingest.rejects import RejectWriter
from shared.ingest.report import IngestFailed, Report
from shared.ingest.settle import LOOSE_SHARE, ColumnProfile, ColumnType, decimal_hint
from shared.ingest.sniff import SAMPLE_BYTES, Sniffed, sniff
from shared.ingest.streams import Counting, RowGroupWriter, grouped, read_ahead
from shared.schema import BUSINESS_DATA

# The CSV reader reads up to 32 blocks ahead of the parser, so the block size bounds
# the read-ahead memory (32 MiB at 1 MiB). A record longer than a block needs a bigger
# block: pass 1 retries with the next size, and pass 2 uses the size pass 1 settled on.
BLOCK_SIZES = (1024 * 1024, 4 * 1024 * 1024)
_ARROW = {"STRING": pa.string(), "INT64": pa.int64(), "FLOAT64": pa.float64(),
          "NUMERIC": V.AMOUNT_TYPE, "TIMESTAMP": V.TS_TYPE, "DATE": pa.date32(),
          "JSON": pa.string(), "BOOL": pa.bool_()}
STAGING_SCHEMA = pa.schema([pa.field(c.name, _ARROW[c.bq_type], c.mode != "REQUIRED")
                            for c in BUSINESS_DATA])
# Dictionary pages only where values repeat; statistics where they are cheap and useful.
_DICTIONARY_COLUMNS = ["tenant_id", "dataset_id", "upload_id", "occurred_date", "product",
                       "category", "region", "customer", "channel", "loaded_at"]
_STATISTICS_COLUMNS = [c.name for c in BUSINESS_DATA if c.name != "extra"]


@dataclass
class IngestOptions:
    tenant_id: str
    dataset_id: str
    upload_id: str
    mapping: dict[str, str | None] | None = None
    date_order: str | None = None          # DMY | MDY, settles an ambiguous date column
    decimal_separator: str | None = None   # "." | ",", overrides detection for measures
    max_reject_share: float = 0.20


@dataclass
class Staged:
    report: Report
    parquet_path: Path
    rejected_path: Path | None
    rows_loaded: int
    columns: dict[str, ColumnType] = field(default_factory=dict)


def _reader(stream: BinaryIO, sn: Sniffed, on_invalid: Callable[[Any], str],
            block_size: int = BLOCK_SIZES[0], check_utf8: bool = True):
    names = [f"c{i}" for i in range(len(sn.headers))]
    return pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(
            encoding=sn.encoding if sn.needs_transcoding else "utf8",
            skip_rows=sn.skip_lines, column_names=names, block_size=block_size),
        parse_options=pacsv.ParseOptions(
            delimiter=sn.delimiter, quote_char='"', double_quote=True,
            newlines_in_values=True, ignore_empty_lines=True, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
            quoted_strings_can_be_null=False, check_utf8=check_utf8))


def _straddles(exc: Exception) -> bool:
    return "straddl" in str(exc)


def _arrow_failure(exc: Exception) -> IngestFailed:
    text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    if "UTF8" in text or "decode" in text.lower():
        return IngestFailed("the file's text encoding could not be read", code="encoding_error",
                            details={"reason": text})
    return IngestFailed("the file could not be parsed as CSV", code="parse_error",
                        details={"reason": text})


def _sniff(open_stream: Callable[[], BinaryIO]) -> Sniffed:
    with open_stream() as f:
        sample = f.read(SAMPLE_BYTES)
        at_eof = len(sample) < SAMPLE_BYTES or not f.read(1)
    return sniff(sample, at_eof=at_eof)


@dataclass
class _Profiled:
    profiles: list[ColumnProfile]
    rows: int
    invalid: int
    block_size: int


def _profile(open_stream, sn: Sniffed, tick, restart, on_batch) -> _Profiled:
    for block_size in BLOCK_SIZES:
        try:
            return _profile_blocks(open_stream, sn, tick, block_size, on_batch)
        except pa.ArrowInvalid as exc:
            if not _straddles(exc) or block_size == BLOCK_SIZES[-1]:
                raise
            restart()
    raise AssertionError("unreachable")


def _profile_blocks(open_stream, sn: Sniffed, tick, block_size: int,
                    on_batch: Callable[[], None]) -> _Profiled:
    profiles = [ColumnProfile(h) for h in sn.headers]
    rows, invalid = 0, [0]

    def on_invalid(row) -> str:
        invalid[0] += 1
        return "skip"

    with open_stream() as raw, closing(read_ahead(grouped(_reader(
            Counting(raw, tick), sn, on_invalid, block_size)))) as batches:
        for batch in batches:
            rows += batch.num_rows
            for prof, col in zip(profiles, batch.columns, strict=True):
                prof.observe(col)
            on_batch()
    return _Profiled(profiles, rows, invalid[0], block_size)


def stage(open_stream: Callable[[], BinaryIO], opts: IngestOptions, workdir: Path, *,
          size: int | None = None, progress: Callable[[float], None] | None = None,
          name: str | None = None) -> Staged:
    """Read the CSV behind open_stream (called once per pass) into a Parquet file in
    workdir. Raises IngestFailed (with `.report`) when the file fails as a whole."""
    report = Report()
    workdir.mkdir(parents=True, exist_ok=True)
    name = name or opts.upload_id
    done = [0]

    def tick(n: int) -> None:
        # Called on pyarrow's reader threads: only count. Progress is reported from
        # this thread, once per batch, so the callback (a document write) never runs
        # on a thread the caller does not own.
        done[0] += n

    def report_progress() -> None:
        if progress and size:
            progress(min(0.99, done[0] / (2 * size)))

    def restart() -> None:
        done[0] = 0

    try:
        sn = _sniff(open_stream)
        report.encoding, report.delimiter = sn.encoding, sn.delimiter
        for w in sn.warnings:
            report.warn(w)
        try:
            profiled = _profile(open_stream, sn, tick, restart, report_progress)
        except pa.ArrowInvalid as exc:
            if sn.needs_transcoding or "UTF8" not in str(exc):
                raise
            # Pure ASCII at the head, Windows-1252 further down: settle on the latter.
            sn.encoding = "cp1252"
            restart()
            report.encoding = sn.encoding
            report.warn("the file is not valid UTF-8 throughout; read as Windows-1252")
            profiled = _profile(open_stream, sn, tick, restart, report_progress)
        profiles, rows, invalid = profiled.profiles, profiled.rows, profiled.invalid
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeError, LookupError) as exc:
        raise _with_report(_arrow_failure(exc), report) from None
    except IngestFailed as exc:
        raise _with_report(exc, report) from None
    if rows + invalid == 0:
        raise _with_report(IngestFailed("the file has a header but no data rows",
                                        code="no_data_rows",
                                        details={"columns_seen": sn.headers}), report)
    hint = opts.decimal_separator or decimal_hint(profiles, sn.delimiter)
    types = {p.name: p.settle(decimal_hint=hint, date_like_name=date_like(p.name))
             for p in profiles}
    loose = {p.name: p.settle(decimal_hint=hint, date_like_name=date_like(p.name),
                              min_share=LOOSE_SHARE) for p in profiles}
    try:
        mapping = infer(sn.headers, types, opts.mapping, loose)
        report.columns = [{"column": h, **types[h].describe()} for h in sn.headers]
        date_col = mapping.roles.get("occurred_at")
        if date_col and opts.date_order and types[date_col].date_kind == "numeric":
            types[date_col].date_order = opts.date_order
        require_usable(mapping, sn.headers, types)
    except IngestFailed as exc:
        raise _with_report(exc, report) from None
    if opts.decimal_separator:
        for role in ("amount", "quantity", "unit_price"):
            if role in mapping.roles:
                types[mapping.roles[role]].decimal = opts.decimal_separator
    report.mapping = mapping.describe()
    for h in sn.headers:
        t = types[h]
        if t.kind == "date" and t.ambiguous and h not in mapping.mapped_columns:
            report.warn(f"column {h!r} holds dates whose day/month order is ambiguous; "
                        "kept as text")
    extra = [h for h in sn.headers if h not in mapping.mapped_columns
             and types[h].kind != "empty"]
    parquet_path = workdir / f"{name}.parquet"
    rejected_path = workdir / f"{name}.rejected.csv"
    limit = opts.max_reject_share * (rows + invalid)
    loaded_at = pa.scalar(datetime.now(UTC), V.TS_TYPE)
    pending_invalid: list[str] = []

    def on_invalid(row) -> str:
        pending_invalid.append(row.text)
        return "skip"

    try:
        with pq.ParquetWriter(parquet_path, STAGING_SCHEMA, compression="snappy",
                              use_dictionary=_DICTIONARY_COLUMNS,
                              write_statistics=_STATISTICS_COLUMNS) as out, \
                RejectWriter(rejected_path, sn.headers) as rejects, open_stream() as raw:
            # Pass 1 validated the UTF-8 of these same bytes (the caller opens the same
            # object generation on every pass): pass 2 need not check it again.
            reader = _reader(Counting(raw, tick), sn, on_invalid, profiled.block_size,
                             check_utf8=False)
            _convert_all(reader, pending_invalid, RowGroupWriter(out), rejects, report,
                         limit, lambda batch, base: convert_batch(
                             batch, sn.headers, types, mapping, extra, opts, base, loaded_at,
                             report, rejects), report_progress)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeError) as exc:
        _cleanup(parquet_path, rejected_path)
        raise _with_report(_arrow_failure(exc), report) from None
    if report.rows_rejected > limit:
        _cleanup(parquet_path)
        raise _with_report(IngestFailed(
            f"too many bad rows: more than {opts.max_reject_share:.0%} of the rows were "
            "rejected, so nothing was loaded", code="too_many_rejects",
            details={"rows_read": rows + invalid, "rows_rejected": report.rows_rejected,
                     "max_reject_share": opts.max_reject_share,
                     "rejected_by_reason": dict(report.rejected_by_reason)}), report)
    pa.default_memory_pool().release_unused()
    if progress:
        progress(1.0)
    return Staged(report=report, parquet_path=parquet_path,
                  rejected_path=rejected_path if report.rows_rejected else None,
                  rows_loaded=report.rows_loaded, columns=types)


def _convert_all(reader, pending_invalid: list[str], out: RowGroupWriter,
                 rejects: RejectWriter, report: Report, limit: float,
                 convert: Callable[[pa.RecordBatch, int], pa.Table],
                 on_batch: Callable[[], None]) -> None:
    """Pass 2: convert every batch and write the good rows, in file order; stops early
    once more rows were rejected than the limit allows."""

    def flush_invalid() -> int:
        # The reader thread appends while this runs: take only what is there now.
        count = len(pending_invalid)
        taken = pending_invalid[:count]
        del pending_invalid[:count]
        for text in taken:
            report.reject(None, None, text, "column_count")
            rejects.write_raw(text, "column_count")
        return count

    base = 0
    with closing(read_ahead(grouped(reader))) as batches:
        for batch in batches:
            report.rows_read += batch.num_rows + flush_invalid()
            good = convert(batch, base)
            base += batch.num_rows
            if good.num_rows:
                out.write(good)
                report.rows_loaded += good.num_rows
            if report.rows_rejected > limit:
                return  # the caller discards the staged file
            on_batch()
    report.rows_read += flush_invalid()
    out.close()  # the last, shorter row group


def _with_report(exc: IngestFailed, report: Report) -> IngestFailed:
    exc.report = report  # type: ignore[attr-defined]
    return exc


def _cleanup(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


__all__ = ["STAGING_SCHEMA", "IngestOptions", "Staged", "stage"]
