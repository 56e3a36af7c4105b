"""Permissions from documented steps: the identities whose calls no test can record
(Cloud Build's function builds, the deploy pipeline, Eventarc's delivery, Cloud Tasks'
OIDC calls, the Cloud Storage service agent) are checked, with the same model as the
recorded run (tests/infra/iam_grants.py), against what Google documents each step
needs. A `Need` here is one documented step's permission on one resource."""

from __future__ import annotations

import pytest

from tests.infra import iam_grants
from tests.infra.gcp_permissions import PROJECT, Need, Resource
from tests.infra.terraform_config import load

CFG = load()
REGION = "europe-west1"
GCF_SOURCES = Resource("bucket", f"gcf-v2-sources-{iam_grants.PROJECT_NUMBER}-{REGION}")
FULL_NAMES = {GCF_SOURCES: f"projects/_/buckets/{GCF_SOURCES.name}/objects/ingest.zip"}
BIND = {
    GCF_SOURCES: "google-managed:gcf-v2-sources",
    Resource("bucket", "uploads"): "google_storage_bucket.uploads",
    Resource("bucket", "sources"): "google_storage_bucket.sources",
    Resource("bucket", "state"): "var.tf_state_bucket",
    Resource("dataset", "warehouse"): "google_bigquery_dataset.warehouse",
    Resource("service", "ingest_finalized"): "module.ingest_finalized",
    Resource("service", "ingest_task"): "module.ingest_task",
    Resource("service", "metrics_task"): "module.metrics_task",
    Resource("service", "forecast_task"): "module.forecast_task",
    **{Resource("service_account", fn): f'google_service_account.function["{fn}"]'
       for fn in iam_grants.FUNCTIONS},
    **{Resource("service_account", sa): f"google_service_account.{sa}"
       for sa in ("tasks", "events", "builder")},
}


def step(doc: str, permissions: tuple[str, ...], *resources: Resource) -> list[Need]:
    return [Need(doc, (p,), r) for p in permissions for r in resources]


BUILD = "https://cloud.google.com/run/docs/configuring/services/build-service-account"
BUILDER_STEPS = [
    *step(BUILD, ("logging.logEntries.create",), PROJECT),
    *step(BUILD, ("artifactregistry.repositories.uploadArtifacts",
                  "artifactregistry.repositories.downloadArtifacts"), PROJECT),
    # The source a gen2 build reads is Cloud Functions' copy in its staging bucket.
    *step(BUILD, ("storage.objects.get", "storage.objects.list"), GCF_SOURCES),
]

EVENTARC = "https://cloud.google.com/eventarc/docs/run/create-trigger-storage-gcloud"
EVENTS_STEPS = [
    *step(EVENTARC, ("eventarc.events.receiveEvent",), PROJECT),
    *step(EVENTARC, ("run.routes.invoke",), Resource("service", "ingest_finalized")),
]
# The Cloud Storage service agent publishes the bucket's notifications to Eventarc's
# Pub/Sub topic.
GCS_AGENT_STEPS = step(EVENTARC, ("pubsub.topics.publish",), PROJECT)

TASKS = "https://cloud.google.com/tasks/docs/creating-http-target-tasks#token"
TASKS_STEPS = step(TASKS, ("run.routes.invoke",), Resource("service", "ingest_task"),
                   Resource("service", "metrics_task"), Resource("service", "forecast_task"))

# cloudbuild.yaml's steps as the deploy pipeline account.
DEPLOY = "https://cloud.google.com/functions/docs/securing/function-identity"
DEPLOYER_STEPS = [
    *step("https://cloud.google.com/build/docs/securing-builds/configure-user-specified-"
          "service-accounts", ("logging.logEntries.create",), PROJECT),
    # terraform init/plan/apply: state objects (and their lock file).
    *step("https://developer.hashicorp.com/terraform/language/backend/gcs",
          ("storage.objects.get", "storage.objects.create", "storage.objects.delete",
           "storage.objects.list"), Resource("bucket", "state")),
    # The packaged zips (google_storage_bucket_object.source).
    *step("https://cloud.google.com/storage/docs/access-control/iam-permissions",
          ("storage.objects.create", "storage.objects.get", "storage.objects.delete"),
          Resource("bucket", "sources")),
    # Bucket settings and the bucket-level grants in iam.tf.
    *step("https://cloud.google.com/storage/docs/access-control/iam-permissions",
          ("storage.buckets.get", "storage.buckets.update", "storage.buckets.getIamPolicy",
           "storage.buckets.setIamPolicy"),
          Resource("bucket", "uploads"), Resource("bucket", "sources")),
    # Deploying functions as their accounts, with the build account and trigger account.
    *step(DEPLOY, ("iam.serviceAccounts.actAs",),
          *[Resource("service_account", fn) for fn in iam_grants.FUNCTIONS],
          Resource("service_account", "builder"), Resource("service_account", "events")),
    # The account-level grants in iam.tf (actAs on tasks, signBlob on upload).
    *step("https://cloud.google.com/iam/docs/manage-access-service-accounts",
          ("iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"),
          Resource("service_account", "tasks"), Resource("service_account", "upload")),
    # The dataset-level grants and the table.
    *step("https://cloud.google.com/bigquery/docs/control-access-to-resources-iam",
          ("bigquery.datasets.get", "bigquery.datasets.update", "bigquery.datasets.setIamPolicy",
           "bigquery.tables.create", "bigquery.tables.update"),
          Resource("dataset", "warehouse")),
    # Project-level grants (limited by the condition, checked below).
    *step("https://cloud.google.com/iam/docs/granting-changing-revoking-access",
          ("resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"),
          PROJECT),
]

