"""Least privilege: each function's service account holds exactly the roles its code
calls; no basic or project-wide admin roles; public invocation only where the design
needs it, and said why."""

from __future__ import annotations

import pytest

from tests.infra import iam_grants
from tests.infra.terraform_config import MODULE, load, service_account_of

CFG = load()
MODULE_CFG = load(MODULE)

IAM_MEMBER_TYPES = {
    "google_project_iam_member": "project",
    "google_storage_bucket_iam_member": "bucket",
    "google_bigquery_dataset_iam_member": "dataset",
    "google_cloud_tasks_queue_iam_member": "queue",
    "google_service_account_iam_member": "service_account",
    "google_secret_manager_secret_iam_member": "secret",
}
FORBIDDEN_IAM_TYPES = ("_iam_binding", "_iam_policy")


def grants() -> dict[str, set[tuple[str, str]]]:
    """service account -> {(role, resource)}, for_each grants expanded per instance
    (tests/infra/iam_grants.py); module invoker bindings are checked below."""
    out: dict[str, set[tuple[str, str]]] = {}
    for g in iam_grants.grants(CFG):
        if not g.address.startswith("module."):
            out.setdefault(g.identity, set()).add((g.role, g.target))
    return out


FN = 'google_service_account.function["{}"]'
SIGNING = "google_secret_manager_secret.jwt_signing_keys"
PUBLIC = "google_secret_manager_secret.jwt_public_keys"
DATASET = "google_bigquery_dataset.warehouse"
UPLOADS = "google_storage_bucket.uploads"

EXPECTED = {
    # auth: Firestore + the JWT secrets.
    "auth": {("roles/datastore.user", "project"),
             ("roles/secretmanager.secretAccessor", SIGNING)},
    # upload (+ ingest): Storage + BigQuery + Firestore + Cloud Tasks + signBlob on itself.
    "upload": {("roles/storage.objectUser", UPLOADS),
               ("roles/storage.objectUser", "google_storage_bucket.rejected"),
               # staged Parquet shards, written by the ingest and read by its load job
               ("roles/storage.objectUser", "google_storage_bucket.staging"),
               ("roles/bigquery.jobUser", "project"),
               ("roles/bigquery.dataEditor", DATASET),
               ("roles/datastore.user", "project"),
               ("roles/cloudtasks.enqueuer", "google_cloud_tasks_queue.metrics"),
               # the finalize event hands each upload to the ingest task
               ("roles/cloudtasks.enqueuer", "google_cloud_tasks_queue.ingest"),
               ("roles/iam.serviceAccountUser", "google_service_account.tasks"),
               ("roles/iam.serviceAccountTokenCreator", FN.format("upload"))},
    # metrics: BigQuery (read) + Firestore + Cloud Tasks.
    "metrics": {("roles/bigquery.jobUser", "project"),
                ("roles/bigquery.dataViewer", DATASET),
                ("roles/datastore.user", "project"),
                ("roles/cloudtasks.enqueuer", "google_cloud_tasks_queue.forecast"),
                ("roles/iam.serviceAccountUser", "google_service_account.tasks")},
    # predict: BigQuery (read) + Firestore.
    "predict": {("roles/bigquery.jobUser", "project"),
                ("roles/bigquery.dataViewer", DATASET),
                ("roles/datastore.user", "project")},
    "events": {("roles/eventarc.eventReceiver", "project")},
    # The build account roles Cloud Run functions documents; objectAdmin is conditioned
    # to Google's gcf-v2-sources staging buckets (test_iam_documented.py).
    "builder": {("roles/logging.logWriter", "project"),
                ("roles/artifactregistry.writer", "project"),
                ("roles/storage.objectAdmin", "project"),
                ("roles/storage.objectViewer", "google_storage_bucket.sources")},
    "gcs_agent": {("roles/pubsub.publisher", "project")},
}
# Every function verifies tokens with the public keys.
for _fn in iam_grants.FUNCTIONS:
    EXPECTED[_fn] = EXPECTED[_fn] | {("roles/secretmanager.secretAccessor", PUBLIC)}
# The deploy pipeline's grants are checked against its documented steps in
# test_iam_documented.py.
RUNTIME = set(EXPECTED)


@pytest.mark.parametrize("account", sorted(EXPECTED))
def test_service_account_roles_match_what_its_code_calls(account):
    assert grants().get(account, set()) == EXPECTED[account]


def test_no_other_account_is_granted_anything():
    assert set(grants()) <= RUNTIME | {"deployer"}, sorted(set(grants()) - RUNTIME)


