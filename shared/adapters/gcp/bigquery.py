"""Warehouse on BigQuery (google-cloud-bigquery, imported on first use).

Loads are load jobs from Parquet (never streaming inserts) whose job id is derived from
the idempotency key: BigQuery refuses a second job with the same id (409), so a retried
or concurrent load with a used key finds the first job and reports `already_loaded`.
A job id whose job failed cannot be reused, so ids carry an attempt number: a key is
"used" only once a job under it has succeeded, and a failed attempt frees it.

`replace_where` is atomic in two deterministic jobs:
  1. a load job into a staging table (expiring after a day) — a bad file fails here,
     before anything in the target changed;
  2. one multi-statement transaction, `DELETE matching rows; INSERT the staged rows`,
     with its own deterministic job id, so it too runs at most once per key.
Readers see the old rows or the new rows, never a mix and never neither.

Queries take @named parameters only, always run with a job timeout, a client-side
deadline and a bounded retry (a 5xx must not become an endless retry), in the
configured location. The table is partitioned by month on `occurred_date` and clustered
by tenant and dataset (shared.schema).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared import errors, schema
from shared.adapters.gcp._errors import (
    retry_policy,
    translate,
    translated,
    wait_before_next,
)
from shared.adapters.gcp._lazy import LazyClient
from shared.ports import LoadResult, Warehouse, where_equal

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1000}$")
_TABLE_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_COLUMNS = {c.name: c for c in schema.BUSINESS_DATA}
_MAX_ATTEMPTS = 20  # distinct job ids tried per key after failed attempts


def _job_base(kind: str, table: str, key: str) -> str:
    digest = hashlib.sha256(f"{table}\0{key}".encode()).hexdigest()[:40]
    return f"tidemark_{kind}_{digest}"


def _where_sql(where: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The shared delete condition in BigQuery's spelling: backquoted columns of the
    canonical schema, @named parameters."""
    return where_equal(where, _COLUMNS, quote=lambda c: f"`{c}`",
                       placeholder=lambda n: f"@{n}")


