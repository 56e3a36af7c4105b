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
configured location.

Each tenant's rows live in a table of their own, `business_data_<tenant key>`
(shared.schema.tenant_table; the quota model in docs/gcp.md says why): same schema,
partitioned by month on `occurred_date`, clustered by dataset and date, created on the
tenant's first load. A load names its tenant through the `tenant_id` of its rows, a
delete through its condition, a query through its @tenant_id parameter, which every
query of the canonical table carries (its `tenant_id = @tenant_id` predicate stays, as
defence in depth). A tenant with no table yet reads the empty `business_data` template.
Replace transactions then only meet the same tenant's writes: BigQuery cancels a
transaction that mutates a table another transaction is mutating
(https://cloud.google.com/bigquery/docs/transactions#transaction_concurrency), so such a
cancellation is retried under the next attempt id.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shared import errors, schema
from shared.adapters.gcp._errors import (
    retry_policy,
    translate,
    translated,
    wait_before_next,
)
from shared.adapters.gcp._lazy import LazyClient
from shared.adapters.gcp.bigquery_inputs import check_parquet, parquet_tenant, query_params
from shared.ports import LoadResult, Warehouse, where_equal

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1000}$")
_TABLE_TOKEN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_COLUMNS = {c.name: c for c in schema.BUSINESS_DATA}
_MAX_ATTEMPTS = 20  # distinct job ids tried per key after failed attempts
# How BigQuery words the cancellation of a transaction that met another one mutating the
# same table ("Transaction is aborted due to concurrent update against table ...").
_CONCURRENT_UPDATE = re.compile(r"concurrent update", re.IGNORECASE)
_TENANT_PREDICATE = re.compile(r"`?\btenant_id`?\s*=\s*@([A-Za-z_][A-Za-z0-9_]*)")


def _job_base(kind: str, table: str, key: str) -> str:
    digest = hashlib.sha256(f"{table}\0{key}".encode()).hexdigest()[:40]
    return f"tidemark_{kind}_{digest}"


