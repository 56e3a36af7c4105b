"""CSV ingestion: sniffing, whole-column type settling, mapping to the canonical roles,
row validation and staging to Parquet. Pure: no ports; see shared.uploads.service for the
use case that reads the object and loads the warehouse."""

from shared.ingest.pipeline import STAGING_SCHEMA, IngestOptions, Staged, stage
from shared.ingest.report import IngestFailed, Report

__all__ = ["STAGING_SCHEMA", "IngestFailed", "IngestOptions", "Report", "Staged", "stage"]
