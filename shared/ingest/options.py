"""What an ingest is asked to do, and the shape of what it writes.

Both the pipeline (which stages a file) and the converter (which casts each batch)
need these; they live here, beside neither, so neither has to import the other.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from shared.ingest import values as V
from shared.schema import BUSINESS_DATA

_ARROW = {"STRING": pa.string(), "INT64": pa.int64(), "FLOAT64": pa.float64(),
          "NUMERIC": V.AMOUNT_TYPE, "TIMESTAMP": V.TS_TYPE, "DATE": pa.date32(),
          "JSON": pa.string(), "BOOL": pa.bool_()}
# The staged Parquet is loaded into the canonical table as is: its schema is the
# table's, column for column.
STAGING_SCHEMA = pa.schema([pa.field(c.name, _ARROW[c.bq_type], c.mode != "REQUIRED")
                            for c in BUSINESS_DATA])


@dataclass
class IngestOptions:
    tenant_id: str
    dataset_id: str
    upload_id: str
    mapping: dict[str, str | None] | None = None
    date_order: str | None = None          # DMY | MDY, settles an ambiguous date column
    decimal_separator: str | None = None   # "." | ",", overrides detection for measures
    max_reject_share: float = 0.20
    # A sale line with no amount is rejected (`missing_amount`) unless this is set: a
    # line without revenue would still count as an order and lower the average.
    keep_rows_without_amount: bool = False
    # A workbook's sheet to read (by name); None: its first visible worksheet.
    sheet: str | None = None
    # The tenant's IANA time zone: the business date of each sale (business_time.py).
    time_zone: str = "UTC"
