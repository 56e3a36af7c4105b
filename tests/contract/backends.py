"""Factories for the two implementations of each port the contract suites run against.

`local_*` build the embedded adapters on the test's tmp_path. `gcp_*` build the GCP
adapters against their emulators; each skips (fails under CI=true) with the reason when
the adapter module cannot be imported or its emulator is not reachable. Every factory
takes the pytest `request` and registers its own cleanup.
"""

from __future__ import annotations

import importlib
import os
import socket
from typing import Any

from tests.conftest import emulator_missing

# The bucket the blob suite writes to; the gcp factory must make sure it exists.
BLOB_BUCKET = "tidemark-contract"

# ---------------------------------------------------------------------------- helpers


def _import(module: str, name: str) -> Any:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        emulator_missing(f"{module}.{name} adapter not available ({exc})")


def _emulator(env_var: str, what: str) -> str:
    """host:port from env_var, if something listens there; otherwise skip."""
    host = os.environ.get(env_var, "").removeprefix("http://").removeprefix("https://")
    if not host:
        emulator_missing(f"{what} emulator not configured ({env_var} is unset)")
    hostname, _, port = host.rstrip("/").rpartition(":")
    try:
        with socket.create_connection((hostname or "127.0.0.1", int(port)), timeout=1):
            pass
    except (OSError, ValueError):
        emulator_missing(f"{what} emulator not running at {host}")
    return host


def _tmp(request):
    return request.getfixturevalue("tmp_path")


# ---------------------------------------------------------------------------- local


def local_blobstore(request):
    from shared.adapters.local.blobs import FileBlobStore

    return FileBlobStore(_tmp(request) / "blobs", base_url="http://127.0.0.1:8080",
                         signing_key=b"k" * 32, on_finalized=lambda event: None)


def local_warehouse(request):
    from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse

    wh = DuckDbWarehouse(_tmp(request) / "warehouse.duckdb")
    request.addfinalizer(wh.close)
    return wh


def local_documentstore(request):
    from shared.adapters.local.sqlite_docs import SqliteDocumentStore

    store = SqliteDocumentStore(_tmp(request) / "documents.sqlite")
    request.addfinalizer(store.close)
    return store


def local_taskqueue(request):
    from shared.adapters.local.task_queue import SqliteTaskQueue

    return SqliteTaskQueue(_tmp(request) / "tasks.sqlite", base_url="http://127.0.0.1:9",
                           secret="s" * 32, max_attempts=3, backoff_base_s=0.01,
                           backoff_max_s=0.1)


def local_secretstore(request):
    from shared.adapters.local.secrets import FileSecretStore

    return FileSecretStore(_tmp(request) / "secrets")


# ---------------------------------------------------------------------------- gcp


def gcp_blobstore(request):
    cls = _import("shared.adapters.gcp.gcs", "GcsBlobStore")
    _emulator("STORAGE_EMULATOR_HOST", "Cloud Storage (fake-gcs-server)")
    return cls(project=os.environ.get("TIDEMARK_GCP_PROJECT", "tidemark-test"))


def gcp_warehouse(request):
    cls = _import("shared.adapters.gcp.bigquery", "BigQueryWarehouse")
    _emulator("BIGQUERY_EMULATOR_HOST", "BigQuery")
    return cls(project=os.environ.get("TIDEMARK_GCP_PROJECT", "tidemark-test"),
               dataset="tidemark", location="EU")


def gcp_documentstore(request):
    cls = _import("shared.adapters.gcp.firestore", "FirestoreDocumentStore")
    _emulator("FIRESTORE_EMULATOR_HOST", "Firestore")
    return cls(project=os.environ.get("TIDEMARK_GCP_PROJECT", "tidemark-test"),
               database="(default)")


def gcp_taskqueue(request):
    cls = _import("shared.adapters.gcp.cloud_tasks", "CloudTasksQueue")
    _emulator("CLOUD_TASKS_EMULATOR_HOST", "Cloud Tasks")
    return cls(project=os.environ.get("TIDEMARK_GCP_PROJECT", "tidemark-test"),
               location="europe-west1", queues={"metrics": "metrics", "forecast": "forecast"},
               target_urls={"metrics": "http://127.0.0.1:9/tasks/metrics",
                            "forecast": "http://127.0.0.1:9/tasks/forecast"},
               service_account="tasks@tidemark-test.iam.gserviceaccount.com")


def gcp_secretstore(request):
    # Secret Manager has no emulator: the adapter is tested against a fake of the
    # client interface, supplied here by the gcp adapter's author.
    _import("shared.adapters.gcp.secret_manager", "SecretManagerStore")
    emulator_missing("Secret Manager has no emulator; fake client not wired in yet")


LOCAL = {"blobstore": local_blobstore, "warehouse": local_warehouse,
         "documentstore": local_documentstore, "taskqueue": local_taskqueue,
         "secretstore": local_secretstore}
GCP = {"blobstore": gcp_blobstore, "warehouse": gcp_warehouse,
       "documentstore": gcp_documentstore, "taskqueue": gcp_taskqueue,
       "secretstore": gcp_secretstore}


def make(port: str, request) -> Any:
    """The implementation of `port` named by the fixture's param ("local" or "gcp")."""
    return (LOCAL if request.param == "local" else GCP)[port](request)