def test_one_service_account_per_function():
    fn_sa = CFG.resources[("google_service_account", "function")]
    assert fn_sa["for_each"] == "${local.function_sources}"
    assert fn_sa["account_id"] == "${local.prefix}-${each.key}"


def test_no_basic_or_admin_roles_anywhere():
    roles = [body["role"] for (rtype, _), body in CFG.resources.items() if "role" in body]
    roles += [body["role"] for (_, _), body in MODULE_CFG.resources.items() if "role" in body]
    assert roles
    for role in roles:
        assert role not in {"roles/owner", "roles/editor", "roles/viewer"}, role
    # No admin role for a runtime identity, but the one the build account page
    # documents, narrowed by its condition to Google's staging buckets.
    for g in iam_grants.grants(CFG):
        if g.identity == "deployer":
            continue
        if (g.identity, g.role) == ("builder", "roles/storage.objectAdmin"):
            assert g.name_prefix.startswith("projects/_/buckets/gcf-v2-sources-"), g
            continue
        assert "admin" not in g.role.split("/")[-1].lower(), g


def test_project_level_grants_are_only_unscopable_roles():
    allowed = {"roles/datastore.user", "roles/bigquery.jobUser", "roles/eventarc.eventReceiver",
               "roles/pubsub.publisher", "roles/logging.logWriter",
               "roles/artifactregistry.writer"}
    for g in iam_grants.grants(CFG):
        if g.target != "project" or g.identity == "deployer":
            continue
        if g.name_prefix:
            continue  # narrowed to resources terraform does not create (see above)
        assert g.role in allowed, (g.address, g.role)


def test_no_authoritative_iam_resources():
    # *_iam_binding and *_iam_policy would strip grants made outside terraform.
    for rtype, _ in [*CFG.resources, *MODULE_CFG.resources]:
        assert not rtype.endswith(FORBIDDEN_IAM_TYPES), rtype


def test_gcs_service_agent_can_publish_finalize_events():
    body = CFG.resources[("google_project_iam_member", "gcs_agent_pubsub_publisher")]
    assert body["role"] == "roles/pubsub.publisher"
    assert "data.google_storage_project_service_account.gcs_agent.email_address" in body[
        "member"]
    assert ("google_storage_project_service_account", "gcs_agent") in CFG.data


def test_task_functions_are_invoked_only_by_the_tasks_identity():
    invoker = MODULE_CFG.resources[("google_cloud_run_v2_service_iam_member", "invoker")]
    assert invoker["role"] == "roles/run.invoker"
    assert invoker["for_each"] == "${var.invokers}"
    for name, call in CFG.modules.items():
        for member in call.get("invokers", {}).values():
            assert service_account_of(member) in {"tasks", "events"}, name


def test_public_access_is_only_the_http_api_and_says_why():
    all_text = CFG.text() + "\n".join(MODULE_CFG.files.values())
    assert "allAuthenticatedUsers" not in all_text
    hits = [(name, text) for name, text in MODULE_CFG.files.items() if "allUsers" in text]
    assert [n for n, _ in hits] == ["main.tf"], "allUsers must appear only in the module"
    assert "allUsers" not in CFG.text()
    public = MODULE_CFG.resources[("google_cloud_run_v2_service_iam_member", "public")]
    assert public["member"] == "allUsers"
    assert public["count"] == "${var.public ? 1 : 0}"
    # The comment right above the binding explains why it is public.
    text = MODULE_CFG.files["main.tf"]
    before = text[: text.index('resource "google_cloud_run_v2_service_iam_member" "public"')]
    comment = [ln for ln in before.rstrip().splitlines()[-4:] if ln.lstrip().startswith("#")]
    assert comment and any("JWT" in ln or "authenticat" in ln for ln in comment)
    public_calls = {n for n, c in CFG.modules.items() if c.get("public") is True}
    assert public_calls == {"auth_http", "upload_http", "metrics_http", "predict_http"}


def test_signing_keys_are_readable_by_the_auth_function_alone():
    readers = set()
    for body in CFG.of_type("google_secret_manager_secret_iam_member").values():
        if SIGNING in body["secret_id"] and body["role"] == "roles/secretmanager.secretAccessor":
            readers.add(body["member"])
    functions = {service_account_of(m) for m in readers} - {None}
    assert functions == {"auth"}
    # The only other readers are the operators named in key_rotation_members.
    assert readers - {m for m in readers if service_account_of(m)} == {"${each.value}"}
