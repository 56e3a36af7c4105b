"""The streaming ingest of one CSV (or one sheet of a workbook, see `workbooks`) into a
Parquet staging file.

Types are settled over the WHOLE column, never from a sample: the profiling pass
streams the whole file, and the good rows are written to Parquet (the bad ones to a
rejected-rows CSV) with the plan settled at the end. The profiling pass converts
speculatively with the plan its first rows settle on, and that output is kept when the
whole file settles on the same plan; otherwise a second pass converts (see `passes`).
Each pass holds a few blocks of the file at a time (the reader's read-ahead, a couple
of grouped batches, one row group being written), so peak memory does not grow with
the file size; see `streams` for the threads that overlap reading, converting and
writing, and `fastpath` for the byte-level shortcuts that keep the per-row work low on
clean data. Nothing here touches a port: the caller opens the stream and loads the
staged Parquet file.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from shared.ingest import accounting, passes, workbooks
from shared.ingest import values as V
from shared.ingest.convert import convert_batch
from shared.ingest.mapping import ColumnMapping, date_like, infer, require_usable
from shared.ingest.options import STAGING_SCHEMA, IngestOptions
from shared.ingest.report import IngestFailed, Report
from shared.ingest.settle import LOOSE_SHARE, ColumnProfile, ColumnType, decimal_hint
from shared.ingest.sniff import SAMPLE_BYTES, Sniffed, sniff

# Dictionary pages only where values repeat. Statistics (min/max per row group) only
# where they can skip row groups: the ids, constant per file, let a query skip other
# uploads' segments; dates and numbers are cheap. Min/max of the free-text columns
# (products, customers, order ids) skip nothing in unsorted files and cost about
# 0.3 s of CPU per 200 MB of CSV to compute.
_DICTIONARY_COLUMNS = ["tenant_id", "dataset_id", "upload_id", "occurred_date", "product",
                       "category", "region", "customer", "channel", "loaded_at"]
_STATISTICS_COLUMNS = ["tenant_id", "dataset_id", "upload_id", "row_number", "occurred_at",
                       "occurred_date", "amount", "quantity", "loaded_at"]


@dataclass
class Staged:
    report: Report
    parquet_path: Path
    rejected_path: Path | None


def _arrow_failure(exc: Exception) -> IngestFailed:
    text = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    if "UTF8" in text or "decode" in text.lower():
        return IngestFailed("the file's text encoding could not be read", code="encoding_error",
                            details={"reason": text})
    return IngestFailed("the file could not be parsed as CSV", code="parse_error",
                        details={"reason": text})


class _IsWorkbook(Exception):
    """The head is a workbook's container, not text: `stage` reads it as a workbook.
    Told at the sniff, so a CSV is opened no more often than before."""


def _sniff(open_stream: Callable[[], BinaryIO]) -> Sniffed:
    with open_stream() as f:
        sample = f.read(SAMPLE_BYTES)
        at_eof = len(sample) < SAMPLE_BYTES or not f.read(1)
    if workbooks.looks_like_workbook(sample):
        raise _IsWorkbook
    return sniff(sample, at_eof=at_eof)


@dataclass
class Plan:
    """How rows are converted: the settled types, the roles, the `extra` columns."""

    types: dict[str, ColumnType]
    mapping: ColumnMapping
    extra: list[str]

    def signature(self) -> tuple:
        """Everything the conversion of a row depends on; two plans with the same
        signature convert every row alike."""
        roles = tuple(sorted(self.mapping.roles.items()))
        conventions = tuple((col, t.kind, t.decimal, t.date_kind, t.date_order)
                            for col, t in sorted((c, self.types[c]) for _, c in roles))
        return roles, conventions, tuple(self.extra)


def _plan(profiles: list[ColumnProfile], sn: Sniffed, opts: IngestOptions,
          report: Report | None = None) -> Plan:
    """Settle the types and the mapping from the profiles; raises IngestFailed when the
    file has no usable date or measure. With a report, records its columns in it."""
    hint = opts.decimal_separator or decimal_hint(profiles, sn.delimiter)
    types = {p.name: p.settle(decimal_hint=hint, date_like_name=date_like(p.name))
             for p in profiles}
    loose = {p.name: p.settle(decimal_hint=hint, date_like_name=date_like(p.name),
                              min_share=LOOSE_SHARE) for p in profiles}
    by_name = {p.name: p for p in profiles}

    def read_as(header: str, kind: str) -> ColumnType:
        return by_name[header].settle_as(kind, decimal_hint=hint,
                                         date_like_name=date_like(header))

    mapping = infer(sn.headers, types, opts.mapping, loose, read_as)
    if report is not None:
        report.columns = [{"column": h, **types[h].describe()} for h in sn.headers]
    date_col = mapping.roles.get("occurred_at")
    if date_col and opts.date_order and types[date_col].date_kind == "numeric":
        types[date_col].date_order = opts.date_order
    require_usable(mapping, sn.headers, types)
    if opts.decimal_separator:
        for role in ("amount", "quantity", "unit_price"):
            if role in mapping.roles:
                types[mapping.roles[role]].decimal = opts.decimal_separator
    extra = [h for h in sn.headers if h not in mapping.mapped_columns
             and types[h].kind != "empty"]
    return Plan(types, mapping, extra)


@dataclass
class _Progress:
    """How far the reads have got, as a share of the bytes still to read.

    The readers count bytes on pyarrow's threads (`tick` only adds); the share is
    reported from the caller's thread, once per batch, so the callback (a document
    write) never runs on a thread the caller does not own. A file that needs a second
    read is read twice, so the share is taken over twice its size from then on.
    """

    size: int | None
    callback: Callable[[float], None] | None
    done: int = 0
    reads: int = 1

    def tick(self, n: int) -> None:
        self.done += n

    def restart(self) -> None:
        """The read starts over (a different encoding): what was counted is void."""
        self.done = 0

    def second_read(self) -> None:
        self.reads = 2

    def report(self) -> None:
        if self.callback and self.size:
            self.callback(min(0.99, self.done / (self.reads * self.size)))

    def finish(self) -> None:
        if self.callback:
            self.callback(1.0)


@dataclass
class _Job:
    """One staging: what is read, how, where it goes, and how far it has got."""

    open_stream: Callable[[], BinaryIO]
    opts: IngestOptions
    output: passes.Output
    progress: _Progress
    report: Report
    sn: Sniffed | None = None
    loaded_at: pa.Scalar | None = None

    @property
    def sniffed(self) -> Sniffed:
        """The head's sniff, which `_profile` takes before any pass reads the file."""
        if self.sn is None:
            raise RuntimeError("the file is read before its head was sniffed")
        return self.sn

    def converter(self, plan: Plan) -> passes.Convert:
        sn, opts, loaded_at = self.sniffed, self.opts, self.loaded_at

        def convert(batch, base, into: Report, rejects, trimmed) -> pa.Table:
            return convert_batch(batch, sn.headers, plan.types, plan.mapping, plan.extra,
                                 opts, base, loaded_at, into, rejects, trimmed)
        return convert

    def speculate(self, profiles: list[ColumnProfile]):
        plan = _plan(profiles, self.sniffed, self.opts)
        return plan.signature(), self.converter(plan)


