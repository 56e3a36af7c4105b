"""The part of the validation report that accounts for everything: every role (the
column it came from and how, or what its absence means for the dashboard), every
column (type, empty cells, values that do not read as its type, with examples), and
the warnings a dashboard reader must see: roles named by a header but not used,
negative amounts (returns) and amounts far beyond the file's usual size.

A number that silently drops out of the dashboard is the worst result an ingest can
give, so each of these ends up in `Report.warnings`, and a load with warnings is shown
as such by the API and the web app.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.ingest.mapping import MAPPABLE, SYNONYMS, ColumnMapping, normalize
from shared.ingest.settle import ColumnProfile, ColumnType

if TYPE_CHECKING:
    from shared.ingest.report import Report

# What the dashboard loses when a role has no column. Said in the report next to
# "not found", so the reader knows which figures to distrust before looking at them.
IMPACT: dict[str, str] = {
    "occurred_at": "nothing can be loaded: every sale needs a date",
    "amount": "no revenue figures: revenue, average order value and revenue per "
              "customer stay at 0",
    "quantity": "no unit figures: units sold stay at 0",
    "product": "no breakdown by product",
    "category": "no breakdown by category",
    "region": "no breakdown by region",
    "customer": "no customer figures: customers and revenue per customer are not counted",
    "channel": "no breakdown by channel",
    "order_id": "each line counts as one order",
    "unit_price": "amounts cannot be derived from quantity x unit price",
}
# An amount this many times the median absolute amount is beyond plausible bounds for
# one sale line (a unit typed into the wrong column, cents read as units, a total row).
OUTLIER_FACTOR = 1000
MAX_OUTLIER_EXAMPLES = 5


def roles(mapping: ColumnMapping) -> dict[str, dict[str, Any]]:
    """Every mappable role: where it came from, or "not found" and what that costs."""
    out: dict[str, dict[str, Any]] = {}
    for role in MAPPABLE:
        col, how = mapping.roles.get(role), mapping.how.get(role)
        if col is not None:
            out[role] = {"status": "mapped", "column": col, "by": how or "header"}
        elif how == "derived":
            out[role] = {"status": "derived", "column": None, "by": "derived",
                         "note": "quantity x unit price"}
        else:
            impact = IMPACT[role]
            if role == "unit_price" and "amount" in mapping.roles:
                impact = "not needed: the amount has its own column"
            out[role] = {"status": "not_found", "column": None, "by": None,
                         "impact": impact}
    return out


def columns(headers: Sequence[str], types: Mapping[str, ColumnType],
            profiles: Sequence[ColumnProfile], rows: int, report: Report,
            mapping: ColumnMapping) -> list[dict[str, Any]]:
    """Per column: its type, how many cells were empty, how many values did not read as
    its type (counted over the whole file), and examples from the rejected rows."""
    by_name = {p.name: p for p in profiles}
    role_of = {col: role for role, col in mapping.roles.items()}
    out = []
    for h in headers:
        t, p = types[h], by_name.get(h)
        nonempty = p.nonempty if p is not None else 0
        invalid = 0
        if t.kind in ("number", "date"):
            invalid = nonempty - round(t.share * nonempty)
        role = role_of.get(h)
        if role is not None:
            invalid = max(invalid, report.rejected_by_reason.get(f"invalid_{role}", 0))
        examples = [e["value"] for e in report.examples
                    if e.get("column") == h and e["reason"].startswith("invalid_")]
        out.append({"column": h, **t.describe(), "role": role,
                    "null_count": max(0, rows - nonempty), "invalid_count": invalid,
                    "invalid_examples": examples})
    return out


def dropped_roles(headers: Sequence[str], types: Mapping[str, ColumnType],
                  mapping: ColumnMapping, report: Report) -> None:
    """Warn about each role whose header is in the file but whose column was not used
    (its values did not read as the role needs): the dashboard goes without it."""
    for role in MAPPABLE:
        if role in mapping.roles or mapping.how.get(role) == "derived":
            continue
        for h in headers:
            if h in mapping.mapped_columns or types[h].kind == "empty" \
                    or normalize(h) not in SYNONYMS.get(role, ()):
                continue
            report.warn(f"column {h!r} is named like the {role} but was read as "
                        f"{types[h].kind} ({types[h].share:.0%} of its values), so it is "
                        f"not used as the {role}: {IMPACT[role]}")
            break


def amounts(parquet_path: Path, report: Report) -> dict[str, Any]:
    """Negative amounts (returns, refunds) and their share, and amounts beyond
    OUTLIER_FACTOR x the median absolute amount, read back from the staged file one
    row group at a time (bounded memory). Adds the warnings; returns the figures."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if not parquet_path.exists():
        return {}
    pf = pq.ParquetFile(parquet_path)
    count = negative = 0
    negative_sum = Decimal(0)
    magnitudes: list[pa.Array] = []
    for batch in pf.iter_batches(columns=["amount"], batch_size=256 * 1024):
        col = batch.column(0).drop_null()
        if not len(col):
            continue
        count += len(col)
        # Compared and ranked as floats (a decimal compare is several times slower);
        # the sum of the negatives stays exact.
        as_float = col.cast(pa.float64())
        neg = pc.less(as_float, 0.0)
        hits = pc.sum(neg).as_py() or 0
        if hits:
            negative += hits
            negative_sum += pc.sum(pc.filter(col, neg)).as_py() or 0
        magnitudes.append(pc.abs(as_float))
        # Keep memory bounded: the median of a systematic sample is close enough to
        # set a bound a thousand times larger.
        if sum(len(m) for m in magnitudes) > 2_000_000:
            merged = pa.concat_arrays(magnitudes)
            magnitudes = [merged.take(pa.array(range(0, len(merged), 2)))]
    if not count:
        return {}
    median = pc.approximate_median(pa.concat_arrays(magnitudes)).as_py() or 0.0
    figures: dict[str, Any] = {"amounts": count, "negative_count": negative,
                               "negative_share": round(negative / count, 4),
                               "negative_sum": _plain(negative_sum), "median_abs": median,
                               "outlier_bound": median * OUTLIER_FACTOR if median else None,
                               "outlier_count": 0, "outlier_examples": []}
    if negative:
        report.warn(f"{_count(negative, 'amount is', 'amounts are')} negative "
                    f"({negative / count:.1%} of the lines, {_plain(negative_sum)} in total): "
                    "read as returns or refunds, they lower revenue")
    if median:
        _outliers(pf, median * OUTLIER_FACTOR, figures)
        if figures["outlier_count"]:
            report.warn(f"{_count(figures['outlier_count'], 'amount is', 'amounts are')} "
                        "more than "
                        f"{OUTLIER_FACTOR:,}x the median amount ({median:g}), e.g. "
                        f"{', '.join(figures['outlier_examples'][:3])}: check for a "
                        "misplaced column, cents or a total line")
    return figures


