"""The rejected-rows CSV: every quarantined row with its number, reason, the column and
value at fault, then the row's own fields. Cells that a spreadsheet would run as a
formula are neutralized when written (OWASP: prefix with a single quote)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, TextIO

from shared.csvcells import neutralize

LEAD_COLUMNS = ("row_number", "reason", "column", "value")


class _RowWriter(Protocol):
    """What `csv.writer` returns, as far as this module uses it (its concrete class is
    private to the `_csv` module)."""

    def writerow(self, row: Iterable[Any], /) -> Any: ...


class RejectWriter:
    def __init__(self, path: Path, headers: list[str]) -> None:
        self.path = path
        self.headers = headers
        self._file: TextIO | None = None
        self._writer: _RowWriter | None = None
        self.count = 0

    def __enter__(self) -> RejectWriter:
        self._file = open(self.path, "w", encoding="utf-8", newline="")
        self._writer = writer = csv.writer(self._file)
        writer.writerow([neutralize(h) for h in (*LEAD_COLUMNS, *self.headers)])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file:
            self._file.close()

    def write(self, row_number: int | None, reason: str, column: str | None, value: Any,
              fields: list[Any]) -> None:
        if self._writer is None:
            raise RuntimeError("RejectWriter writes only inside its `with` block")
        self.count += 1
        lead = ["" if row_number is None else str(row_number), reason, column or "",
                value]
        self._writer.writerow([neutralize(c) for c in (*lead, *fields)])

    def write_raw(self, text: str, reason: str) -> None:
        """A row the CSV parser could not split into the header's columns."""
        self.write(None, reason, None, text[:10_000], [])