def stage(open_stream: Callable[[], BinaryIO], opts: IngestOptions, workdir: Path, *,
          size: int | None = None, progress: Callable[[float], None] | None = None,
          name: str | None = None, max_sheet_rows: int | None = None) -> Staged:
    """Read the CSV or workbook behind open_stream (called once per pass) into a Parquet
    file in workdir. Raises IngestFailed (with `.report`) when the file fails as a
    whole. A workbook (told by its bytes) is read from one sheet, at most
    `max_sheet_rows` data rows of it when given (a preview)."""
    workdir.mkdir(parents=True, exist_ok=True)
    name = name or opts.upload_id
    try:
        return _stage(open_stream, opts, workdir, name, size, progress)
    except _IsWorkbook:
        return _stage_workbook(open_stream, opts, workdir, name, progress, max_sheet_rows)


def _stage_workbook(open_stream: Callable[[], BinaryIO], opts: IngestOptions, workdir: Path,
                    name: str, progress: Callable[[float], None] | None,
                    max_rows: int | None) -> Staged:
    """The sheet as canonical CSV (see `workbooks`) through the CSV stages, its sniff
    given; the rejected rows then name their sheet rows."""
    book = workdir / f"{name}.workbook"
    sheet_csv = workdir / f"{name}.sheet.csv"
    try:
        workbooks.spool(open_stream, book)
        try:
            sheet = workbooks.convert(book, sheet_csv, sheet=opts.sheet,
                                      decimal=opts.decimal_separator or ".",
                                      max_rows=max_rows)
        except IngestFailed as exc:
            report = Report()  # the sheets there are, so another can be chosen
            report.sheets = list((exc.details or {}).get("sheets") or [])
            raise _with_report(exc, report) from None
        finally:
            book.unlink(missing_ok=True)

        def read_sheet() -> BinaryIO:
            return sheet_csv.open("rb")

        try:
            staged = _stage(read_sheet, opts, workdir, name,
                            sheet_csv.stat().st_size, progress, sheet.sniffed, sheet.describe)
        except IngestFailed as exc:
            failed = getattr(exc, "report", None)
            if failed is not None:
                sheet.renumber(failed, workdir / f"{name}.rejected.csv")
            raise
        sheet.renumber(staged.report, staged.rejected_path)
        return staged
    finally:
        sheet_csv.unlink(missing_ok=True)


