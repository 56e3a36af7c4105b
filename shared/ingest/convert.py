"""The conversion of one record batch with a settled plan: convert the mapped columns
to the canonical types, quarantine the rows that fail, build the `extra` JSON of the
unmapped columns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shared.ingest import fastpath
from shared.ingest import values as V
from shared.ingest.business_time import business_time, rule_counts
from shared.ingest.mapping import ColumnMapping
from shared.ingest.options import STAGING_SCHEMA, IngestOptions
from shared.ingest.settle import ColumnType

if TYPE_CHECKING:
    from shared.ingest.rejects import RejectWriter
    from shared.ingest.report import Report

_NULL_STR = pa.scalar(None, pa.string())
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def _json_escape(s: pa.Array) -> pa.Array:
    if fastpath.json_safe(s):
        return s
    if not pc.any(pc.match_substring_regex(s, r'["\\\x00-\x1f]')).as_py():
        return s
    s = pc.replace_substring(s, "\\", "\\\\")
    s = pc.replace_substring(s, '"', '\\"')
    s = pc.replace_substring(s, "\n", "\\n")
    s = pc.replace_substring(s, "\r", "\\r")
    s = pc.replace_substring(s, "\t", "\\t")
    if pc.any(pc.match_substring_regex(s, _CONTROL)).as_py():
        for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]:
            s = pc.replace_substring(s, chr(code), f"\\u{code:04x}")
    return s


def trimmed_columns(batch: pa.RecordBatch) -> list[pa.Array]:
    """V.trimmed of every column of the batch."""
    return [V.trimmed(c) for c in batch.columns]


def extra_json(n: int, names: list[str], values: list[pa.Array]) -> pa.Array:
    """{"<name>": "<value>" | null, ...} for each of n rows, built column-wise in Arrow
    from the trimmed values of each named column."""
    if not names:
        return pa.nulls(n, pa.string())
    # One join over all the columns: literal text between the values is merged, and a
    # column with no null carries its quotes in that text instead of a join of its own.
    parts: list[pa.Array | str] = []
    text = ""
    for i, (name, value) in enumerate(zip(names, values, strict=True)):
        s = _json_escape(value)
        text += ("{" if i == 0 else ",") + json.dumps(name) + ":"
        if s.null_count:
            parts += [text, pc.fill_null(pc.binary_join_element_wise('"', s, '"', ""), "null")]
            text = ""
        else:
            parts += [text + '"', s]
            text = '"'
    parts.append(text + "}")
    return pc.binary_join_element_wise(*parts, "")


def convert_batch(batch: pa.RecordBatch, headers: list[str], types: Mapping[str, ColumnType],
                  mapping: ColumnMapping, extra: list[str], opts: IngestOptions, base: int,
                  loaded_at: pa.Scalar, report: Report, rejects: RejectWriter,
                  trimmed: list[pa.Array] | None = None) -> pa.Table:
    """The good rows of the batch as a table in the staging schema; bad rows go to the
    report and the rejects file. `base` is the number of data rows before the batch;
    `trimmed`: trimmed_columns(batch), when the caller has it already."""
    n = batch.num_rows
    index = {h: i for i, h in enumerate(headers)}
    roles = mapping.roles
    checks: list[tuple[str, str, pa.Array]] = []

    def column(name: str) -> pa.Array:
        at = index[name]
        return V.trimmed(batch.column(at)) if trimmed is None else trimmed[at]

    def col(role: str) -> pa.Array:
        return column(roles[role])

    date_col = roles["occurred_at"]
    dt = types[date_col]
    raw_date = V.typed_nulls(col("occurred_at"), "date")
    when = business_time(raw_date, dt.date_kind or "iso", dt.date_order, opts.time_zone)
    occurred, bad_date = when.occurred_at, when.invalid
    checks.append(("missing_date", date_col, pc.invert(V.present(raw_date))))
    checks.append(("invalid_date", date_col, bad_date))
    outside = V.outside_dates(occurred)
    checks.append(("date_out_of_range", date_col, outside))
    if pc.any(outside).as_py():
        report.warn(f"rows dated before {V.FIRST_DATE} or from {V.END_DATE} on are "
                    f"quarantined (date_out_of_range): the warehouse keeps that range")

    amount = pa.nulls(n, V.AMOUNT_TYPE)
    quantity = pa.nulls(n, pa.float64())
    if "quantity" in roles:
        quantity, bad = V.to_float(V.typed_nulls(col("quantity"), "number"),
                                   types[roles["quantity"]].decimal)
        checks.append(("invalid_quantity", roles["quantity"], bad))
    priced = "unit_price" in roles and "quantity" in roles

    def by_price() -> tuple[pa.Array, pa.Array]:
        """quantity x unit price per line, and the lines whose price is unreadable."""
        price, bad_price = V.to_float(V.typed_nulls(col("unit_price"), "number"),
                                      types[roles["unit_price"]].decimal)
        return pc.cast(pc.round(pc.multiply(quantity, price), 9), V.AMOUNT_TYPE,
                       safe=False), bad_price

    filled: pa.Array | None = None  # lines whose empty amount took quantity x price
    if "amount" in roles:
        raw_amount = V.typed_nulls(col("amount"), "number")
        amount, bad = V.to_decimal(raw_amount, types[roles["amount"]].decimal)
        checks.append(("invalid_amount", roles["amount"], bad))
        missing = pc.invert(V.present(raw_amount))
        if priced and pc.any(missing).as_py():
            # A line with no amount but a quantity and a unit price takes their product.
            from_price, bad_price = by_price()
            checks.append(("invalid_unit_price", roles["unit_price"],
                           pc.and_(missing, bad_price)))
            filled = pc.fill_null(pc.and_(missing, pc.is_valid(from_price)), False)
            amount = pc.if_else(filled, from_price, amount)
            missing = pc.and_(missing, pc.invert(filled))
        if not opts.keep_rows_without_amount:
            # A sale line without revenue still counts as an order and lowers the
            # average order value: rejected, unless the mapping says to keep such lines.
            checks.append(("missing_amount", roles["amount"], missing))
    elif priced:
        from_price, bad_price = by_price()
        checks.append(("invalid_unit_price", roles["unit_price"], bad_price))
        amount = from_price
    no_measure = pc.and_(pc.invert(pc.is_valid(amount)), pc.invert(pc.is_valid(quantity)))
    checks.append(("missing_measure", roles.get("amount") or roles.get("quantity", ""),
                   no_measure))

    reject = checks[0][2]
    for _, _, mask in checks[1:]:
        reject = pc.or_(reject, mask)
    reject = pc.fill_null(reject, False)
    row_numbers = pa.array(np.arange(base + 1, base + n + 1, dtype=np.int64))
    rejected = pc.any(reject).as_py()
    if rejected:
        _quarantine(batch, headers, checks, reject, row_numbers, report, rejects)
    keep = pc.invert(reject)
    report.count_date_rules(rule_counts(when.rule, keep))
    if "quantity" in roles:
        report.rows_without_quantity += V.count(pc.and_(keep, pc.invert(pc.is_valid(quantity))))
    if filled is not None:
        report.rows_amount_from_price += V.count(pc.and_(keep, filled))
    if "amount" in roles or mapping.how.get("amount") == "derived":
        report.rows_without_amount += V.count(pc.and_(keep, pc.invert(pc.is_valid(amount))))

    def ident(value: str) -> pa.Array:
        return fastpath.repeat_string(value, n)

    cols: dict[str, pa.Array] = {
        "tenant_id": ident(opts.tenant_id), "dataset_id": ident(opts.dataset_id),
        "upload_id": ident(opts.upload_id), "row_number": row_numbers,
        "occurred_at": occurred, "occurred_date": when.occurred_date,
        "amount": amount, "quantity": quantity,
    }
    for role in ("product", "category", "region", "customer", "channel", "order_id"):
        cols[role] = col(role) if role in roles else pa.nulls(n, pa.string())
    cols["extra"] = extra_json(n, extra, [column(h) for h in extra])
    cols["loaded_at"] = pa.array(np.full(n, loaded_at.value, dtype=np.int64), pa.int64()).cast(
        V.TS_TYPE)
    table = pa.Table.from_pydict(cols)
    if rejected:
        table = table.filter(keep)
    return table.cast(STAGING_SCHEMA)


def _quarantine(batch, headers, checks, reject, row_numbers, report, rejects) -> None:
    idx = pc.indices_nonzero(reject)
    masks = [(reason, column, pc.fill_null(mask.take(idx), False).to_pylist())
             for reason, column, mask in checks]
    numbers = row_numbers.take(idx).to_pylist()
    rows = batch.take(idx).to_pylist()
    for j, (number, row) in enumerate(zip(numbers, rows, strict=True)):
        reason, column = next((r, c) for r, c, m in masks if m[j])
        fields = [row[f"c{i}"] for i in range(len(headers))]
        value = row[f"c{headers.index(column)}"] if column in headers else None
        report.reject(number, column, value, reason)
        rejects.write(number, reason, column, value, fields)
