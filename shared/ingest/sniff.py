"""Sniffing: encoding, delimiter, quoting and the header, from the head of the file.

Only the first megabyte is looked at here; the column *types* are settled later over
the whole file (see `settle`), because a sample cannot see row 900,000.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field

from shared.ingest.report import IngestFailed

SAMPLE_BYTES = 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_SEP_LINE = re.compile(r"^\s*\"?sep=(.)\"?\s*$", re.IGNORECASE)
# Bytes that never occur in text files, whatever the single-byte encoding.
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")
_WESTERN = {"cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "cp1254", "iso8859_9",
            "mac_roman", "cp850", "cp437", "ascii", "windows-1252", "iso-8859-1"}
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


@dataclass
class Sniffed:
    """How to read the file: fed to the streaming CSV reader on both passes."""

    encoding: str                  # Python codec name; "utf-8" when no transcoding needed
    delimiter: str
    skip_lines: int                # physical lines before the first data row
    headers: list[str]             # unique, non-blank display names
    warnings: list[str] = field(default_factory=list)

    @property
    def needs_transcoding(self) -> bool:
        return self.encoding != "utf-8"


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16/32 by BOM or by content, else the best
    single-byte guess (cp1252 for western text, which is what Excel writes)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # A cut in the middle of a multi-byte character at the sample's end is not an error.
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason.startswith("unexpected end"):
            return "utf-8"
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return utf16
    from charset_normalizer import from_bytes

    best = from_bytes(sample[:256 * 1024]).best()
    guess = codecs.lookup(best.encoding).name if best is not None else "cp1252"
    if guess.startswith(("utf_16", "utf-16", "utf_32", "utf-32")):
        return guess
    if best is None or guess in _WESTERN or guess.startswith(("cp125", "iso8859", "latin")):
        return "latin-1" if _CP1252_UNDEFINED & set(sample) else "cp1252"
    return guess


def _utf16_without_bom(sample: bytes) -> str | None:
    """ASCII-heavy UTF-16 has a NUL in every other byte."""
    head = sample[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _decode(sample: bytes, encoding: str) -> str:
    text = sample.decode(encoding, errors="replace")
    return text.lstrip("\ufeff")


def _lines(text: str) -> list[str]:
    lines = _LINE.findall(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _records(lines: list[str], start: int) -> list[tuple[int, str]]:
    """Group physical lines into records (a quoted field may span lines):
    returns (physical line count, record text) for each complete record."""
    out: list[tuple[int, str]] = []
    i = start
    while i < len(lines):
        j, text = i, lines[i]
        while text.count('"') % 2 and j + 1 < len(lines):
            j += 1
            text += lines[j]
        if text.count('"') % 2:
            break  # unterminated within the sample: ignore the tail
        out.append((j - i + 1, text))
        i = j + 1
    return out


def _fields(record: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(record.rstrip("\r\n"), newline=""),
                               delimiter=delimiter, quotechar='"', strict=False), [])
    except csv.Error:
        return record.rstrip("\r\n").split(delimiter)


def choose_delimiter(records: list[str]) -> str:
    """The candidate giving the most consistent field count (> 1) over the records."""
    best, best_score = ",", (-1.0, 0)
    for delim in DELIMITERS:
        counts = [len(_fields(r, delim)) for r in records[:200] if r.strip()]
        if not counts:
            continue
        mode, freq = Counter(counts).most_common(1)[0]
        if mode < 2:
            continue
        score = (freq / len(counts), mode)
        if score > best_score:
            best, best_score = delim, score
    return best


def unique_headers(raw: list[str]) -> list[str]:
    """Blank headers become column_<n>; duplicates get _2, _3 ... suffixes."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(raw, start=1):
        base = " ".join(name.replace("\ufeff", "").split()) or f"column_{i}"
        candidate, n = base, 2
        while candidate.lower() in seen:
            candidate, n = f"{base}_{n}", n + 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def sniff(sample: bytes, *, at_eof: bool) -> Sniffed:
    """Work out how to read a file from its first bytes (at_eof: the sample is all)."""
    if not sample.strip(b"\x00\r\n\t \xef\xbb\xbf\xff\xfe"):
        raise IngestFailed("the file is empty", code="empty_file")
    encoding = detect_encoding(sample)
    text = _decode(sample, encoding)
    if not at_eof:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[:cut + 1] if cut > 0 else text
    head = text[:65536]
    if (len(_CONTROL.findall(head)) > 0.05 * len(head)
            or head.count("\x00") > 0.10 * len(head)):
        raise IngestFailed("the file is not text (binary content)", code="not_text",
                           details={"encoding_guess": encoding})
    lines = _lines(text)
    skip, delimiter, warnings = 0, None, []
    while skip < len(lines) and not lines[skip].strip():
        skip += 1
    if skip < len(lines) and (m := _SEP_LINE.match(lines[skip].rstrip("\r\n"))):
        delimiter = m.group(1)
        skip += 1
        while skip < len(lines) and not lines[skip].strip():
            skip += 1
    records = _records(lines, skip)
    if not records:
        raise IngestFailed("the file has no header row", code="no_header")
    if delimiter is None:
        delimiter = choose_delimiter([r for _, r in records])
    header_lines, header_text = records[0]
    raw = _fields(header_text, delimiter)
    data_counts = [len(_fields(r, delimiter)) for _, r in records[1:201] if r.strip()]
    if data_counts:
        width = Counter(data_counts).most_common(1)[0][0]
        if width > len(raw):
            warnings.append(f"data rows have {width} fields but the header {len(raw)}; "
                            "the extra columns were named column_<n>")
            raw += [""] * (width - len(raw))
        elif width < len(raw) and not any(h.strip() for h in raw[width:]):
            raw = raw[:width]
    if len(raw) < 1 or not any(h.strip() for h in raw):
        raise IngestFailed("the header row is blank", code="no_header")
    return Sniffed(encoding=encoding, delimiter=delimiter, skip_lines=skip + header_lines,
                   headers=unique_headers(raw), warnings=warnings)
