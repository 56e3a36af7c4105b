"""What IAM checks for each Google API method the code calls, and which resource it
checks it on.

`METHODS` is the project's table: one entry per REST method (named as in Google's
discovery documents, `<api>.<resource>.<verb>`; gRPC-only services use the REST name of
the same RPC), with the permissions IAM checks, the scope they are checked at, and the
Google page that says so. It was seeded from tests/data/gcp-iam/methods.json; where an
entry differs from that file, `seed_differs` says why (tests/infra/test_gcp_permission_
table.py holds the two together). `needs(call)` turns one recorded call
(tests/infra/gcp_recording.py) into the permissions it needs, on which resource; a few
methods need more than their table entry, depending on the request (a load job needs
write access to its destination table, a query read access to each table it names).

To add a method: add its entry (permissions, scope, documentation URL) and, when a new
URL shape or RPC name appears, its case in `_rest_method` or `_GRPC`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlparse


@dataclass(frozen=True)
class Resource:
    kind: str   # project | bucket | dataset | queue | secret | service_account | service
    name: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == "project" else f"{self.kind} {self.name}"


PROJECT = Resource("project")


@dataclass(frozen=True)
class Need:
    """One permission check: any one of `anyof` on `resource` passes it."""
    method: str
    anyof: tuple[str, ...]
    resource: Resource


@dataclass(frozen=True)
class Entry:
    permissions: tuple[str, ...]   # all are checked; "a|b" means either one
    scope: str                     # the resource kind the check is made on
    doc: str
    seed_differs: str = ""


_BQ_PERMS = "https://cloud.google.com/bigquery/docs/access-control#bigquery-permissions"
_GCS_PERMS = "https://cloud.google.com/storage/docs/json_api/v1/objects"
_FS = "https://cloud.google.com/firestore/docs/security/iam#required_permissions_for_api_methods"

METHODS: dict[str, Entry] = {
    # --- Cloud Storage: object methods check on the bucket (uniform bucket-level access).
    "storage.objects.get": Entry(
        ("storage.objects.get",), "bucket",
        "https://cloud.google.com/storage/docs/json_api/v1/objects/get",
        "getIamPolicy only with projection=full on fine-grained ACL buckets"),
    "storage.objects.list": Entry(
        ("storage.objects.list",), "bucket",
        "https://cloud.google.com/storage/docs/json_api/v1/objects/list",
        "getIamPolicy only with projection=full on fine-grained ACL buckets"),
    "storage.objects.insert": Entry(
        ("storage.objects.create",), "bucket",
        "https://cloud.google.com/storage/docs/json_api/v1/objects/insert",
        "delete only when an object of that name is overwritten; our names are unique"),
    "storage.objects.delete": Entry(
        ("storage.objects.delete",), "bucket",
        "https://cloud.google.com/storage/docs/json_api/v1/objects/delete"),
    "storage.objects.patch": Entry(
        ("storage.objects.update",), "bucket",
        "https://cloud.google.com/storage/docs/json_api/v1/objects/patch",
        "get/getIamPolicy/setIamPolicy only for ACL changes, which we never make"),
    "storage.objects.rewrite": Entry(
        ("storage.objects.get", "storage.objects.create"), "bucket",
        "https://cloud.google.com/storage/docs/json_api/v1/objects/rewrite",
        "delete only when the destination exists"),
    "storage.buckets.get": Entry(
        ("storage.buckets.get",), "bucket",
        "https://cloud.google.com/storage/docs/json_api/v1/buckets/get",
        "getIamPolicy only with projection=full"),
    # --- BigQuery
    "bigquery.datasets.get": Entry(
        ("bigquery.datasets.get",), "dataset",
        "https://cloud.google.com/bigquery/docs/datasets#required_permissions"),
    "bigquery.datasets.insert": Entry(
        ("bigquery.datasets.create",), "project",
        "https://cloud.google.com/bigquery/docs/datasets#required_permissions"),
    "bigquery.tables.get": Entry(("bigquery.tables.get",), "dataset", _BQ_PERMS),
    "bigquery.tables.insert": Entry(
        ("bigquery.tables.create",), "dataset",
        "https://cloud.google.com/bigquery/docs/tables#required_permissions"),
    "bigquery.tables.delete": Entry(
        ("bigquery.tables.delete",), "dataset",
        "https://cloud.google.com/bigquery/docs/managing-tables#required_permissions_6"),
    "bigquery.tabledata.list": Entry(("bigquery.tables.getData",), "dataset", _BQ_PERMS,
                                     "the seed lists none"),
    # The tables a job reads or writes are checked separately (see _job_needs).
    "bigquery.jobs.insert": Entry(
        ("bigquery.jobs.create",), "project",
        "https://cloud.google.com/bigquery/docs/running-queries#required_permissions",
        "tables.export is needed by extract jobs only"),
    "bigquery.jobs.query": Entry(
        ("bigquery.jobs.create",), "project",
        "https://cloud.google.com/bigquery/docs/running-queries#required_permissions",
        "the seed lists none"),
    # A caller may always read its own jobs with jobs.create alone.
    "bigquery.jobs.get": Entry(
        ("bigquery.jobs.get|bigquery.jobs.create",), "project",
        "https://cloud.google.com/bigquery/docs/managing-jobs#view-job",
        "jobs.create suffices for the caller's own jobs"),
    "bigquery.jobs.getQueryResults": Entry(
        ("bigquery.jobs.get|bigquery.jobs.create",), "project",
        "https://cloud.google.com/bigquery/docs/managing-jobs#view-job",
        "results of the caller's own job; its anonymous result table is the caller's"),
    # --- Firestore: checked on the project (or a database-scoped condition).
    "firestore.projects.databases.documents.get": Entry(("datastore.entities.get",),
                                                        "project", _FS, "the seed lists none"),
    "firestore.projects.databases.documents.batchGet": Entry(
        ("datastore.entities.get",), "project", _FS, "the seed lists none"),
    "firestore.projects.databases.documents.runQuery": Entry(
        ("datastore.entities.get", "datastore.entities.list"), "project", _FS,
        "the seed lists none"),
    "firestore.projects.databases.documents.runAggregationQuery": Entry(
        ("datastore.entities.get", "datastore.entities.list"), "project", _FS,
        "missing from the seed"),
    "firestore.projects.databases.documents.listDocuments": Entry(
        ("datastore.entities.list",), "project", _FS, "the seed lists none"),
    "firestore.projects.databases.documents.beginTransaction": Entry(
        ("datastore.databases.get",), "project", _FS, "the seed lists none"),
    "firestore.projects.databases.documents.rollback": Entry(
        ("datastore.databases.get",), "project", _FS, "missing from the seed"),
    # The writes of a commit are checked one by one (see _commit_needs).
    "firestore.projects.databases.documents.commit": Entry((), "project", _FS),
    # --- Cloud Tasks: on the queue.
    "cloudtasks.projects.locations.queues.tasks.create": Entry(
        ("cloudtasks.tasks.create",), "queue",
        "https://cloud.google.com/tasks/docs/reference-access-control"),
    "cloudtasks.projects.locations.queues.tasks.get": Entry(
        ("cloudtasks.tasks.get",), "queue",
        "https://cloud.google.com/tasks/docs/reference-access-control"),
    "cloudtasks.projects.locations.queues.tasks.delete": Entry(
        ("cloudtasks.tasks.delete",), "queue",
        "https://cloud.google.com/tasks/docs/reference-access-control"),
    # --- Secret Manager: on the secret.
    "secretmanager.projects.secrets.versions.access": Entry(
        ("secretmanager.versions.access",), "secret",
        "https://cloud.google.com/secret-manager/docs/access-control"),
    "secretmanager.projects.secrets.addVersion": Entry(
        ("secretmanager.versions.add",), "secret",
        "https://cloud.google.com/secret-manager/docs/access-control"),
    "secretmanager.projects.secrets.create": Entry(
        ("secretmanager.secrets.create",), "project",
        "https://cloud.google.com/secret-manager/docs/access-control"),
    # --- IAM Credentials: signing a V4 URL without a key signs as the account itself.
    "iamcredentials.projects.serviceAccounts.signBlob": Entry(
        ("iam.serviceAccounts.signBlob",), "service_account",
        "https://cloud.google.com/iam/docs/reference/credentials/rest/v1/"
        "projects.serviceAccounts/signBlob"),
}

# Grants that no recorded call exercises, and why each stays. The recorded run fails on
# a function grant none of whose permissions is used unless it is listed here.
UNRECORDED = {
    "google_service_account_iam_member.upload_sign_blob_self":
        "V4 signed upload URLs: on Cloud Functions the runtime credentials hold no "
        "private key, so the URL is signed through iamcredentials signBlob as the upload "
        "account itself (https://cloud.google.com/storage/docs/access-control/"
        "signed-urls#signing-iam); the emulator run signs with a local key instead.",
}

# A task carrying an OIDC token acts as that token's account.
TASK_OIDC = Entry(("iam.serviceAccounts.actAs",), "service_account",
                  "https://cloud.google.com/tasks/docs/creating-http-target-tasks"
                  "#sa-permissions")
# What a job does to the tables it names: a load or DML writes, a query reads.
TABLE_READ = Entry(("bigquery.tables.getData",), "dataset",
                   "https://cloud.google.com/bigquery/docs/running-queries#required_permissions")
TABLE_WRITE = Entry(("bigquery.tables.updateData",), "dataset",
                    "https://cloud.google.com/bigquery/docs/batch-loading-data"
                    "#required_permissions")
TABLE_CREATE = Entry(("bigquery.tables.create",), "dataset",
                     "https://cloud.google.com/bigquery/docs/batch-loading-data"
                     "#required_permissions")
# A load job from gs:// URIs reads the objects with the caller's permissions; a
# wildcard URI lists the bucket too.
LOAD_SOURCE_READ = Entry(("storage.objects.get",), "bucket",
                         "https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-"
                         "parquet#required_permissions")
LOAD_SOURCE_LIST = Entry(("storage.objects.list",), "bucket",
                         "https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-"
                         "parquet#required_permissions")
# A commit's writes: exists=false -> create, exists=true -> update, none -> both.
ENTITY_WRITE = Entry(("datastore.entities.create", "datastore.entities.update",
                      "datastore.entities.delete"), "project", _FS)


def seed() -> dict[str, list[str]]:
    from tests.infra.iam_grants import IAM_DATA, require_iam_data

    require_iam_data()
    return json.loads((IAM_DATA / "methods.json").read_text(encoding="utf-8"))["methods"]


@dataclass(frozen=True)
class Call:
    """One recorded API call: `transport` is rest or grpc; for rest `target` is the
    URL and `verb` the HTTP method; for grpc `target` is /package.Service/Method and
    `request` the request message."""
    function: str
    transport: str
    verb: str
    target: str
    request: object = None


def _entry_needs(method: str, entry: Entry, resource: Resource) -> list[Need]:
    return [Need(method, tuple(p.split("|")), resource) for p in entry.permissions]


_STORAGE = re.compile(r"^(?:/upload|/download)?/storage/v1/b/(?P<b>[^/]+)"
                      r"(?:/o(?:/(?P<o>[^/]+)(?P<rest>/.*)?)?)?$")
_BQ = re.compile(r"^(?:/upload)?/bigquery/v2/projects/[^/]+/(?P<rest>.*)$")


def _rest_method(verb: str, url: str) -> tuple[str, Resource] | None:
    """(table key, resource) of a REST call; None for the continuation of an upload
    already counted, raising for a URL the table does not know."""
    parsed = urlparse(url)
    path, query = unquote(parsed.path), parsed.query
    if m := _STORAGE.match(path):
        bucket = Resource("bucket", m["b"])
        if verb == "PUT" and "upload_id" in query:
            return None
        if m["o"] is None and "/o" not in path[len("/storage/v1/b/"):]:
            return ("storage.buckets.get", bucket) if verb == "GET" else _unknown(verb, url)
        if m["o"] is None:
            return {"GET": "storage.objects.list", "POST": "storage.objects.insert"}[verb], bucket
        if m["rest"] and "/rewriteTo/" in m["rest"]:
            return "storage.objects.rewrite", bucket
        return {"GET": "storage.objects.get", "DELETE": "storage.objects.delete",
                "PATCH": "storage.objects.patch"}[verb], bucket
    if m := _BQ.match(path):
        parts = m["rest"].split("/")
        if verb == "PUT" and "upload_id" in query:
            return None
        if parts[0] == "jobs" and len(parts) == 1 and verb == "POST":
            return "bigquery.jobs.insert", PROJECT
        if parts[0] == "jobs" and verb == "GET":
            return "bigquery.jobs.get", PROJECT
        if parts[0] == "queries":
            return ("bigquery.jobs.query" if verb == "POST" else
                    "bigquery.jobs.getQueryResults"), PROJECT
        if parts[0] == "datasets" and len(parts) == 1 and verb == "POST":
            return "bigquery.datasets.insert", PROJECT
        if parts[0] == "datasets":
            dataset = Resource("dataset", parts[1])
            if len(parts) == 2 and verb == "GET":
                return "bigquery.datasets.get", dataset
            if len(parts) == 3 and verb == "POST":
                return "bigquery.tables.insert", dataset
            if len(parts) == 4:
                return {"GET": "bigquery.tables.get",
                        "DELETE": "bigquery.tables.delete"}[verb], dataset
            if len(parts) == 5 and parts[4] == "data":
                return "bigquery.tabledata.list", dataset
    return _unknown(verb, url)


def _unknown(verb: str, url: str):
    raise KeyError(f"no table entry for {verb} {url}: add it to tests/infra/gcp_permissions.py")


def _json_body(body: object) -> dict:
    """The JSON metadata of a request body, also from a multipart upload."""
    if body is None:
        return {}
    raw = body if isinstance(body, bytes) else str(body).encode()
    start = raw.find(b"{")
    if start < 0:
        return {}
    try:
        return json.JSONDecoder().raw_decode(raw[start:].decode("utf-8", "replace"))[0]
    except ValueError:
        return {}


_TABLE_REF = re.compile(r"`[^`.]+\.(?P<d>[A-Za-z0-9_]+)\.[A-Za-z0-9_]+`")
_DML = re.compile(r"\b(?:DELETE\s+FROM|INSERT\s+INTO|UPDATE|MERGE(?:\s+INTO)?)\s+"
                  r"`[^`.]+\.(?P<d>[A-Za-z0-9_]+)\.[A-Za-z0-9_]+`", re.I)


def _job_needs(method: str, body: dict) -> list[Need]:
    """The table-level checks of a job: a load writes (and may create) its
    destination; a query reads every table it names and DML writes its target."""
    cfg = body.get("configuration", body)
    out: list[Need] = []
    if "load" in cfg:
        dest = Resource("dataset", cfg["load"]["destinationTable"]["datasetId"])
        out += _entry_needs(method, TABLE_WRITE, dest)
        # A load from Cloud Storage reads each source object as the job's caller.
        for uri in cfg["load"].get("sourceUris") or []:
            bucket = Resource("bucket", uri.removeprefix("gs://").split("/", 1)[0])
            out += _entry_needs(method, LOAD_SOURCE_READ, bucket)
            if "*" in uri:
                out += _entry_needs(method, LOAD_SOURCE_LIST, bucket)
        if cfg["load"].get("createDisposition", "CREATE_IF_NEEDED") != "CREATE_NEVER":
            out += _entry_needs(method, TABLE_CREATE, dest)
    sql = (cfg.get("query") or {}).get("query", "") if "query" in cfg else body.get("query", "")
    for m in _TABLE_REF.finditer(sql or ""):
        out += _entry_needs(method, TABLE_READ, Resource("dataset", m["d"]))
    for m in _DML.finditer(sql or ""):
        out += _entry_needs(method, TABLE_WRITE, Resource("dataset", m["d"]))
    return out


def _commit_needs(method: str, request) -> list[Need]:
    out: list[Need] = []
    create, update, delete = ENTITY_WRITE.permissions
    for write in request.writes:
        if write.WhichOneof("operation") == "delete":
            perms = (delete,)
        elif write.HasField("current_document") and \
                write.current_document.WhichOneof("condition_type") == "exists":
            perms = (create,) if not write.current_document.exists else (update,)
        else:
            perms = (create, update)
        out += [Need(method, (p,), PROJECT) for p in perms]
    if not request.writes:
        out.append(Need(method, ("datastore.databases.get",), PROJECT))
    return out


_GRPC = {
    "/google.firestore.v1.Firestore/GetDocument": "firestore.projects.databases.documents.get",
    "/google.firestore.v1.Firestore/BatchGetDocuments":
        "firestore.projects.databases.documents.batchGet",
    "/google.firestore.v1.Firestore/RunQuery": "firestore.projects.databases.documents.runQuery",
    "/google.firestore.v1.Firestore/RunAggregationQuery":
        "firestore.projects.databases.documents.runAggregationQuery",
    "/google.firestore.v1.Firestore/ListDocuments":
        "firestore.projects.databases.documents.listDocuments",
    "/google.firestore.v1.Firestore/BeginTransaction":
        "firestore.projects.databases.documents.beginTransaction",
    "/google.firestore.v1.Firestore/Rollback": "firestore.projects.databases.documents.rollback",
    "/google.firestore.v1.Firestore/Commit": "firestore.projects.databases.documents.commit",
    "/google.cloud.tasks.v2.CloudTasks/CreateTask":
        "cloudtasks.projects.locations.queues.tasks.create",
    "/google.cloud.tasks.v2.CloudTasks/GetTask": "cloudtasks.projects.locations.queues.tasks.get",
    "/google.cloud.tasks.v2.CloudTasks/DeleteTask":
        "cloudtasks.projects.locations.queues.tasks.delete",
    "/google.cloud.secretmanager.v1.SecretManagerService/AccessSecretVersion":
        "secretmanager.projects.secrets.versions.access",
    "/google.cloud.secretmanager.v1.SecretManagerService/AddSecretVersion":
        "secretmanager.projects.secrets.addVersion",
    "/google.cloud.secretmanager.v1.SecretManagerService/CreateSecret":
        "secretmanager.projects.secrets.create",
}
_NAMED = {"queues": "queue", "secrets": "secret", "serviceAccounts": "service_account"}


def _named(path: str, kind: str) -> Resource:
    """The resource of that kind in a resource name (projects/p/.../queues/q/tasks/t)."""
    parts = path.split("/")
    for key, k in _NAMED.items():
        if k == kind and key in parts:
            return Resource(kind, parts[parts.index(key) + 1])
    raise KeyError(f"no {kind} in {path!r}")


def needs(call: Call) -> list[Need]:
    """Every permission check the call meets."""
    if call.transport == "rest":
        found = _rest_method(call.verb, call.target)
        if found is None:
            return []
        method, resource = found
        out = _entry_needs(method, METHODS[method], resource)
        if method in ("bigquery.jobs.insert", "bigquery.jobs.query"):
            out += _job_needs(method, _json_body(call.request))
        return out
    method = _GRPC.get(call.target) or _unknown("RPC", call.target)
    entry, req = METHODS[method], call.request
    if method.endswith(".commit"):
        return _commit_needs(method, req)
    if entry.scope == "project":
        return _entry_needs(method, entry, PROJECT)
    name = getattr(req, "parent", "") or getattr(req, "name", "")
    out = _entry_needs(method, entry, _named(name, entry.scope))
    if method.endswith("tasks.create") and req.task.http_request.oidc_token.service_account_email:
        email = req.task.http_request.oidc_token.service_account_email
        out += _entry_needs(method, TASK_OIDC, Resource("service_account", email))
    return out
