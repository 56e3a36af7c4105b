"""The null tokens: the cell values that mean "no value" rather than a value.

Spreadsheets and exports write a missing value in many ways. Every column is trimmed
with the COMMON list while the file streams (its type is not known yet at that
point); a column converted as a number or a date also treats its type's extra tokens
as missing. A missing amount is then `missing_amount`, not `invalid_amount`, and a
missing quantity is allowed and counted (see convert.py). Matching is
case-insensitive (`N/A`, `n/a` and `N/a` alike). The README's upload report section
lists these; tests/unit/test_ingest_required_measures.py keeps the two in step.

Every COMMON token starts with one of a few bytes and is at most four bytes long:
fastpath.needs_no_trim relies on that to skip trimming clean batches.
"""

from __future__ import annotations

COMMON: tuple[str, ...] = ("", "-", "—", "na", "n/a", "null", "none", "nan", "#n/a")
NULL_TOKENS: dict[str, tuple[str, ...]] = {
    "text": COMMON,
    "number": (*COMMON, "--", "?", "n.a."),
    "date": (*COMMON, "--", "?", "n.a.", "0000-00-00"),
}


def first_bytes_and_max_length(tokens: tuple[str, ...]) -> tuple[set[int], int]:
    """The first UTF-8 bytes the tokens can start with (in any case) and the longest
    token in bytes: what a byte-level check needs to rule every token out."""
    first = {s.encode()[0] for t in tokens if t for s in (t.lower(), t.upper())}
    return first, max(len(s.encode()) for t in tokens for s in (t.lower(), t.upper()))

