"""The composition root: the one place that reads settings and picks adapters.

Nothing is built at import. `get_deps()` builds a `Deps` once per instance, and each
adapter inside it is built on first use, so a function that never touches the
warehouse never imports DuckDB or BigQuery.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shared.settings import Settings, get_settings

if TYPE_CHECKING:
    from shared.ports import (
        BlobStore,
        DocumentStore,
        Mailer,
        SecretStore,
        TaskQueue,
        Warehouse,
    )


class Deps:
    """The ports a service may use, built lazily. Pass overrides to swap in fakes."""

    def __init__(self, settings: Settings, **overrides: Any) -> None:
        self.settings = settings
        for name, value in overrides.items():
            if name not in {"blobs", "warehouse", "docs", "tasks", "secrets",
                            "mailer"}:
                raise TypeError(f"unknown dependency {name!r}")
            self.__dict__[name] = value  # pre-fills the cached_property
        self._lock = threading.RLock()

    @property
    def local(self) -> bool:
        return self.settings.backend == "local"

    @cached_property
    def blobs(self) -> BlobStore:
        with self._lock:
            if self.local:
                from shared.adapters.local.blobs import FileBlobStore
                from shared.adapters.local.events import delivery_for

                return FileBlobStore(self.settings.data_dir / "blobs",
                                     base_url=self.settings.base_url,
                                     signing_key=self.secrets.get("blob-signing-key"),
                                     on_finalized=delivery_for(self),
                                     routes=self.blob_routes,
                                     event_buckets={self.settings.uploads_bucket})
            from shared.adapters.gcp.gcs import GcsBlobStore

            return GcsBlobStore(project=self.settings.gcp_project or None,
                                signing_service_account=self.settings.signing_service_account
                                or None, routes=self.blob_routes)

    @property
    def blob_routes(self) -> dict[str, str]:
        """Object-name prefix -> the bucket holding such objects: quarantined rows go to
        their own bucket, never the uploads bucket, whose every object triggers the
        ingest (see GcsBlobStore)."""
        return {"rejected/": self.settings.rejected_bucket,
                "staging/": self.settings.staging_bucket}

    @cached_property
    def warehouse(self) -> Warehouse:
        with self._lock:
            if self.local:
                from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse

                return DuckDbWarehouse(self.settings.data_dir / "warehouse.duckdb",
                                       load_memory=self.settings.duckdb_load_memory,
                                       segment_rows=self.settings.duckdb_segment_rows,
                                       blob_root=self.settings.data_dir / "blobs")
            from shared.adapters.gcp.bigquery import BigQueryWarehouse

            return BigQueryWarehouse(project=self.settings.gcp_project or None,
                                     dataset=self.settings.warehouse_dataset,
                                     location=self.settings.bq_location,
                                     load_timeout_s=self.settings.warehouse_load_timeout_s,
                                     tenant_tables=(self.settings.warehouse_table,))

    @cached_property
    def docs(self) -> DocumentStore:
        with self._lock:
            if self.local:
                from shared.adapters.local.sqlite_docs import SqliteDocumentStore

                return SqliteDocumentStore(self.settings.data_dir / "documents.sqlite")
            from shared.adapters.gcp.firestore import FirestoreDocumentStore

            return FirestoreDocumentStore(project=self.settings.gcp_project or None,
                                          database=self.settings.firestore_database)

    @cached_property
    def tasks(self) -> TaskQueue:
        with self._lock:
            if self.local:
                from shared.adapters.local.task_queue import SqliteTaskQueue

                return SqliteTaskQueue(self.settings.data_dir / "tasks.sqlite",
                                       base_url=self.settings.base_url,
                                       secret=self.secrets.get("task-secret").decode(),
                                       max_attempts=self.settings.task_max_attempts,
                                       backoff_base_s=self.settings.task_backoff_base_s,
                                       backoff_max_s=self.settings.task_backoff_max_s)
            from shared.adapters.gcp.cloud_tasks import CloudTasksQueue

            s = self.settings
            return CloudTasksQueue(
                project=s.gcp_project, location=s.tasks_location or s.gcp_region,
                queues={"metrics": s.tasks_queue_metrics, "forecast": s.tasks_queue_forecast,
                        "ingest": s.tasks_queue_ingest},
                target_urls={"metrics": s.metrics_task_url, "forecast": s.forecast_task_url,
                             "ingest": s.ingest_task_url},
                service_account=s.tasks_service_account,
                dispatch_deadline_s=s.task_dispatch_timeout_s,
                dispatch_deadlines={"ingest": s.ingest_task_dispatch_timeout_s})

    @cached_property
    def secrets(self) -> SecretStore:
        with self._lock:
            if self.local:
                from shared.adapters.local.secrets import FileSecretStore

                return FileSecretStore(self.settings.data_dir / "secrets")
            from shared.adapters.gcp.secret_manager import SecretManagerStore

            return SecretManagerStore(project=self.settings.gcp_project,
                                      prefix=self.settings.secret_prefix)

    @cached_property
    def mailer(self) -> Mailer:
        """The folder mailer locally unless SMTP is asked for; SMTP on GCP, its password
        read from the secret store when the first message needs it."""
        with self._lock:
            s = self.settings
            backend = s.mail_backend or ("folder" if self.local else "smtp")
            if backend == "folder":
                from shared.adapters.local.mail import FolderMailer

                return FolderMailer(s.data_dir / "mail", sender=s.mail_from)
            from shared.adapters.smtp import SmtpMailer

            def password() -> str:
                return self.secrets.get(s.smtp_password_secret).decode()

            return SmtpMailer(s.smtp_host, s.smtp_port, s.mail_from,
                              security=s.smtp_security, username=s.smtp_username,
                              password=password if s.smtp_username else None,
                              timeout_s=s.smtp_timeout_s)

    def close(self) -> None:
        """Release the embedded stores' files, of the adapters this Deps holds (built or
        passed in); the cloud clients hold nothing that needs it."""
        for name in ("warehouse", "docs"):
            store = self.__dict__.get(name)  # a cached_property not yet built is absent
            if store is not None and hasattr(store, "close"):
                store.close()


_deps: Deps | None = None
_deps_lock = threading.Lock()


def get_deps() -> Deps:
    global _deps
    if _deps is None:
        with _deps_lock:
            if _deps is None:
                _deps = Deps(get_settings())
    return _deps


def set_deps(deps: Deps | None) -> None:
    """Install a Deps for this process (tests, the local server); None resets."""
    global _deps
    _deps = deps


@contextmanager
def override(deps: Deps):
    previous = _deps
    set_deps(deps)
    try:
        yield deps
    finally:
        set_deps(previous)