class BigQueryWarehouse(Warehouse):
    def __init__(self, project: str | None = None, dataset: str = "tidemark",
                 location: str = "EU", *, client: Any = None,
                 load_timeout_s: float = 900.0, retry_deadline_s: float = 600.0,
                 backoff_initial_s: float = 1.0) -> None:
        """`client` (a bigquery.Client) is injectable for emulators and tests.
        `retry_deadline_s` bounds the retries of quota and transient errors of one
        load, inside the ingest task's deadline (terraform/locals.tf)."""
        if not _NAME.match(dataset or ""):
            raise errors.InvalidInput(f"invalid dataset name {dataset!r}")
        self.project = project
        self.dataset = dataset
        self.location = location
        self.load_timeout_s = load_timeout_s
        self.retry_deadline_s = retry_deadline_s
        self.backoff_initial_s = backoff_initial_s

        def build() -> Any:
            from google.cloud import bigquery

            from shared.adapters.gcp._emulators import bigquery_options

            return bigquery.Client(project=self.project, location=self.location,
                                   **bigquery_options())

        self._client = LazyClient(build, client)
        self._ensured: set[str] = set()

    @property
    def client(self) -> Any:
        return self._client.get()

    # ------------------------------------------------------------------ naming

    def _table_id(self, table: str) -> str:
        if not _NAME.match(table or ""):
            raise errors.InvalidInput(f"invalid table name {table!r}")
        return f"{self.client.project}.{self.dataset}.{table}"

    def _sql_table(self, table: str) -> str:
        return f"`{self._table_id(table)}`"

    def _resolve(self, sql: str) -> str:
        # Only identifiers matching _TABLE_TOKEN are substituted, as quoted table paths.
        return _TABLE_TOKEN.sub(lambda m: self._sql_table(m.group(1)), sql)

    # ------------------------------------------------------------------ tables

    def _schema(self) -> list[Any]:
        from google.cloud import bigquery

        return [bigquery.SchemaField(c.name, c.bq_type, mode=c.mode, description=c.description)
                for c in schema.BUSINESS_DATA]

    def _check_dataset(self) -> None:
        """The dataset is terraform's (terraform/bigquery.tf); the code only looks it up.

        Creating it, even with exists_ok, needs `bigquery.datasets.create` on the project
        and BigQuery checks that before it checks existence
        (https://cloud.google.com/bigquery/docs/datasets#required_permissions), which the
        function accounts do not hold. A missing dataset is a deployment fault that no
        retry mends, so it is reported as a non-retryable configuration error.
        `datasets.get` is in the dataset-level roles the functions hold
        (https://cloud.google.com/bigquery/docs/access-control#bigquery.dataViewer).
        """
        from google.api_core.exceptions import NotFound

        dataset_id = f"{self.client.project}.{self.dataset}"
        with translated(f"look up dataset {self.dataset}"):
            try:
                self.client.get_dataset(dataset_id)
            except NotFound as exc:
                raise errors.AppError(
                    f"warehouse dataset {dataset_id} does not exist: it is created by "
                    f"terraform (terraform/bigquery.tf), not by the functions",
                    code="warehouse_not_configured") from exc

    def ensure_table(self, table: str) -> None:
        from google.cloud import bigquery

        if table in self._ensured:
            return
        self._check_dataset()
        t = bigquery.Table(self._table_id(table), schema=self._schema())
        t.time_partitioning = bigquery.TimePartitioning(
            type_=schema.PARTITION_TYPE, field=schema.PARTITION_FIELD)
        t.clustering_fields = list(schema.CLUSTER_FIELDS)
        with translated(f"create table {table}"):
            self.client.create_table(t, exists_ok=True)
        self._ensured.add(table)

    def _staging_table(self, table: str, base: str, attempt: int) -> str:
        from google.cloud import bigquery

        name = f"_staging_{table}_{base[-16:]}_{attempt}"[:1000]
        t = bigquery.Table(self._table_id(name), schema=self._schema())
        t.expires = datetime.now(UTC) + timedelta(days=1)  # a crash leaves no litter
        with translated(f"create staging table for {table}"):
            self.client.create_table(t, exists_ok=True)
        return name

    # ------------------------------------------------------------------ jobs

    def _retry(self) -> Any:
        return retry_policy(self.backoff_initial_s, self.retry_deadline_s)

    def _again(self, failure: BaseException, started: float, attempt: int) -> bool:
        return wait_before_next(failure, started, attempt, self.backoff_initial_s,
                                self.retry_deadline_s)

    def _job(self, job_id: str, make) -> tuple[Any, bool]:
        """(job, created): start the job, or find the one that already has this id. A
        quota or transient refusal of the insert is retried with backoff: the job did
        not start, or a repeat finds it by its id (409)."""
        from google.api_core.exceptions import Conflict

        try:
            with translated(f"start job {job_id}"):
                return self._retry()(make)(job_id), True
        except errors.Conflict as exc:
            if not isinstance(exc.__cause__, Conflict):
                raise
        with translated(f"look up job {job_id}"):
            return self.client.get_job(job_id, location=self.location), False

    def _existing(self, job_id: str) -> Any | None:
        from google.api_core.exceptions import NotFound

        try:
            return self.client.get_job(job_id, location=self.location)
        except NotFound:
            return None
        except Exception as exc:
            raise translate(exc, f"look up job {job_id}") from exc

    def _wait(self, job: Any, timeout_s: float) -> BaseException | None:
        """Wait for the job; None when it succeeded, else the error it failed with."""
        from google.api_core.exceptions import GoogleAPICallError

        try:
            job.result(timeout=timeout_s)
        except GoogleAPICallError as exc:
            return exc
        except TimeoutError as exc:
            raise errors.Unavailable(f"job {job.job_id} did not finish in time") from exc
        return None

    def _load_job(self, job_id: str, table: str, path: str | tuple[str, ...], *,
                  truncate: bool) -> Any:
        """A load job from a local file (its bytes sent through this instance) or, given
        a tuple of `gs://` URIs, read by BigQuery from Cloud Storage itself."""
        from google.cloud import bigquery

        cfg = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=(bigquery.WriteDisposition.WRITE_TRUNCATE if truncate
                               else bigquery.WriteDisposition.WRITE_APPEND),
            create_disposition=bigquery.CreateDisposition.CREATE_NEVER)
        cfg.parquet_options = bigquery.ParquetOptions()
        cfg.parquet_options.enable_list_inference = True
        if isinstance(path, tuple):
            # https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-parquet:
            # one job takes a list of URIs, each at most one `*` wildcard; the job limits
            # (https://cloud.google.com/bigquery/quotas#load_jobs) allow 10,000 URIs and
            # 15 TB per job, far above one upload's shards.
            return self.client.load_table_from_uri(
                list(path), self._table_id(table), job_id=job_id, location=self.location,
                job_config=cfg, timeout=self.load_timeout_s)
        with open(path, "rb") as fh:
            return self.client.load_table_from_file(
                fh, self._table_id(table), job_id=job_id, location=self.location,
                job_config=cfg, rewind=True, timeout=self.load_timeout_s)

    def _script_job(self, job_id: str, sql: str, params: Mapping[str, Any]) -> Any:
        from google.cloud import bigquery

        cfg = bigquery.QueryJobConfig(query_parameters=_params(params),
                                      job_timeout_ms=int(self.load_timeout_s * 1000))
        # job_retry=None: a failed job id cannot be rerun; _MAX_ATTEMPTS moves to a new id.
        return self.client.query(sql, job_config=cfg, job_id=job_id, location=self.location,
                                 timeout=self.load_timeout_s, job_retry=None)

    # ------------------------------------------------------------------ loads

    def load_parquet(self, table: str, path: str, *, idempotency_key: str,
                     replace_where: Mapping[str, Any] | None = None) -> LoadResult:
        _check_parquet(path)
        return self._load(table, path, idempotency_key, replace_where)

    def load_staged(self, table: str, uris: Sequence[str], *, idempotency_key: str,
                    replace_where: Mapping[str, Any] | None = None) -> LoadResult:
        return self._load(table, _check_uris(uris), idempotency_key, replace_where)

    def _load(self, table: str, path: str | tuple[str, ...], idempotency_key: str,
              replace_where: Mapping[str, Any] | None) -> LoadResult:
        self.ensure_table(table)
        if replace_where:
            return self._load_replacing(table, path, idempotency_key, replace_where)
        import time

        base = _job_base("load", table, idempotency_key)
        started = time.monotonic()
        for attempt in range(_MAX_ATTEMPTS):
            job, created = self._job(
                f"{base}_{attempt}",
                lambda jid: self._load_job(jid, table, path, truncate=False))
            failure = self._wait(job, self.load_timeout_s)
            if failure is None:
                return LoadResult(rows_loaded=int(job.output_rows or 0),
                                  already_loaded=not created)
            if created and not self._again(failure, started, attempt):
                raise translate(failure, f"load into {table}") from failure
            # an earlier attempt under this key failed: the key is free, try the next id
        raise errors.Unavailable(f"load into {table}: too many failed attempts")

    def _load_replacing(self, table: str, path: str | tuple[str, ...], key: str,
                        where: Mapping[str, Any]) -> LoadResult:
        import time

        cond, params = _where_sql(where)
        base = _job_base("swap", table, key)
        started = time.monotonic()
        for attempt in range(_MAX_ATTEMPTS):
            load_id, swap_id = f"{base}_load_{attempt}", f"{base}_{attempt}"
            done = self._existing(swap_id)
            if done is not None and self._wait(done, self.load_timeout_s) is None:
                loaded = self._existing(load_id)
                rows = int(loaded.output_rows or 0) if loaded is not None else 0
                return LoadResult(rows_loaded=rows, already_loaded=True)
            if done is not None:
                continue  # that attempt's swap failed: nothing changed, try the next id
            staging = self._staging_table(table, base, attempt)
            load, created = self._job(
                load_id, lambda jid, s=staging: self._load_job(jid, s, path, truncate=True))
            failure = self._wait(load, self.load_timeout_s)
            if failure is not None:
                if created:
                    self._drop(staging)
                    if not self._again(failure, started, attempt):
                        raise translate(failure, f"load into {table}") from failure
                continue
            names = [c.name for c in schema.BUSINESS_DATA]
            col_list = ", ".join(f"`{n}`" for n in names)
            # Identifiers are validated table/column names; values are @parameters.
            sql = (f"BEGIN TRANSACTION;\n"  # noqa: S608
                   f"DELETE FROM {self._sql_table(table)} WHERE {cond};\n"
                   f"INSERT INTO {self._sql_table(table)} ({col_list})\n"
                   f"  SELECT {col_list} FROM {self._sql_table(staging)};\n"
                   f"COMMIT TRANSACTION;")
            swap, created = self._job(swap_id, lambda jid, q=sql: self._script_job(jid, q, params))
            failure = self._wait(swap, self.load_timeout_s)
            if failure is not None and created:
                # A cancelled or refused transaction changed nothing: the next id may run.
                self._drop(staging)
                if not self._again(failure, started, attempt):
                    raise translate(failure, f"replace rows in {table}") from failure
                continue
            if failure is None:
                self._drop(staging)
                return LoadResult(rows_loaded=int(load.output_rows or 0),
                                  already_loaded=not created)
        raise errors.Unavailable(f"load into {table}: too many failed attempts")

    def _drop(self, table: str) -> None:
        try:
            self.client.delete_table(self._table_id(table), not_found_ok=True)
        except Exception as exc:  # it expires on its own; never fail a load over it
            translate(exc, f"drop staging table {table}")

    def delete_where(self, table: str, where: Mapping[str, Any], *,
                     idempotency_key: str) -> int:
        cond, params = _where_sql(where)
        self.ensure_table(table)
        sql = f"DELETE FROM {self._sql_table(table)} WHERE {cond}"  # noqa: S608
        base = _job_base("delete", table, idempotency_key)
        for attempt in range(_MAX_ATTEMPTS):
            job, created = self._job(f"{base}_{attempt}",
                                     lambda jid: self._script_job(jid, sql, params))
            failure = self._wait(job, self.load_timeout_s)
            if failure is None:
                # A re-delivered delete reports what the first one deleted, and
                # deletes nothing that was loaded since.
                return int(job.num_dml_affected_rows or 0)
            if created:
                raise translate(failure, f"delete rows of {table}") from failure
        raise errors.Unavailable(f"delete rows of {table}: too many failed attempts")

    # ------------------------------------------------------------------ queries

    def query(self, sql: str, params: Mapping[str, Any] | None = None, *,
              timeout_s: float = 45.0) -> list[dict[str, Any]]:
        from google.cloud import bigquery
        from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY

        cfg = bigquery.QueryJobConfig(query_parameters=_params(params or {}),
                                      job_timeout_ms=max(1000, int(timeout_s * 1000)),
                                      use_legacy_sql=False)
        retry = DEFAULT_RETRY.with_timeout(timeout_s)
        job_retry = DEFAULT_JOB_RETRY.with_timeout(timeout_s)
        with translated("warehouse query"):
            job = self.client.query(self._resolve(sql), job_config=cfg, location=self.location,
                                    timeout=timeout_s, retry=retry, job_retry=job_retry)
            rows = job.result(timeout=timeout_s, retry=retry)
            return [dict(row.items()) for row in rows]