def _where_sql(where: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The shared delete condition in BigQuery's spelling: backquoted columns of the
    canonical schema, @named parameters."""
    return where_equal(where, _COLUMNS, quote=lambda c: f"`{c}`",
                       placeholder=lambda n: f"@{n}")


def _query_tenant(sql: str, params: Mapping[str, Any]) -> Any:
    """The one tenant a query's `tenant_id = @name` predicates name (None if none)."""
    values = {params.get(name) for name in _TENANT_PREDICATE.findall(sql)}
    if len(values) > 1:
        raise errors.InvalidInput("a query reads the rows of one tenant",
                                  code="tenant_mismatch")
    return values.pop() if values else None


class BigQueryWarehouse(Warehouse):
    def __init__(self, project: str | None = None, dataset: str = "tidemark",
                 location: str = "EU", *, client: Any = None,
                 load_timeout_s: float = 900.0, retry_deadline_s: float = 600.0,
                 backoff_initial_s: float = 1.0,
                 tenant_tables: Iterable[str] = (schema.TABLE,)) -> None:
        """`client` (a bigquery.Client) is injectable for emulators and tests.
        `retry_deadline_s` bounds the retries of quota and transient errors of one
        load, inside the ingest task's deadline (terraform/locals.tf). The tables named
        in `tenant_tables` are split into one physical table per tenant."""
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
        self._exists_cache: set[str] = set()  # tables seen to exist (never un-seen)
        self.tenant_tables = frozenset(tenant_tables)

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

    def physical_table(self, table: str, tenant_id: Any) -> str:
        """The table that holds `tenant_id`'s rows of `table`."""
        if table not in self.tenant_tables:
            return table
        if not isinstance(tenant_id, str) or not tenant_id:
            raise errors.InvalidInput(f"the rows of {table} belong to a tenant: the "
                                      f"request must name its tenant_id",
                                      code="tenant_required")
        return schema.tenant_table(table, tenant_id)

    def _resolve(self, sql: str, params: Mapping[str, Any] | None = None) -> str:
        """Substitute each `{table}` token (only identifiers matching _TABLE_TOKEN) by
        its quoted path; a per-tenant table by the table of the @tenant_id parameter,
        or the empty template while that tenant has loaded nothing. The tenant is the
        value of the query's own `tenant_id = @name` predicate, which thus stays in the
        query and scopes it even inside the tenant's table."""
        def path(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self.tenant_tables:
                return self._sql_table(name)
            physical = self.physical_table(name, _query_tenant(sql, params or {}))
            return self._sql_table(physical if self._exists(physical) else name)
        return _TABLE_TOKEN.sub(path, sql)

    def _exists(self, table: str) -> bool:
        from google.api_core.exceptions import NotFound

        if table in self._exists_cache:
            return True
        with translated(f"look up table {table}"):
            try:
                self.client.get_table(self._table_id(table))
            except NotFound:
                return False
        self._exists_cache.add(table)
        return True

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
        if table in self._ensured:
            return
        self._check_dataset()
        self._create(table, schema.CLUSTER_FIELDS)

    def _create(self, table: str, clustering: Iterable[str]) -> None:
        from google.cloud import bigquery

        t = bigquery.Table(self._table_id(table), schema=self._schema())
        t.time_partitioning = bigquery.TimePartitioning(
            type_=schema.PARTITION_TYPE, field=schema.PARTITION_FIELD)
        t.clustering_fields = list(clustering)
        with translated(f"create table {table}"):
            self.client.create_table(t, exists_ok=True)
        self._ensured.add(table)
        self._exists_cache.add(table)

    def _target(self, table: str, path: str | tuple[str, ...],
                where: Mapping[str, Any] | None, tenant_id: str | None) -> str | None:
        """The physical table a load writes: the tenant's own (created on its first
        load) for a per-tenant table; None for an empty file that names no tenant.
        Staged shards are read by BigQuery, not here: their load names the tenant."""
        if table not in self.tenant_tables:
            return table
        if isinstance(path, tuple):
            if tenant_id is None and not (where or {}).get("tenant_id"):
                raise errors.InvalidInput("a load of staged shards must name its tenant",
                                          code="tenant_required")
            tenant = tenant_id
        else:
            tenant = parquet_tenant(path)
        named = (where or {}).get("tenant_id")
        if tenant is not None and named is not None and named != tenant:
            raise errors.InvalidInput("the rows belong to another tenant than the one "
                                      "whose rows they replace", code="tenant_mismatch")
        tenant = tenant if tenant is not None else named
        if tenant is None:
            return None
        target = self.physical_table(table, tenant)
        if target not in self._ensured:
            self._create(target, schema.TENANT_CLUSTER_FIELDS)
        return target

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

        cfg = bigquery.QueryJobConfig(query_parameters=query_params(params),
                                      job_timeout_ms=int(self.load_timeout_s * 1000))
        # job_retry=None: a failed job id cannot be rerun; _MAX_ATTEMPTS moves to a new id.
        return self.client.query(sql, job_config=cfg, job_id=job_id, location=self.location,
                                 timeout=self.load_timeout_s, job_retry=None)

    # ------------------------------------------------------------------ loads

    def load_parquet(self, table: str, path: str, *, idempotency_key: str,
                     replace_where: Mapping[str, Any] | None = None) -> LoadResult:
        check_parquet(path)
        return self._load(table, path, idempotency_key, replace_where, tenant_id=None)

    def load_staged(self, table: str, uris: Sequence[str], *, idempotency_key: str,
                    replace_where: Mapping[str, Any] | None = None,
                    tenant_id: str | None = None) -> LoadResult:
        return self._load(table, _check_uris(uris), idempotency_key, replace_where,
                          tenant_id=tenant_id)

    def _load(self, table: str, path: str | tuple[str, ...], idempotency_key: str,
              replace_where: Mapping[str, Any] | None, *,
              tenant_id: str | None) -> LoadResult:
        self.ensure_table(table)
        target = self._target(table, path, replace_where, tenant_id)
        if target is None:  # no rows and no tenant: nothing to load or replace
            return LoadResult(rows_loaded=0, already_loaded=False)
        # Job ids stay derived from the logical table and the key (upload ids are unique
        # across tenants), so a job is found again whatever the layout it ran under.
        logical, table = table, target
        if replace_where:
            return self._load_replacing(table, path, idempotency_key, replace_where,
                                        logical=logical)
        base = _job_base("load", logical, idempotency_key)
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

    def swap_sql(self, table: str, staging: str, cond: str) -> str:
        """The replace transaction: the matching rows of `table` go, the staged rows come,
        in one commit. It mutates `table` only (the staging table is read)."""
        col_list = ", ".join(f"`{c.name}`" for c in schema.BUSINESS_DATA)
        # Identifiers are validated table/column names; values are @parameters.
        return (f"BEGIN TRANSACTION;\n"  # noqa: S608
                f"DELETE FROM {self._sql_table(table)} WHERE {cond};\n"
                f"INSERT INTO {self._sql_table(table)} ({col_list})\n"
                f"  SELECT {col_list} FROM {self._sql_table(staging)};\n"
                f"COMMIT TRANSACTION;")

    def _retry_swap(self, failure: BaseException, started: float, attempt: int) -> bool:
        """After a failed swap: True (having waited) when another attempt may pass — a
        quota or transient error, or a cancellation by a concurrent transaction on the
        same table, which only another write of the same tenant can cause."""
        if not _CONCURRENT_UPDATE.search(str(failure)):
            return self._again(failure, started, attempt)
        wait = min(32.0, self.backoff_initial_s * 2 ** attempt)
        if time.monotonic() + wait - started > self.retry_deadline_s:
            return False
        time.sleep(wait)
        return True

    def _load_replacing(self, table: str, path: str | tuple[str, ...], key: str,
                        where: Mapping[str, Any], *, logical: str) -> LoadResult:
        cond, params = _where_sql(where)
        base = _job_base("swap", logical, key)
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
            sql = self.swap_sql(table, staging, cond)
            swap, created = self._job(swap_id, lambda jid, q=sql: self._script_job(jid, q, params))
            failure = self._wait(swap, self.load_timeout_s)
            if failure is not None and created:
                # A cancelled or refused transaction changed nothing: the next id may run.
                self._drop(staging)
                if not self._retry_swap(failure, started, attempt):
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
        logical = table
        if table in self.tenant_tables:
            logical, table = table, self.physical_table(table, where.get("tenant_id"))
            if not self._exists(table):
                return 0  # the tenant never loaded a row
        sql = f"DELETE FROM {self._sql_table(table)} WHERE {cond}"  # noqa: S608
        base = _job_base("delete", logical, idempotency_key)
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

        cfg = bigquery.QueryJobConfig(query_parameters=query_params(params or {}),
                                      job_timeout_ms=max(1000, int(timeout_s * 1000)),
                                      use_legacy_sql=False)
        retry = DEFAULT_RETRY.with_timeout(timeout_s)
        job_retry = DEFAULT_JOB_RETRY.with_timeout(timeout_s)
        with translated("warehouse query"):
            job = self.client.query(self._resolve(sql, params), job_config=cfg,
                                    location=self.location, timeout=timeout_s, retry=retry,
                                    job_retry=job_retry)
            rows = job.result(timeout=timeout_s, retry=retry)
            return [dict(row.items()) for row in rows]


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
