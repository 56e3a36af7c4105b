"""The passes over the CSV: the profiling pass, which also converts speculatively, and
the converting pass that runs only when the speculation did not hold.

Types are settled over the WHOLE column, so strictly the conversion needs a second
read. But for most files the types the first few megabytes settle on are the types
the whole file settles on. The profiling pass therefore settles a provisional plan
(types, mapping, `extra` columns) after its first group of rows and converts every
batch with it while it profiles. At the end, when the plan settled over the whole file
converts exactly as the provisional one (same roles, same column for each, same
number and date conventions for those, same `extra` columns) and the file is within
its reject limit, the provisional output IS the two-pass output, and the second read
is skipped. Otherwise it is discarded and the converting pass runs with the final
plan. Either way the result is what two passes give; only the work differs.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shared.ingest.convert import trimmed_columns
from shared.ingest.rejects import RejectWriter
from shared.ingest.report import IngestFailed, Report
from shared.ingest.settle import ColumnProfile
from shared.ingest.sniff import Sniffed
from shared.ingest.streams import Counting, RowGroupWriter, grouped, read_ahead

# The CSV reader reads up to 32 blocks ahead of the parser, so the block size bounds
# the read-ahead memory (32 MiB at 1 MiB). A record longer than a block needs a bigger
# block: the first pass retries with the next size, and a second pass uses the size the
# first settled on.
BLOCK_SIZES = (1024 * 1024, 4 * 1024 * 1024)


def open_reader(stream: io.RawIOBase, sn: Sniffed, on_invalid: Callable[[Any], str],
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


@dataclass
class Output:
    """Where the converted rows go: the staged Parquet file and the rejects CSV."""

    parquet_path: Path
    rejected_path: Path
    schema: pa.Schema
    dictionary_columns: list[str]
    statistics_columns: list[str]

    def parquet_writer(self) -> pq.ParquetWriter:
        return pq.ParquetWriter(self.parquet_path, self.schema, compression="snappy",
                                use_dictionary=self.dictionary_columns,
                                write_statistics=self.statistics_columns)

    def discard(self) -> None:
        self.parquet_path.unlink(missing_ok=True)
        self.rejected_path.unlink(missing_ok=True)


# (batch, rows before it, report, rejects, its trimmed columns or None) -> the batch's
# good rows in the staging schema
Convert = Callable[[pa.RecordBatch, int, Report, RejectWriter, list[pa.Array] | None],
                   pa.Table]


class Converter:
    """Converts batches in file order into an open Parquet writer and rejects file,
    counting into `report`. Rows the parser could not split (`pending_invalid`, filled
    by the reader thread) are reported with the next batch."""

    def __init__(self, output: Output, headers: list[str], convert: Convert,
                 pending_invalid: list[str]) -> None:
        self.report = Report()
        self._output = output
        self._convert = convert
        self._pending = pending_invalid
        self._writer = output.parquet_writer()
        self._rejects = RejectWriter(output.rejected_path, headers).__enter__()
        self._out = RowGroupWriter(self._writer)
        self._base = 0
        self._open = True

    def _flush_invalid(self) -> int:
        # The reader thread appends while this runs: take only what is there now.
        count = len(self._pending)
        taken = self._pending[:count]
        del self._pending[:count]
        for text in taken:
            self.report.reject(None, None, text, "column_count")
            self._rejects.write_raw(text, "column_count")
        return count

    def feed(self, batch: pa.RecordBatch, trimmed: list[pa.Array] | None = None) -> None:
        self.report.rows_read += batch.num_rows + self._flush_invalid()
        good = self._convert(batch, self._base, self.report, self._rejects, trimmed)
        self._base += batch.num_rows
        if good.num_rows:
            self._out.write(good)
            self.report.rows_loaded += good.num_rows

    def over(self, share: float) -> bool:
        """More rows rejected than `share` of the rows read so far."""
        return self.report.rows_rejected > share * self.report.rows_read

    def finish(self) -> None:
        self.report.rows_read += self._flush_invalid()
        self._out.close()  # the last, shorter row group
        self._close()

    def _close(self) -> None:
        if self._open:
            self._open = False
            self._out.cancel()  # finish() has written everything; otherwise nothing is kept
            self._writer.close()
            self._rejects.__exit__(None, None, None)

    def abandon(self) -> None:
        """Nothing of this conversion is kept."""
        self._close()
        self._output.discard()

    def stop(self) -> None:
        """The file fails whole: no Parquet, but the rejects so far stay for the user."""
        self._close()
        self._output.parquet_path.unlink(missing_ok=True)


@dataclass
class Profiled:
    profiles: list[ColumnProfile]
    rows: int
    invalid: int
    block_size: int
    speculation: Converter | None   # finished, with its plan's signature
    signature: Any = None


# profiles after the first group -> (plan signature, convert) or None (no usable plan)
Speculate = Callable[[list[ColumnProfile]], tuple[Any, Convert] | None]


def profile(open_stream: Callable[[], BinaryIO], sn: Sniffed, tick: Callable[[int], None],
            restart: Callable[[], None], on_batch: Callable[[], None], output: Output,
            speculate: Speculate, max_reject_share: float) -> Profiled:
    """The first pass, retried with a bigger block when a record straddles blocks."""
    for block_size in BLOCK_SIZES:
        try:
            return _profile_blocks(open_stream, sn, tick, block_size, on_batch, output,
                                   speculate, max_reject_share)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or block_size == BLOCK_SIZES[-1]:
                raise
            restart()
    raise AssertionError("unreachable")


def _profile_blocks(open_stream, sn: Sniffed, tick, block_size: int,
                    on_batch: Callable[[], None], output: Output, speculate: Speculate,
                    max_reject_share: float) -> Profiled:
    profiles = [ColumnProfile(h) for h in sn.headers]
    rows, invalid = 0, [0]
    pending: list[str] = []
    collect = [True]
    spec: Converter | None = None
    signature: Any = None
    decided = False

    def on_invalid(row) -> str:
        invalid[0] += 1
        if collect[0]:
            pending.append(row.text)
        return "skip"

    def stop_speculating() -> None:
        nonlocal spec
        collect[0] = False
        pending.clear()
        if spec is not None:
            spec.abandon()
            spec = None

    def observe(batch: pa.RecordBatch, trimmed: list[pa.Array]) -> None:
        for prof, col, s in zip(profiles, batch.columns, trimmed, strict=True):
            prof.observe(col, s)

    try:
        # Profiling a batch and converting it are independent, and both spend most of
        # their time in Arrow and numpy kernels that release the GIL: the profile runs
        # on a thread of its own, beside the conversion.
        with open_stream() as raw, closing(read_ahead(grouped(open_reader(
                Counting(raw, tick), sn, on_invalid, block_size)))) as batches, \
                ThreadPoolExecutor(1, thread_name_prefix="tidemark-profile") as pool:
            for batch in batches:
                rows += batch.num_rows
                trimmed = trimmed_columns(batch)  # both the profile and the conversion's
                if not decided:
                    decided = True
                    observe(batch, trimmed)
                    planned = _provisional(speculate, profiles)
                    if planned is None:
                        stop_speculating()
                    else:
                        signature = planned[0]
                        spec = Converter(output, sn.headers, planned[1], pending)
                    profiled = None
                else:
                    profiled = pool.submit(observe, batch, trimmed)
                try:
                    if spec is not None:
                        spec.feed(batch, trimmed)
                        if spec.over(max_reject_share):
                            # The file may yet fail whole: the converting pass decides
                            # that, stopping early, without a rejects file the size of
                            # the input.
                            stop_speculating()
                finally:
                    if profiled is not None:
                        profiled.result()
                on_batch()
        if spec is not None:
            spec.finish()
    except BaseException:
        stop_speculating()
        raise
    return Profiled(profiles, rows, invalid[0], block_size, spec, signature)


def _provisional(speculate: Speculate, profiles: list[ColumnProfile]):
    try:
        return speculate(profiles)
    except IngestFailed:
        return None  # not usable so far: the whole file may still be


def convert_pass(open_stream: Callable[[], BinaryIO], sn: Sniffed, tick, block_size: int,
                 output: Output, convert: Convert, limit: float,
                 on_batch: Callable[[], None]) -> Report:
    """The second pass: convert every batch with the final plan, in file order; stops
    early once more rows were rejected than the limit allows."""
    pending: list[str] = []

    def on_invalid(row) -> str:
        pending.append(row.text)
        return "skip"

    converter = Converter(output, sn.headers, convert, pending)
    try:
        with open_stream() as raw:
            # The first pass validated the UTF-8 of these same bytes (the caller opens
            # the same object generation on every pass): no need to check it again.
            reader = open_reader(Counting(raw, tick), sn, on_invalid, block_size,
                                 check_utf8=False)
            with closing(read_ahead(grouped(reader))) as batches:
                for batch in batches:
                    converter.feed(batch)
                    if converter.report.rows_rejected > limit:
                        converter.stop()  # the caller fails the file
                        return converter.report
                    on_batch()
        converter.finish()
    except BaseException:
        converter.abandon()
        raise
    return converter.report
