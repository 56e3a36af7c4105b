"""The plumbing of the passes: counting the bytes read, grouping the reader's small
batches, reading ahead on a thread, and writing Parquet in full row groups.

pyarrow's streaming CSV reader parses on the thread that asks for the next batch, and
its column kernels release the GIL; so reading gets a thread of its own and overlaps
converting, and so does writing Parquet. The queue to the converter holds at most a
couple of batches, and the Parquet writer one row group being gathered and one being
written, which keeps memory bounded whatever the file size.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import BinaryIO, TypeVar

import pyarrow as pa
import pyarrow.parquet as pq

T = TypeVar("T")
# Batches are combined up to this many bytes of Arrow data before they are processed, so
# the per-call overhead of the column operations is paid per few MiB, not per block.
GROUP_BYTES = 4 * 1024 * 1024
READ_AHEAD = 2  # groups parsed ahead of the consumer
ROW_GROUP_ROWS = 122_880  # DuckDB's row group size


class Counting(io.RawIOBase):
    """Counts the bytes pyarrow pulls, for progress."""

    def __init__(self, raw: BinaryIO, on_bytes: Callable[[int], None]) -> None:
        self._raw, self._on = raw, on_bytes

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        # pyarrow calls read(); answering it directly avoids RawIOBase's two copies.
        data = self._raw.read(size)
        self._on(len(data))
        return data

    def readinto(self, b) -> int:
        data = self._raw.read(len(b))
        n = len(data)
        b[:n] = data
        self._on(n)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def grouped(reader: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The reader's batches, combined into batches of about GROUP_BYTES."""
    group: list[pa.RecordBatch] = []
    size = 0
    for batch in reader:
        group.append(batch)
        size += batch.nbytes
        if size >= GROUP_BYTES:
            yield _combine(group)
            group, size = [], 0
    if group:
        yield _combine(group)


def _combine(group: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(group) == 1:
        return group[0]
    return pa.Table.from_batches(group).combine_chunks().to_batches()[0]


_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def read_ahead(items: Iterator[T], depth: int = READ_AHEAD) -> Generator[T, None, None]:
    """Iterate `items` on a worker thread, at most `depth` items ahead; exceptions are
    raised here, in the consumer. Closing the generator early stops the worker."""
    box: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failed(exc))

    worker = threading.Thread(target=work, name="tidemark-csv-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        worker.join()


class RowGroupWriter:
    """Writes the converted tables to the Parquet file in row groups of ROW_GROUP_ROWS
    rows (the last one shorter), on a thread of its own: encoding and compressing a
    row group overlaps converting the next one. Loads go faster from row groups of that
    size: DuckDB reads each in one go, and BigQuery reads fewer, larger groups. At most
    one row group is being gathered and one being written; an error in the writer
    thread is raised by the next call here."""

    def __init__(self, writer: pq.ParquetWriter, rows: int = ROW_GROUP_ROWS) -> None:
        self._writer = writer
        self._rows = rows
        self._buffered: list[pa.Table] = []
        self._count = 0
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="tidemark-parquet-writer",
                                        daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (group := self._queue.get()) is not _DONE:
            try:
                if self._failed is None:
                    self._writer.write_table(group, row_group_size=group.num_rows)
            except BaseException as exc:  # raised in the caller's thread
                self._failed = exc
            finally:
                del group
                self._queue.task_done()

    def _check(self) -> None:
        if self._failed is not None:
            raise self._failed

    def write(self, table: pa.Table) -> None:
        self._check()
        while table.num_rows:
            take = min(table.num_rows, self._rows - self._count)
            self._buffered.append(table.slice(0, take))
            self._count += take
            table = table.slice(take)
            if self._count == self._rows:
                self._flush()

    def _flush(self) -> None:
        if self._count:
            group = pa.concat_tables(self._buffered)
            self._buffered, self._count = [], 0
            self._queue.join()  # one row group in the writer at a time
            self._queue.put(group)

    def close(self) -> None:
        """Write what is gathered and wait for the writer thread; idempotent."""
        if self._thread.is_alive():
            try:
                self._flush()
            finally:
                self._queue.put(_DONE)
                self._thread.join()
        self._check()

    def cancel(self) -> None:
        """Drop what is gathered and stop the writer thread; never raises."""
        self._buffered, self._count = [], 0
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
