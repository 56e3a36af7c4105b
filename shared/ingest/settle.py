"""Type settling over the WHOLE column (first pass), never from a sample.

Each column keeps counters while the file streams by: how many values read as
numbers in the dot-decimal or the comma-decimal convention, as ISO dates, as D/M/Y
or M/D/Y (with the largest first and second component seen, which is what settles
the order), as month-name dates, as Excel serials. At the end each column settles on
one type; a D/M/Y-vs-M/D/Y column with no value above 12 on either side is
*ambiguous* and reported as such, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from shared.ingest import fastpath
from shared.ingest import values as V

TYPE_SHARE = 0.8          # share of non-empty values that must read as the type
LOOSE_SHARE = 0.5         # the same for a column whose header names its role
PRUNE_AFTER = 1000        # misses after which a column is known not to be of a family


@dataclass
class ColumnType:
    kind: str                      # number | date | text | empty
    decimal: str = "."             # numbers: "." or ","
    date_kind: str | None = None   # iso | numeric | month | serial
    date_order: str | None = None  # DMY | MDY for numeric dates; None when ambiguous
    share: float = 0.0

    @property
    def ambiguous(self) -> bool:
        return self.kind == "date" and self.date_kind == "numeric" and self.date_order is None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        if self.kind == "number":
            out["decimal_separator"] = self.decimal
        if self.kind == "date":
            out["date_format"] = self.date_kind
            if self.date_kind == "numeric":
                out["date_order"] = self.date_order or "ambiguous"
        return out


@dataclass
class ColumnProfile:
    name: str
    nonempty: int = 0
    dot_only: int = 0
    comma_only: int = 0
    either: int = 0
    number_misses: int = 0
    iso: int = 0
    numdate: int = 0
    month: int = 0
    serial: int = 0
    first_gt12: int = 0
    second_gt12: int = 0
    date_misses: int = 0
    skip_numbers: bool = False
    skip_dates: bool = False
    extra: dict[str, int] = field(default_factory=dict)

    def observe(self, raw: pa.Array, trimmed: pa.Array | None = None) -> None:
        """Count what the column's values read as; `trimmed`: V.trimmed(raw), when the
        caller has it already."""
        s = V.trimmed(raw) if trimmed is None else trimmed
        present = V.present(s)
        n = V.count(present)
        if n == 0:
            return
        self.nonempty += n
        plain = fastpath.plain_numbers(s) if not self.skip_numbers else None
        if plain is not None:
            d, c = int(plain.dot.sum()), int(plain.comma.sum())
            both = int((plain.dot & plain.comma).sum())
            self._count_numbers(n, d, c, both, int(plain.serial.sum()))
        elif not self.skip_numbers:
            clean = V.number_clean(s)
            dot = pc.fill_null(pc.match_substring_regex(clean, V.DOT_RE), False)
            comma = pc.fill_null(pc.match_substring_regex(clean, V.COMMA_RE), False)
            self._count_numbers(n, V.count(dot), V.count(comma),
                                V.count(pc.and_(dot, comma)),
                                V.count(pc.match_substring_regex(s, V.SERIAL_RE)))
        if not self.skip_dates and fastpath.plain_iso_dates(s):
            self.iso += n
        elif not self.skip_dates:
            iso = V.count(pc.match_substring_regex(s, V.ISO_RE))
            month = V.count(pc.match_substring_regex(s, V.MONTH_RE))
            numdate = 0
            if iso + month < n:
                parts = pc.extract_regex(pc.if_else(present, s, ""), V.NUMDATE_RE.replace(
                    "^(\\d{1,2})[/.-](\\d{1,2})", "^(?P<a>\\d{1,2})[/.-](?P<b>\\d{1,2})"))
                a = pc.cast(pc.struct_field(parts, "a"), pa.int32())
                b = pc.cast(pc.struct_field(parts, "b"), pa.int32())
                numdate = len(parts) - parts.null_count
                self.first_gt12 += V.count(pc.greater(a, 12))
                self.second_gt12 += V.count(pc.greater(b, 12))
            self.iso += iso
            self.month += month
            self.numdate += numdate
            self.date_misses += n - iso - month - numdate
            self.skip_dates = self._hopeless(self.date_misses)

    def _count_numbers(self, n: int, dot: int, comma: int, both: int, serial: int) -> None:
        self.either += both
        self.dot_only += dot - both
        self.comma_only += comma - both
        self.number_misses += n - (dot + comma - both)
        self.serial += serial
        self.skip_numbers = self._hopeless(self.number_misses)

    def _hopeless(self, misses: int) -> bool:
        return misses > PRUNE_AFTER and misses > (1 - TYPE_SHARE) * self.nonempty

    def settle(self, *, decimal_hint: str = ".", date_like_name: bool = False,
               date_order: str | None = None, decimal: str | None = None,
               min_share: float = TYPE_SHARE) -> ColumnType:
        """min_share: the share of values that must read as the type. Content-based
        mapping uses TYPE_SHARE; a column named like a date or measure needs only
        LOOSE_SHARE, and its bad rows are then quarantined (and counted against the
        file's reject limit) rather than the column being ignored."""
        n = self.nonempty
        if n == 0:
            return ColumnType("empty")
        dates = {"iso": self.iso, "numeric": self.numdate, "month": self.month}
        best = max(dates, key=lambda k: dates[k])
        if not self.skip_dates and dates[best] >= min_share * n:
            order = date_order
            if best == "numeric" and order is None:
                if self.first_gt12 and not self.second_gt12:
                    order = "DMY"
                elif self.second_gt12 and not self.first_gt12:
                    order = "MDY"
                elif self.first_gt12 and self.second_gt12:
                    order = "DMY" if self.first_gt12 >= self.second_gt12 else "MDY"
            return ColumnType("date", date_kind=best, date_order=order, share=dates[best] / n)
        if date_like_name and not self.skip_numbers and self.serial >= min_share * n:
            return ColumnType("date", date_kind="serial", share=self.serial / n)
        dot, comma = self.dot_only + self.either, self.comma_only + self.either
        if not self.skip_numbers and max(dot, comma) >= min_share * n:
            decimal = decimal or self._decimal(decimal_hint)
            return ColumnType("number", decimal=decimal,
                              share=(dot if decimal == "." else comma) / n)
        return ColumnType("text", share=1.0)

    def settle_as(self, kind: str, *, decimal_hint: str = ".", date_like_name: bool = False,
                  date_order: str | None = None, decimal: str | None = None) -> ColumnType:
        """The column read as `kind` (number | date) whatever share of its values
        reads so: for a column whose header names a measure or the date, which keeps
        its role and has its unreadable values rejected row by row (counted against
        the reject limit) instead of being demoted to text. The conventions (decimal
        separator, date format and order) are the ones most of its values follow."""
        n = max(self.nonempty, 1)
        if kind == "date":
            if date_like_name and self.serial > max(self.iso, self.numdate, self.month):
                return ColumnType("date", date_kind="serial", share=self.serial / n)
            if self.skip_dates or not self.nonempty:
                # Counting stopped (or nothing to count): nearly every value failed to
                # read as any date, and those rows are rejected whatever the format.
                return ColumnType("date", date_kind="iso", date_order=date_order)
            # Every share passes min_share 0: the most common date format wins.
            return self.settle(date_order=date_order, min_share=0.0)
        dot, comma = self.dot_only + self.either, self.comma_only + self.either
        decimal = decimal or self._decimal(decimal_hint)
        return ColumnType("number", decimal=decimal,
                          share=(dot if decimal == "." else comma) / n)

    def _decimal(self, hint: str) -> str:
        """The column's own decimal convention, or the file's where it cannot tell."""
        if self.dot_only != self.comma_only:
            return "." if self.dot_only > self.comma_only else ","
        return hint


def decimal_hint(profiles: list[ColumnProfile], delimiter: str) -> str:
    """The file's decimal convention where a column alone cannot tell ("1,234")."""
    dot = sum(p.dot_only for p in profiles if not p.skip_numbers)
    comma = sum(p.comma_only for p in profiles if not p.skip_numbers)
    if dot != comma:
        return "." if dot > comma else ","
    return "," if delimiter == ";" else "."