def _stage(open_stream: Callable[[], BinaryIO], opts: IngestOptions, workdir: Path,
           name: str, size: int | None, progress: Callable[[float], None] | None,
           sniffed: Sniffed | None = None,
           prepare: Callable[[Report], None] | None = None) -> Staged:
    output = passes.Output(workdir / f"{name}.parquet", workdir / f"{name}.rejected.csv",
                           STAGING_SCHEMA, _DICTIONARY_COLUMNS, _STATISTICS_COLUMNS)
    job = _Job(open_stream, opts, output, _Progress(size, progress),
               Report(time_zone=opts.time_zone),
               sn=sniffed, loaded_at=pa.scalar(datetime.now(UTC), V.TS_TYPE))
    if prepare is not None:
        prepare(job.report)
    profiled = _profile(job)
    plan = _settle(job, profiled)
    rows_read = profiled.rows + profiled.invalid
    limit = opts.max_reject_share * rows_read
    _merge(job.report, _convert(job, profiled, plan, limit))
    job.report.columns = accounting.columns(job.sniffed.headers, plan.types,
                                            profiled.profiles, profiled.rows, job.report,
                                            plan.mapping)
    _check_rejects(job, rows_read, limit)
    job.report.amounts = accounting.amounts(output.parquet_path, job.report)
    pa.default_memory_pool().release_unused()
    job.progress.finish()
    report = job.report
    return Staged(report=report, parquet_path=output.parquet_path,
                  rejected_path=output.rejected_path if report.rows_rejected else None)


def _profile(job: _Job) -> passes.Profiled:
    """Sniff the head, then the profiling pass (converting speculatively on the way)."""
    report = job.report

    def first_pass() -> passes.Profiled:
        p = job.progress
        return passes.profile(job.open_stream, job.sniffed, p.tick, p.restart, p.report,
                              job.output, job.speculate, job.opts.max_reject_share)

    try:
        if job.sn is None:  # a workbook's sheet comes with its sniff
            job.sn = _sniff(job.open_stream)
            report.encoding, report.delimiter = job.sn.encoding, job.sn.delimiter
        sn = job.sn
        for w in sn.warnings:
            report.warn(w)
        try:
            return first_pass()
        except pa.ArrowInvalid as exc:
            if sn.needs_transcoding or "UTF8" not in str(exc):
                raise
            # Pure ASCII at the head, Windows-1252 further down: settle on the latter.
            sn.encoding = "cp1252"
            job.progress.restart()
            report.encoding = sn.encoding
            report.warn("the file is not valid UTF-8 throughout; read as Windows-1252")
            return first_pass()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeError, LookupError) as exc:
        raise _with_report(_arrow_failure(exc), report) from None
    except IngestFailed as exc:
        raise _with_report(exc, report) from None


