"""Providers, state, variables, outputs and the data resources the code uses."""

from __future__ import annotations

import json
import re

import pytest

from shared.schema import CLUSTER_FIELDS, PARTITION_FIELD, PARTITION_TYPE
from shared.settings import Settings
from tests.infra.terraform_config import ROOT, load

CFG = load()


def _block(body: dict, name: str) -> dict:
    value = body[name]
    return value[0] if isinstance(value, list) else value


def test_providers_are_pinned_and_terraform_version_is_bounded():
    tf = CFG.terraform[0]
    assert re.fullmatch(r">= ?1\.\d+(\.\d+)?, ?< ?2\.0\.0", tf["required_version"])
    providers = tf["required_providers"][0]
    assert set(providers) == {"google", "google-beta", "archive"}
    for name, spec in providers.items():
        assert spec["source"] == f"hashicorp/{name}"
        assert spec["version"].startswith("~>"), f"{name} must be pinned with ~>"
    assert providers["google"]["version"] == providers["google-beta"]["version"]


def test_state_lives_in_a_gcs_backend_configured_at_init():
    backends = CFG.terraform[0]["backend"]
    assert backends == [{"gcs": {}}], "partial configuration: bucket and prefix come at init"
    assert "-backend-config" in CFG.files["versions.tf"]


@pytest.mark.parametrize("name", ["project_id", "region", "environment", "name_prefix"])
def test_core_variables_are_validated(name):
    var = CFG.variables[name]
    assert var["type"] == "${string}" or var["type"] == "string"
    assert var.get("description")
    assert var["validation"][0]["condition"] and var["validation"][0]["error_message"]


def test_every_variable_is_described_and_typed():
    for name, var in CFG.variables.items():
        assert var.get("description"), name
        assert "type" in var, name


@pytest.mark.parametrize("name", ["api_base_url", "hosting_url", "uploads_bucket",
                                  "sources_bucket", "hosting_rewrites", "function_urls"])
def test_outputs_expose_what_deploys_and_clients_need(name):
    assert name in CFG.outputs


def test_uploads_bucket_is_private_versioned_and_cleans_up():
    bucket = CFG.resources[("google_storage_bucket", "uploads")]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert _block(bucket, "versioning")["enabled"] is True
    deletes = [_block(rule, "condition") for rule in bucket["lifecycle_rule"]
               if _block(rule, "action")["type"] == "Delete"]
    # Only old versions go: a live upload stays as long as its dataset does, and no
    # staged shard is ever written here (it would re-trigger the ingest).
    assert deletes and all("days_since_noncurrent_time" in c for c in deletes)
    assert not any("matches_prefix" in c for c in deletes)


