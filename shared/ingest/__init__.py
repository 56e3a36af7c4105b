"""CSV ingestion: sniffing, whole-column type settling, mapping to the canonical roles,
row validation and staging to Parquet. Pure: a stream in, files out, no ports and no
composition root; the job that reads the object through the blob store, loads the
warehouse and records the upload's state is shared.uploads.job."""

from shared.ingest.options import STAGING_SCHEMA, IngestOptions
from shared.ingest.pipeline import Staged, stage
from shared.ingest.report import IngestFailed, Report

__all__ = ["STAGING_SCHEMA", "IngestFailed", "IngestOptions", "Report", "Staged", "stage"]