def _outliers(pf: Any, bound: float, figures: dict[str, Any]) -> None:
    """Count and sample the amounts beyond `bound`. A row group whose amount statistics
    (min and max, written by the Parquet writer) stay within the bound is skipped
    unread, so a file with no outlier costs no second read."""
    import pyarrow.compute as pc

    meta = pf.metadata
    for group in range(meta.num_row_groups):
        if _within(meta.row_group(group), bound):
            continue
        batch = pf.read_row_group(group, columns=["row_number", "amount"])
        amount = batch.column(1)
        big = pc.fill_null(pc.greater(pc.abs(amount.cast("float64")), bound), False)
        hits = pc.sum(big).as_py() or 0
        if not hits:
            continue
        figures["outlier_count"] += hits
        room = MAX_OUTLIER_EXAMPLES - len(figures["outlier_examples"])
        if room > 0:
            rows = pc.filter(batch.column(0), big).to_pylist()[:room]
            vals = pc.filter(amount, big).to_pylist()[:room]
            figures["outlier_examples"] += [f"{_plain(v)} (row {r})"
                                            for r, v in zip(rows, vals, strict=True)]


def _within(row_group: Any, bound: float) -> bool:
    """True when the row group's amount statistics prove every amount within bound."""
    for i in range(row_group.num_columns):
        column = row_group.column(i)
        if column.path_in_schema != "amount":
            continue
        stats = column.statistics
        if stats is None or not stats.has_min_max:
            return False
        return max(abs(float(stats.min)), abs(float(stats.max))) <= bound
    return False


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _plain(value: Any) -> str:
    """A decimal as a person writes it: 20000, -5.5 (not 2E+4, -5.500000000)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)
