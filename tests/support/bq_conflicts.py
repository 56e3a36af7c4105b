"""BigQuery's documented rule for concurrent transactions, as a model the layout tests
check SQL against (the emulator runs one statement at a time and cannot show it).

"If a transaction mutates (update or deletes) rows in a table, then other transactions
or DML statements that mutate rows in the same table cannot run concurrently.
Conflicting transactions are cancelled."
(https://cloud.google.com/bigquery/docs/transactions#transaction_concurrency)
Reading a table, or appending to it, does not conflict (same page)."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

_MUTATING = (exp.Delete, exp.Update, exp.Merge)


def mutated_tables(script: str) -> set[str]:
    """The tables whose rows a script's DML updates or deletes (INSERT only appends)."""
    found: set[str] = set()
    for statement in sqlglot.parse(script, read="bigquery"):
        if isinstance(statement, _MUTATING):
            table = statement.this if isinstance(statement.this, exp.Table) else \
                statement.find(exp.Table)
            found.add(".".join(p.name for p in table.parts))
    return found


def cancelled(first: str, second: str) -> bool:
    """Whether one of two transactions running at the same time is cancelled: both
    update or delete rows of a same table."""
    return bool(mutated_tables(first) & mutated_tables(second))