def test_staging_bucket_is_private_cleans_up_and_sits_with_the_warehouse():
    bucket = CFG.resources[("google_storage_bucket", "staging")]
    uploads = CFG.resources[("google_storage_bucket", "uploads")]
    assert bucket["name"] != uploads["name"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    # A load from Cloud Storage needs the bucket in the dataset's location
    # (https://cloud.google.com/bigquery/docs/loading-data-cloud-storage-parquet).
    assert bucket["location"] == uploads["location"]
    ages = [_block(r, "condition").get("age") for r in bucket["lifecycle_rule"]
            if _block(r, "action")["type"] == "Delete"]
    assert ages == ["${var.staging_retention_days}"]


def test_rejected_rows_have_a_private_bucket_of_their_own_that_cleans_up():
    bucket = CFG.resources[("google_storage_bucket", "rejected")]
    assert bucket["name"] != CFG.resources[("google_storage_bucket", "uploads")]["name"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    [rule] = bucket["lifecycle_rule"]
    assert _block(rule, "action")["type"] == "Delete"
    assert _block(rule, "condition")["age"] == "${var.rejected_retention_days}"
    # The upload function reads it from its environment.
    assert CFG.locals["uploads_environment"]["TIDEMARK_REJECTED_BUCKET"] == \
        "${google_storage_bucket.rejected.name}"


def test_uploads_cors_allows_put_from_the_hosting_origin_only():
    cors = _block(CFG.resources[("google_storage_bucket", "uploads")], "cors")
    assert cors["origin"] == "${local.hosting_origins}"
    assert "PUT" in cors["method"]
    assert not set(cors["method"]) & {"GET", "POST", "DELETE"}
    origins = CFG.locals["hosting_origins"]
    assert "*" not in origins
    assert "local.hosting_site_id" in origins and ".web.app" in origins


def test_sources_bucket_is_private():
    bucket = CFG.resources[("google_storage_bucket", "sources")]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"


def test_business_data_table_follows_the_schema_source_of_truth():
    table = CFG.resources[("google_bigquery_table", "business_data")]
    assert table["schema"] == '${file("${path.module}/../schema/business_data.json")}'
    assert (ROOT / "schema" / "business_data.json").is_file()
    assert table["table_id"] == Settings().warehouse_table
    partitioning = _block(table, "time_partitioning")
    assert partitioning == {"type": PARTITION_TYPE, "field": PARTITION_FIELD}
    assert tuple(table["clustering"]) == CLUSTER_FIELDS
    assert table["deletion_protection"] is True


def test_firestore_is_native_mode_with_composite_indexes():
    db = CFG.resources[("google_firestore_database", "main")]
    assert db["type"] == "FIRESTORE_NATIVE"
    assert db["name"] == "(default)" == Settings().firestore_database
    assert db["delete_protection_state"] == "DELETE_PROTECTION_ENABLED"
    index = CFG.resources[("google_firestore_index", "composite")]
    assert index["for_each"] == "${local.firestore_indexes}"
    for name, spec in CFG.locals["firestore_indexes"].items():
        assert "/" not in spec["collection"], name
        assert len(spec["fields"]) >= 2, f"{name}: single-field indexes are automatic"
        for field, order in spec["fields"]:
            assert order in {"ASCENDING", "DESCENDING"}, (name, field)


@pytest.mark.parametrize("queue", ["metrics", "forecast"])
def test_task_queues_retry_with_backoff_and_are_rate_limited(queue):
    body = CFG.resources[("google_cloud_tasks_queue", queue)]
    assert body["name"] == f"${{local.prefix}}-{queue}"
    rates = _block(body, "rate_limits")
    assert rates["max_dispatches_per_second"] > 0 and rates["max_concurrent_dispatches"] > 0
    retry = _block(body, "retry_config")
    assert retry["max_attempts"] > 1
    assert int(retry["min_backoff"].rstrip("s")) < int(retry["max_backoff"].rstrip("s"))
    assert retry["max_doublings"] >= 1


@pytest.mark.parametrize(("resource", "name"), [("jwt_signing_keys", "jwt-signing-keys"),
                                                ("jwt_public_keys", "jwt-public-keys")])
def test_jwt_secrets_are_named_from_the_secret_prefix(resource, name):
    body = CFG.resources[("google_secret_manager_secret", resource)]
    assert body["secret_id"] == f"${{local.prefix}}-{name}"
    # The functions find them through TIDEMARK_SECRET_PREFIX = local.prefix.
    assert CFG.locals["common_environment"]["TIDEMARK_SECRET_PREFIX"] == "${local.prefix}"
    assert "secret_data" not in json.dumps(CFG.of_type("google_secret_manager_secret_version"))


def test_no_secret_values_in_terraform():
    assert CFG.of_type("google_secret_manager_secret_version") == {}
    text = CFG.text()
    assert "BEGIN PRIVATE KEY" not in text and "private_pem" not in text


def test_apis_the_resources_need_are_enabled():
    apis = CFG.resources[("google_project_service", "enabled")]["for_each"]
    for api in ("cloudfunctions", "run", "cloudbuild", "eventarc", "pubsub", "bigquery",
                "firestore", "cloudtasks", "secretmanager", "storage", "firebasehosting",
                "iamcredentials", "artifactregistry"):
        assert f'"{api}.googleapis.com"' in apis, api


def test_hosting_site_is_provisioned():
    site = CFG.resources[("google_firebase_hosting_site", "web")]
    assert site["provider"] in {"google-beta", "${google-beta}"}
    assert site["site_id"] == "${local.hosting_site_id}"
