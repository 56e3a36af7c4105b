"""The one place that reads configuration (environment variables prefixed TIDEMARK_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Tidemark has. Precedence: explicit kwargs > environment > defaults."""

    model_config = SettingsConfigDict(env_prefix="TIDEMARK_", extra="ignore", frozen=True)

    backend: Literal["local", "gcp"] = "local"
    log_level: str = "INFO"

    # --- local stack -------------------------------------------------------------
    data_dir: Path = Path(".tidemark")
    host: str = "127.0.0.1"
    port: int = 8080
    # Base URL the local stack is reachable at; signed URLs and task targets use it.
    public_url: str = ""

    # DuckDB's memory ceiling while a load runs, so a load's peak memory does not grow
    # with the file ("" leaves DuckDB's own limit, 80% of RAM).
    duckdb_load_memory: str = "96MB"
    # Loads of at least this many rows whose Parquet file has exactly the table's
    # columns are kept as Parquet segments of the table instead of inserted (0: never).
    duckdb_segment_rows: int = Field(default=500_000, ge=0)

    # --- naming shared by both backends ----------------------------------------------
    uploads_bucket: str = "tidemark-uploads"
    # Quarantined rows go to a bucket of their own: every object finalized in the
    # uploads bucket triggers the ingest function, whatever its name.
    rejected_bucket: str = "tidemark-rejected"
    # Parquet shards between staging and the warehouse load (shared/uploads/staging.py):
    # a bucket of their own for the same reason, deleted after the commit.
    staging_bucket: str = "tidemark-staging"
    warehouse_dataset: str = "tidemark"
    warehouse_table: str = "business_data"

    # --- gcp -------------------------------------------------------------------------
    gcp_project: str = ""
    gcp_region: str = "europe-west1"
    bq_location: str = "EU"
    firestore_database: str = "(default)"
    tasks_location: str = ""
    tasks_queue_metrics: str = "metrics"
    tasks_queue_forecast: str = "forecast"
    tasks_queue_ingest: str = "ingest"
    tasks_service_account: str = ""
    # Base URL of each task target (a Cloud Functions URL on GCP), keyed by target.
    metrics_task_url: str = ""
    forecast_task_url: str = ""
    ingest_task_url: str = ""
    # The ingest task's dispatch deadline: Cloud Tasks allows up to 30 minutes for an
    # HTTP target (Task.dispatchDeadline,
    # https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues.tasks).
    ingest_task_dispatch_timeout_s: float = Field(default=1800.0, ge=15, le=1800)
    signing_service_account: str = ""
    secret_prefix: str = "tidemark"  # noqa: S105 - a name prefix, not a secret

    # --- auth ------------------------------------------------------------------------
    jwt_issuer: str = "tidemark"
    jwt_audience: str = "tidemark-api"
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 30 * 24 * 3600
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19456, ge=8192)
    argon2_parallelism: int = Field(default=1, ge=1)
    # "<attempts>/<window seconds>" per limited action.
    rate_login_ip: str = "30/300"
    rate_login_account: str = "10/900"
    rate_register_ip: str = "10/3600"
    # Whether requests arrive through Google's front end, which appends the address it
    # was connected from to X-Forwarded-For (True on Google Cloud; False locally, where
    # the socket peer is the caller). See shared/web/authz.py client_ip.
    forwarded_by_front_end: bool = False
    # Comma-separated CIDRs of the proxies in front of Google's front end (Firebase
    # Hosting's CDN) whose own X-Forwarded-For entry is trusted to name the caller.
    trusted_proxy_networks: str = ""

    # --- uploads / ingest --------------------------------------------------------------
    # 4 GiB: the largest file one ingest task takes within its 1800 s deadline with
    # margin. Measured: 65 MB/s per core staging (benchmarks/README.md, 1 GB and 4 GB
    # runs); 4 GiB read twice (the worst case of shared.ingest.passes) at half that
    # speed is ~260 s, and its staged Parquet stays inside a 4 GiB instance whose /tmp
    # is memory. Larger files need the byte-range split (docs/gcp.md, "Staging and
    # splitting"), whose cutter is shared.ingest.ranges.
    max_upload_bytes: int = 4 * 1024**3
    # Staged Parquet is cut into shards of about this size (whole row groups).
    staging_shard_bytes: int = Field(default=256 * 1024**2, ge=1)
    signed_url_ttl_s: int = 900
    max_reject_share: float = Field(default=0.20, ge=0.0, le=1.0)
    # How long an ingest may hold an upload before a redelivered event may take over.
    ingest_lease_s: int = Field(default=900, ge=10)
    # A finalize event older than this is not ingested (nor retried) any more: its upload
    # is marked failed instead (shared/uploads/events.py).
    ingest_event_max_age_s: int = Field(default=3 * 3600, ge=600)
    # The longest the ingest waits for the warehouse load; under the event function's
    # 540 s timeout with room for staging the file first.
    warehouse_load_timeout_s: float = Field(default=300.0, gt=0, le=540)

    # --- task queue (local) -----------------------------------------------------------
    task_max_attempts: int = 5
    task_backoff_base_s: float = 1.0
    task_backoff_max_s: float = 300.0
    task_dispatch_timeout_s: float = 600.0

    # --- mail -------------------------------------------------------------------------
    # "folder" writes each message as an .eml file under <data_dir>/mail (the local
    # stack's default); "smtp" sends through the server below (the default on GCP).
    mail_backend: Literal["folder", "smtp", ""] = ""
    mail_from: str = "Tidemark <no-reply@tidemark.invalid>"
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # "starttls" upgrades a plain connection (port 587), "tls" connects over TLS (port
    # 465), "none" only for a local test server.
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str = ""
    # The password lives in the secret store under this name, never in the environment.
    smtp_password_secret: str = "smtp-password"  # noqa: S105 - a secret's name
    smtp_timeout_s: float = Field(default=20.0, gt=0, le=120)

    # --- http -------------------------------------------------------------------------
    max_request_bytes: int = 1024 * 1024

    @field_validator("trusted_proxy_networks")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        """Fail at start-up on a malformed network, not on the first request."""
        import ipaddress

        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)
        return value

    # --- account mail -----------------------------------------------------------------
    # Where the web app is served (links in mail point to it); the local server's base
    # URL when empty.
    app_url: str = ""
    password_reset_ttl_s: int = Field(default=30 * 60, ge=60, le=24 * 3600)
    email_verification_ttl_s: int = Field(default=48 * 3600, ge=3600, le=14 * 24 * 3600)
    rate_reset_ip: str = "20/3600"
    rate_reset_account: str = "5/3600"
    rate_verify_resend: str = "5/3600"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