# ------------------------------------------------------------------ parameters


def _scalar_type(value: Any) -> str:
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


def _params(params: Mapping[str, Any]) -> list[Any]:
    from google.cloud import bigquery

    out: list[bigquery.ScalarQueryParameter | bigquery.ArrayQueryParameter] = []
    for name, value in params.items():
        if not _NAME.match(name or "") or len(name) > 128:
            raise errors.InvalidInput(f"invalid parameter name {name!r}")
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)
            kinds = {_scalar_type(v) for v in items if v is not None} or {"STRING"}
            if len(kinds) > 1:
                raise errors.InvalidInput(f"parameter {name!r} mixes types")
            out.append(bigquery.ArrayQueryParameter(name, kinds.pop(),
                                                    [_scalar(v) for v in items]))
        else:
            out.append(bigquery.ScalarQueryParameter(name, _scalar_type(value), _scalar(value)))
    return out


def _check_parquet(path: str) -> None:
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


# https://cloud.google.com/bigquery/quotas#load_jobs: at most 10,000 source URIs per job.
_MAX_URIS = 10_000
_URI = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]/[^*\r\n]+$")


def _check_uris(uris: Sequence[str]) -> tuple[str, ...]:
    """Exact `gs://bucket/object` URIs, no wildcard: a wildcard would also pick up a
    stray object under the prefix (a crashed attempt's shard), which the load must not."""
    listed = tuple(uris)
    if not listed:
        raise errors.InvalidInput("no staged files to load", code="no_staged_files")
    if len(listed) > _MAX_URIS:
        raise errors.InvalidInput(f"a load job takes at most {_MAX_URIS} source URIs",
                                  code="too_many_uris", details={"uris": len(listed)})
    bad = [u for u in listed if not _URI.match(u)]
    if bad:
        raise errors.InvalidInput(f"not a staged object URI: {bad[0]!r}", code="bad_uri")
    return listed
