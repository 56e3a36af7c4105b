"""What the BigQuery warehouse sends and loads, checked before any job: query
parameters typed as BigQuery's, and the Parquet file of a load (readable, columns of
the canonical table, one tenant's rows)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from shared import errors, schema

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1000}$")
_COLUMNS = {c.name: c for c in schema.BUSINESS_DATA}


def scalar_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, Decimal):
        return "NUMERIC"
    if isinstance(value, datetime):
        return "TIMESTAMP"
    if isinstance(value, date):
        return "DATE"
    if isinstance(value, bytes):
        return "BYTES"
    if value is None or isinstance(value, str):
        return "STRING"
    raise errors.InvalidInput(f"unsupported query parameter type {type(value).__name__}")


def _scalar(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # naive datetimes are UTC, as everywhere
    return value


def query_params(params: Mapping[str, Any]) -> list[Any]:
    from google.cloud import bigquery

    out: list[bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter] = []
    for name, value in params.items():
        if not _NAME.match(name or "") or len(name) > 128:
            raise errors.InvalidInput(f"invalid parameter name {name!r}")
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            kinds = {scalar_type(v) for v in items if v is not None} or {"STRING"}
            if len(kinds) > 1:
                raise errors.InvalidInput(f"parameter {name!r} mixes types")
            out.append(bigquery.ArrayQueryParameter(name, kinds.pop(),
                                                    [_scalar(v) for v in items]))
        else:
            out.append(bigquery.ScalarQueryParameter(name, scalar_type(value), _scalar(value)))
    return out


def parquet_tenant(path: str) -> str | None:
    """The one tenant whose rows the file holds (None when it holds no rows), from the
    row groups' statistics where they are written, else from the column itself."""
    try:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError as exc:  # only the functions that load carry pyarrow
        raise errors.AppError("loading into the warehouse needs pyarrow",
                              code="warehouse_not_configured") from exc

    pf = pq.ParquetFile(path)
    at = pf.schema_arrow.get_field_index("tenant_id")
    found: set[str] = set()
    for group in range(pf.metadata.num_row_groups):
        stats = pf.metadata.row_group(group).column(at).statistics
        if stats is not None and stats.has_min_max and stats.null_count == 0:
            found.update((stats.min, stats.max))
        else:
            column = pf.read_row_group(group, columns=["tenant_id"]).column(0)
            found.update(v for v in pc.unique(column).to_pylist() if v is not None)
    if len(found) > 1:
        raise errors.InvalidInput("a load holds the rows of one tenant",
                                  code="tenant_mismatch")
    return found.pop() if found else None


def check_parquet(path: str) -> None:
    """Fail fast, before any job, on a file that is not Parquet or lacks a required
    column: BigQuery would reject it too, but later and less clearly."""
    try:
        import pyarrow.parquet as pq
    except ImportError:  # the load job will tell
        return
    try:
        names = set(pq.read_schema(path).names)
    except FileNotFoundError as exc:
        raise errors.InvalidInput("parquet file does not exist") from exc
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise errors.InvalidInput("not a readable Parquet file", code="bad_parquet") from exc
    unknown = sorted(names - set(_COLUMNS))
    if unknown:
        raise errors.InvalidInput(f"columns not in the table: {', '.join(unknown)}",
                                  code="unknown_columns", details={"columns": unknown})
    missing = [c.name for c in schema.BUSINESS_DATA if c.mode == "REQUIRED"
               and c.name not in names]
    if missing:
        raise errors.InvalidInput("parquet file lacks required columns",
                                  code="constraint_violation", details={"missing": missing})