STEPS = {"builder": BUILDER_STEPS, "events": EVENTS_STEPS, "tasks": TASKS_STEPS,
         iam_grants.GCS_AGENT: GCS_AGENT_STEPS, "deployer": DEPLOYER_STEPS}


@pytest.mark.parametrize("identity", sorted(STEPS))
def test_terraform_grants_every_documented_step(identity, capsys):
    wanted = STEPS[identity]
    assert iam_grants.missing(identity, wanted, BIND, FULL_NAMES, CFG) == []
    with capsys.disabled():
        for address, perms in sorted(iam_grants.unused(identity, wanted, BIND, CFG,
                                                                   FULL_NAMES).items()):
            granted = next(g.permissions for g in iam_grants.of(identity, CFG)
                           if g.address == address)
            if perms == granted:
                print(f"\n[{identity}] {address}: no documented step uses it")


def test_the_build_account_reads_only_googles_staging_buckets_beyond_its_own():
    """Defect 1: with only the sources-bucket grant every gen2 build failed to read
    its source; the model refuses that configuration."""
    old = [g for g in iam_grants.grants(CFG) if g.address !=
           "google_project_iam_member.builder_gcf_sources"]
    wanted = step(BUILD, ("storage.objects.get",), GCF_SOURCES)
    held = [g for g in old if g.identity == "builder"]
    assert not any("storage.objects.get" in g.permissions
                   and iam_grants.covers(g, BIND[GCF_SOURCES], FULL_NAMES[GCF_SOURCES])
                   for g in held)
    assert iam_grants.missing("builder", wanted, BIND, FULL_NAMES, CFG) == []
    # The objectAdmin grant reaches no other bucket in the project.
    [grant] = [g for g in iam_grants.of("builder", CFG) if g.role == "roles/storage.objectAdmin"]
    assert not iam_grants.covers(grant, "google_storage_bucket.uploads",
                                 "projects/_/buckets/p-tidemark-dev-uploads/objects/x.csv")


def test_the_pipeline_holds_no_project_wide_act_as_storage_or_iam_admin():
    """Defect 10: no project-wide serviceAccountUser or storage.admin, and project IAM
    changes only for the roles terraform grants to others."""
    for g in iam_grants.of("deployer", CFG):
        if g.target != "project":
            continue
        assert "iam.serviceAccounts.actAs" not in g.permissions, g.address
        assert "iam.serviceAccounts.setIamPolicy" not in g.permissions, g.address
        assert not {p for p in g.permissions if p.startswith("storage.")}, (g.address, g.role)
        if "resourcemanager.projects.setIamPolicy" in g.permissions:
            assert g.grantable is not None, f"{g.address}: unlimited project IAM admin"
    [admin] = [g for g in iam_grants.of("deployer", CFG)
               if "resourcemanager.projects.setIamPolicy" in g.permissions]
    others = {g.role for g in iam_grants.grants(CFG)
              if g.target == "project" and g.identity != "deployer"}
    assert others <= set(admin.grantable), sorted(others - set(admin.grantable))
    # Nothing it may grant is itself an IAM-wide or storage-wide admin role.
    assert not [r for r in admin.grantable if r.endswith(("Admin", ".admin", "Owner"))
                and r != "roles/storage.objectAdmin"]


def test_apply_waits_for_an_approval():
    [trigger] = CFG.of_type("google_cloudbuild_trigger").values()
    assert trigger["approval_config"] == [{"approval_required": True}]
    assert trigger["filename"] == "cloudbuild.yaml"
    assert trigger["service_account"] == "${google_service_account.deployer.id}"
    approvers = CFG.resources[("google_project_iam_member", "deploy_approvers")]
    assert approvers["role"] == "roles/cloudbuild.builds.approver"
    # The pipeline cannot approve its own builds.
    assert not [g for g in iam_grants.of("deployer", CFG)
                if "cloudbuild.builds.approve" in g.permissions]
