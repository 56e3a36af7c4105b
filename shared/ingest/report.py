"""The validation report of one ingest, and the error that fails a file whole.

Its format (documented in the README's API section):
- rows_read / rows_loaded / rows_rejected, rejected_by_reason and examples;
- mapping: role -> {column, by} for the roles in use;
- roles: EVERY mappable role -> {status: mapped|derived|not_found, column, by
  (header|content|user|derived), impact (what "not found" costs the dashboard)};
- columns: per column its type, role, null_count, invalid_count, invalid_examples;
- amounts: negative amounts and their share, the outlier bound and outliers;
- dates: the tenant time zone the business dates were derived in and the rows per
  rule (date_as_written | local_time | converted, see shared.ingest.business_time);
- warnings (and warning_count): each demotion, dropped role, returns, outliers and
  any doubt raised while reading; a load with warnings is shown as such.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared import errors

MAX_EXAMPLES_PER_REASON = 5
MAX_VALUE_CHARS = 200


class IngestFailed(errors.InvalidInput):
    """The file as a whole cannot be loaded (no rows are loaded)."""

    code = "ingest_failed"


@dataclass
class Report:
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)
    mapping: dict[str, Any] = field(default_factory=dict)
    columns: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    roles: dict[str, Any] = field(default_factory=dict)
    amounts: dict[str, Any] = field(default_factory=dict)
    encoding: str = ""
    delimiter: str = ""
    # Which column each rejected row was rejected for: names the column at fault when
    # the file fails on its reject limit.
    rejected_by_column: Counter = field(default_factory=Counter)
    # Loaded sale lines with no quantity (allowed), and with no amount (kept only when
    # the mapping asks to keep them): counted so that no gap in a measure goes unsaid.
    rows_without_quantity: int = 0
    rows_without_amount: int = 0
    # Loaded lines whose empty amount was taken from quantity x unit price.
    rows_amount_from_price: int = 0
    # A workbook: the sheet read and the worksheets it has (a CSV has neither).
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    sheet_cut: bool = False  # a preview read only the sheet's first rows
    # The tenant's zone the business dates were derived in, and how many loaded rows
    # each rule of shared.ingest.business_time applied to.
    time_zone: str = "UTC"
    date_rules: Counter = field(default_factory=Counter)

    def reject(self, row_number: int | None, column: str | None, value: Any,
               reason: str) -> None:
        self.rows_rejected += 1
        self.rejected_by_reason[reason] += 1
        if column:
            self.rejected_by_column[column] += 1
        if sum(1 for e in self.examples if e["reason"] == reason) < MAX_EXAMPLES_PER_REASON:
            text = None if value is None else str(value)[:MAX_VALUE_CHARS]
            self.examples.append({"row_number": row_number, "column": column, "value": text,
                                  "reason": reason})

    def count_date_rules(self, counts: dict[str, int]) -> None:
        self.date_rules.update(counts)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def to_dict(self) -> dict[str, Any]:
        return {"rows_read": self.rows_read, "rows_loaded": self.rows_loaded,
                "rows_rejected": self.rows_rejected,
                "rejected_by_reason": dict(self.rejected_by_reason),
                "examples": list(self.examples), "mapping": dict(self.mapping),
                "columns": list(self.columns), "warnings": list(self.warnings),
                "warning_count": len(self.warnings), "roles": dict(self.roles),
                "amounts": dict(self.amounts),
                "encoding": self.encoding, "delimiter": self.delimiter,
                "rejected_by_column": dict(self.rejected_by_column),
                "rows_without_quantity": self.rows_without_quantity,
                "rows_without_amount": self.rows_without_amount,
                "rows_amount_from_price": self.rows_amount_from_price,
                "sheet": self.sheet or None, "sheets": list(self.sheets),
                "dates": {"time_zone": self.time_zone, "rules": dict(self.date_rules)}}