def _settle(job: _Job, profiled: passes.Profiled) -> Plan:
    """The final plan, settled over the whole file, recorded in the report."""
    sn, report, spec = job.sniffed, job.report, profiled.speculation
    try:
        if profiled.rows + profiled.invalid == 0:
            raise IngestFailed("the file has a header but no data rows", code="no_data_rows",
                               details={"columns_seen": sn.headers})
        plan = _plan(profiled.profiles, sn, job.opts, report)
    except IngestFailed as exc:
        if spec is not None:
            spec.abandon()
        raise _with_report(exc, report) from None
    report.mapping = plan.mapping.describe()
    report.roles = accounting.roles(plan.mapping)
    accounting.dropped_roles(sn.headers, plan.types, plan.mapping, report)
    for h in sn.headers:
        t = plan.types[h]
        if t.kind == "date" and t.ambiguous and h not in plan.mapping.mapped_columns:
            report.warn(f"column {h!r} holds dates whose day/month order is ambiguous; "
                        "kept as text")
    return plan


def _convert(job: _Job, profiled: passes.Profiled, plan: Plan, limit: float) -> Report:
    """The converted rows: the speculative output when the provisional plan held,
    else a second read with the final plan."""
    spec = profiled.speculation
    if spec is not None and profiled.signature == plan.signature() \
            and spec.report.rows_rejected <= limit:
        return spec.report  # the provisional plan held: one read was enough
    if spec is not None:
        spec.abandon()
    job.progress.second_read()
    try:
        return passes.convert_pass(job.open_stream, job.sniffed, job.progress.tick,
                                   profiled.block_size, job.output, job.converter(plan),
                                   limit, job.progress.report)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeError) as exc:
        job.output.discard()
        raise _with_report(_arrow_failure(exc), job.report) from None


def _check_rejects(job: _Job, rows_read: int, limit: float) -> None:
    """Fail the file when too many rows were bad; drop an empty rejected-rows file."""
    report, output, share = job.report, job.output, job.opts.max_reject_share
    if report.rows_rejected > limit:
        output.parquet_path.unlink(missing_ok=True)
        culprit = _culprit(report)
        message = f"too many bad rows: more than {share:.0%} of the rows were rejected"
        details = {"rows_read": rows_read, "rows_rejected": report.rows_rejected,
                   "max_reject_share": share,
                   "rejected_by_reason": dict(report.rejected_by_reason)}
        if culprit is not None:
            message += (f"; column {culprit['column']!r}: {culprit['bad_rows']} of "
                        f"{culprit['rows_checked']} rows ({culprit['bad_share']:.0%}) "
                        f"rejected ({', '.join(culprit['reasons'])})")
            if culprit["examples"]:
                message += ", e.g. " + ", ".join(_shown(v) for v in culprit["examples"])
            details.update(culprit)
        raise _with_report(IngestFailed(message + "; nothing was loaded",
                                       code="too_many_rejects", details=details), report)
    if not report.rows_rejected:
        output.rejected_path.unlink(missing_ok=True)  # the header alone: nothing to keep


def _culprit(report: Report) -> dict | None:
    """The column behind most rejections, its share of bad values among the rows
    checked (the converting pass stops early once over the limit) and examples."""
    if not report.rejected_by_column:
        return None
    column, bad = report.rejected_by_column.most_common(1)[0]
    if report.rejected_by_reason["column_count"] > bad:
        return None  # mostly lines that did not split into the header's columns
    mine = [e for e in report.examples if e["column"] == column]
    return {"column": column, "bad_rows": bad, "rows_checked": report.rows_read,
            "bad_share": round(bad / max(report.rows_read, 1), 4),
            "reasons": sorted({e["reason"] for e in mine}),
            "examples": list(dict.fromkeys(e["value"] for e in mine))[:5]}


def _shown(value: str | None) -> str:
    return "(empty)" if value is None or not value.strip() else repr(value)


def _merge(report: Report, converted: Report) -> None:
    report.rows_read = converted.rows_read
    report.rows_loaded = converted.rows_loaded
    report.rows_rejected = converted.rows_rejected
    report.rejected_by_reason = converted.rejected_by_reason
    report.examples = converted.examples
    report.rejected_by_column = converted.rejected_by_column
    report.rows_without_quantity = converted.rows_without_quantity
    report.rows_without_amount = converted.rows_without_amount
    report.rows_amount_from_price = converted.rows_amount_from_price
    for warning in converted.warnings:  # the converting pass's (dates out of range)
        report.warn(warning)
    report.date_rules = converted.date_rules


def _with_report(exc: IngestFailed, report: Report) -> IngestFailed:
    exc.report = report  # type: ignore[attr-defined]
    return exc


__all__ = ["Staged", "stage"]
