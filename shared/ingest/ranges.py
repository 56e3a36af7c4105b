"""Byte ranges of a CSV cut at row boundaries, for ingesting one file in several tasks.

A file too large for one ingest task's deadline (settings `ingest_split_bytes`) is cut
into ranges of about that many bytes; each range is read as the header block followed
by its own bytes, so every range parses as a CSV of its own.

A cut must never land inside a quoted field: one scan from the start of the file keeps
the parity of the quote characters seen (RFC 4180 escapes a quote by doubling it, which
leaves the parity unchanged), and a cut moves forward to the first line feed at which
the parity is even. The scan counts bytes only (`bytes.count`/`find` over large
chunks), so it runs at memory speed. Parity is only right when quotes open and close
fields; a stray quote inside an unquoted field (`15" screen`) would shift it, so
`splittable` keeps such files, and files whose head shows quoted line breaks, in one
task (the issue's rule: quoted line breaks fall back to one task). Files in UTF-16/32
(whose line feed is not the byte 0x0A alone) and files with bare CR line ends are not
split either.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

_CHUNK = 8 * 1024 * 1024
_BARE_CR = re.compile(rb"\r(?!\n)")


@dataclass(frozen=True)
class ByteRange:
    """Bytes [start, end) of the file; `lines_before` physical lines precede `start`
    (the header block's included), so rows keep file-wide numbers."""

    start: int
    end: int
    lines_before: int

    def to_dict(self) -> dict[str, int]:
        return {"start": self.start, "end": self.end, "lines_before": self.lines_before}

    @classmethod
    def of(cls, data: dict[str, int]) -> ByteRange:
        return cls(int(data["start"]), int(data["end"]), int(data["lines_before"]))


def splittable(head: bytes, encoding: str, *, at_eof: bool = False) -> bool:
    """Whether the file can be cut by `cut`, judged from its head: an 8-bit or UTF-8
    encoding, LF or CRLF line ends, and every complete line with an even number of
    quotes (an odd count is a quoted line break or a stray quote)."""
    if encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
        return False
    if not at_eof:
        head = head[:head.rfind(b"\n") + 1]  # the last line may be cut short
    if not head or _BARE_CR.search(head):
        return False
    return all(line.count(b'"') % 2 == 0 for line in head.split(b"\n"))


def header_end(head: bytes, rows: int = 1) -> int:
    """The offset just after the first `rows` physical rows (the header, after any
    `sep=` line), quote-aware; 0 when the head holds no complete row."""
    parity, at = 0, 0
    while rows > 0:
        n = head.find(b"\n", at)
        if n < 0:
            return 0
        parity ^= head.count(b'"', at, n) & 1
        at = n + 1
        if parity == 0:
            rows -= 1
    return at


def cut(read: Callable[[int], bytes], size: int, target: int, start: int) -> list[ByteRange]:
    """Ranges of about `target` bytes covering [start, size), each ending just after a
    line feed outside quotes (the last one at the end of the file). `read(n)` reads
    the file sequentially from its first byte (the parity is counted from there)."""
    if target <= 0:
        raise ValueError("target must be positive")
    ranges: list[ByteRange] = []
    head_lines = 0
    range_start, range_lines = start, -1
    nominal = start + target
    base = parity = lines = 0
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            break
        i = 0
        if range_lines < 0 and base + len(chunk) >= start:
            head_lines = lines + chunk.count(b"\n", 0, start - base)
            range_lines = head_lines
        while nominal < size and range_lines >= 0:
            n = chunk.find(b"\n", max(nominal - base, i))
            if n < 0:
                break
            parity ^= chunk.count(b'"', i, n) & 1
            lines += chunk.count(b"\n", i, n) + 1
            i = n + 1
            if parity == 0:
                end = base + i
                ranges.append(ByteRange(range_start, end, range_lines))
                range_start, range_lines, nominal = end, lines, end + target
        parity ^= chunk.count(b'"', i) & 1
        lines += chunk.count(b"\n", i)
        base += len(chunk)
    if range_start < size or not ranges:
        ranges.append(ByteRange(range_start, size, max(range_lines, head_lines)))
    return ranges


class RangeReader(io.RawIOBase):
    """The header block, then the bytes of one range: a CSV of its own. `stream` must
    be seekable (Cloud Storage and local readers are)."""

    def __init__(self, stream: BinaryIO, header: int, rng: ByteRange) -> None:
        self._stream = stream
        self._parts = [(0, header), (rng.start, rng.end)]
        self._left = 0
        self._next_part()

    def _next_part(self) -> None:
        while self._parts:
            start, end = self._parts.pop(0)
            if end > start:
                self._stream.seek(start)
                self._left = end - start
                return
        self._left = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        while self._left == 0 and self._parts:
            self._next_part()
        if self._left == 0:
            return 0
        data = self._stream.read(min(len(view), self._left))
        if not data:
            raise EOFError("the object ended before its range did")
        view[:len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


def open_range(open_stream: Callable[[], BinaryIO], header: int,
               rng: ByteRange) -> Callable[[], BinaryIO]:
    """An `open_stream` for the pipeline that reads the header block and one range."""
    def opened() -> BinaryIO:
        return io.BufferedReader(RangeReader(open_stream(), header, rng), 1024 * 1024)
    return opened
