"""The Superstore orders as the CSV a user uploads, and a helper that sends CSV text
through the real upload path (create -> file -> finalize event -> ingest task), so the
field catalog is settled by the ingest as it is in production."""

from __future__ import annotations

import io

import pandas as pd

from tests.support.metrics_data import SUPERSTORE
from tests.support.upload_flow import load_upload_main, upload


def superstore_csv() -> bytes:
    raw = pd.read_parquet(SUPERSTORE)
    buf = io.StringIO()
    raw.to_csv(buf, index=False)
    return buf.getvalue().encode()


def superstore_raw() -> pd.DataFrame:
    raw = pd.read_parquet(SUPERSTORE)
    raw["Order Date"] = pd.to_datetime(raw["Order Date"]).dt.date
    return raw


def load_csv(function_client, headers: dict[str, str], deps, data: bytes,
             dataset: str = "Sales", **body) -> dict:
    """Upload `data` into the named dataset; the upload as the API answers it."""
    client = function_client("upload", "upload_http")
    done = upload(client, headers, deps, load_upload_main(), data, dataset=dataset, **body)
    assert done["status"] == "loaded", done
    return done
