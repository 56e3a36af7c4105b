"""Every entry point in shared/web/catalog.py is deployed by terraform/functions.tf with the
right trigger, runtime, identity, network exposure and settings."""

from __future__ import annotations

import re

import pytest

from shared.settings import Settings
from shared.web.catalog import ENTRY_POINTS, EntryPoint
from tests.infra.terraform_config import (
    MODULE,
    load,
    module_environment,
    resolve_local,
    service_account_of,
)

CFG = load()
MODULE_CFG = load(MODULE)
SETTING_VARS = {f"TIDEMARK_{name.upper()}" for name in Settings.model_fields}

# Settings that only the embedded local stack reads; Cloud Tasks' own retry policy
# (terraform/tasks.tf) replaces the local queue's.
LOCAL_ONLY = {"data_dir", "host", "port", "public_url",
              "task_max_attempts", "task_backoff_base_s", "task_backoff_max_s",
              "duckdb_load_memory", "duckdb_segment_rows"}

COMMON = {"backend", "log_level", "gcp_project", "gcp_region",
          "firestore_database", "secret_prefix", "jwt_issuer", "jwt_audience",
          "forwarded_by_front_end", "trusted_proxy_networks"}
WAREHOUSE = {"warehouse_dataset", "warehouse_table", "bq_location"}
TASKS = {"tasks_location", "tasks_queue_metrics", "tasks_queue_forecast",
         "tasks_service_account", "task_dispatch_timeout_s"}
INGEST_TASK = {"tasks_queue_ingest", "ingest_task_dispatch_timeout_s"}
MAIL = {"mail_backend", "mail_from", "smtp_host", "smtp_port", "smtp_security",
        "smtp_username", "smtp_password_secret", "smtp_timeout_s", "app_url"}
UPLOADS = {"uploads_bucket", "signing_service_account", "max_upload_bytes",
           "signed_url_ttl_s", "max_reject_share", "ingest_lease_s"}

# What each deployed function's code needs, by the settings it reads.
NEEDS: dict[str, set[str]] = {
    "auth": COMMON | {"access_token_ttl_s", "refresh_token_ttl_s", "argon2_time_cost",
                      "argon2_memory_kib", "argon2_parallelism", "rate_login_ip",
                      "rate_login_account", "rate_register_ip", "rate_reset_ip",
                      "rate_reset_account", "rate_verify_resend", "password_reset_ttl_s",
                      "email_verification_ttl_s"} | MAIL,
    "upload": COMMON | WAREHOUSE | TASKS | UPLOADS | {"metrics_task_url"},
    "ingest": COMMON | WAREHOUSE | TASKS | UPLOADS | INGEST_TASK | {"ingest_task_url"},
    "ingest-task": COMMON | WAREHOUSE | TASKS | UPLOADS | INGEST_TASK | {"metrics_task_url"},
    "metrics": COMMON | WAREHOUSE | TASKS | {"forecast_task_url"},
    "metrics-task": COMMON | WAREHOUSE | TASKS | MAIL | {"forecast_task_url"},
    "predict": COMMON | WAREHOUSE,
    "forecast-task": COMMON | WAREHOUSE,
}

API_ROUTES = {"auth": "/api/auth/**", "upload": "/api/uploads/**",
              "metrics": "/api/metrics/**", "predict": "/api/predictions/**"}


def _call(ep: EntryPoint) -> dict:
    calls = [body for body in CFG.modules.values() if body.get("entry_point") == ep.target]
    assert len(calls) == 1, f"{ep.target} should be deployed exactly once, found {len(calls)}"
    return calls[0]


def _env(ep: EntryPoint) -> dict:
    return module_environment(CFG, _call(ep))


def _ids(ep: EntryPoint) -> str:
    return ep.target


@pytest.mark.parametrize("ep", ENTRY_POINTS, ids=_ids)
def test_entry_point_is_deployed_from_its_function_source(ep):
    call = _call(ep)
    assert call["source"] == "./modules/function"
    assert call["name"] == f"${{local.prefix}}-{ep.deploy_name}"
    assert call["source_object"] == (
        f'${{google_storage_bucket_object.source["{ep.function}"].name}}')


def test_every_function_source_is_packaged_and_uploaded():
    functions = {ep.function for ep in ENTRY_POINTS}
    declared = CFG.locals["function_sources"]
    assert declared.startswith("${toset([")
    assert set(re.findall(r'"([a-z]+)"', declared)) == functions
    obj = CFG.resources[("google_storage_bucket_object", "source")]
    assert "filemd5(" in obj["name"], "the zip's MD5 must be in the object name"
    assert obj["bucket"] == "${google_storage_bucket.sources.name}"


@pytest.mark.parametrize("ep", ENTRY_POINTS, ids=_ids)
def test_runtime_is_a_supported_python(ep):
    assert resolve_local(CFG, _call(ep)["runtime"]) in {"python311", "python312", "python313"}


@pytest.mark.parametrize("ep", ENTRY_POINTS, ids=_ids)
def test_trigger_and_exposure_match_the_entry_point_kind(ep):
    call = _call(ep)
    if ep.kind == "http":
        assert "event_trigger" not in call
        assert call["ingress"] == "ALLOW_ALL"
        assert call.get("public") is True
        assert not call.get("invokers")
    elif ep.kind == "task":
        assert "event_trigger" not in call
        assert call["ingress"] == "ALLOW_INTERNAL_ONLY"
        assert call.get("public", False) is False
        # Invokable only with the OIDC identity Cloud Tasks uses.
        assert call["invokers"] == {
            "tasks": "serviceAccount:${google_service_account.tasks.email}"}
    else:
        trigger = call["event_trigger"]
        assert trigger["event_type"] == ep.mount
        assert trigger["bucket"] == "${google_storage_bucket.uploads.name}"
        assert trigger["retry_policy"] == "RETRY_POLICY_RETRY"
        assert call["ingress"] == "ALLOW_INTERNAL_ONLY"
        assert call.get("public", False) is False
        assert list(call["invokers"].values()) == [
            "serviceAccount:${google_service_account.events.email}"]
        assert trigger["service_account_email"] == "${google_service_account.events.email}"


@pytest.mark.parametrize("ep", ENTRY_POINTS, ids=_ids)
def test_sizing_is_set_on_purpose(ep):
    call = _call(ep)
    for key in ("memory", "cpu", "timeout_seconds", "max_instances", "concurrency"):
        assert key in call, f"{ep.target}: {key} not set"
    timeout = resolve_local(CFG, call["timeout_seconds"])
    limit = 540 if ep.kind == "event" else 3600
    assert 0 < timeout <= limit
    if ep.target == "ingest_task":
        # The ingest task runs as long as Cloud Tasks waits for it (30 min at most).
        assert timeout == CFG.locals["ingest_task_timeout_seconds"] == 1800
        assert int(call["cpu"]) >= 2 and call["concurrency"] == 1
    elif ep.kind == "task":
        assert timeout == CFG.locals["task_timeout_seconds"]


@pytest.mark.parametrize("ep", ENTRY_POINTS, ids=_ids)
def test_runs_as_its_function_service_account(ep):
    sa = _call(ep)["service_account_email"]
    assert service_account_of(sa) == ep.function
    assert sa.endswith(".email}")


@pytest.mark.parametrize("ep", ENTRY_POINTS, ids=_ids)
def test_environment_sets_exactly_the_settings_the_function_reads(ep):
    env = _env(ep)
    assert set(env) <= SETTING_VARS, f"not a setting: {sorted(set(env) - SETTING_VARS)}"
    assert env["TIDEMARK_BACKEND"] == "gcp"
    needed = {f"TIDEMARK_{n.upper()}" for n in NEEDS[ep.deploy_name]}
    assert needed <= set(env), f"missing: {sorted(needed - set(env))}"
    assert not {f"TIDEMARK_{n.upper()}" for n in LOCAL_ONLY} & set(env)


def test_every_setting_is_deployed_or_known_to_be_local_only():
    deployed = set().union(*(_env(ep) for ep in ENTRY_POINTS))
    classified = {f"TIDEMARK_{n.upper()}" for n in LOCAL_ONLY} | deployed
    # A new Settings field must be given to the functions that read it (or listed above).
    assert SETTING_VARS - classified == set()


def test_deployed_values_are_valid_settings():
    # Literal values must pass Settings' own validation (types and bounds).
    for ep in ENTRY_POINTS:
        literal = {k.removeprefix("TIDEMARK_").lower(): v for k, v in _env(ep).items()
                   if isinstance(v, str) and "${" not in v}
        Settings(**literal)


def test_ingest_lease_outlives_the_ingest_task():
    lease = CFG.locals["uploads_environment"]["TIDEMARK_INGEST_LEASE_S"]
    assert lease == "${tostring(local.ingest_task_timeout_seconds + 60)}"
    task = next(ep for ep in ENTRY_POINTS if ep.target == "ingest_task")
    assert _call(task)["timeout_seconds"] == "${local.ingest_task_timeout_seconds}"
    assert _env(task)["TIDEMARK_INGEST_TASK_DISPATCH_TIMEOUT_S"] == \
        "${tostring(local.ingest_task_timeout_seconds)}"


def test_task_urls_point_at_the_task_functions_without_cycles():
    by_name = {name: body for name, body in CFG.modules.items()}
    ref = re.compile(r"module\.([a-z_]+)\.")
    edges = {name: set(ref.findall(str(body))) for name, body in by_name.items()}
    # Depth-first search for a cycle in module -> module references.
    state: dict[str, int] = {}

    def visit(node: str) -> None:
        state[node] = 1
        for nxt in edges.get(node, ()):
            assert state.get(nxt) != 1, f"cycle through {node} -> {nxt}"
            if nxt not in state:
                visit(nxt)
        state[node] = 2

    for name in by_name:
        if name not in state:
            visit(name)
    targets = {"metrics_task_url": "metrics_task", "forecast_task_url": "forecast_task",
               "ingest_task_url": "ingest_task"}
    for ep in ENTRY_POINTS:
        env = _env(ep)
        for setting, module in targets.items():
            value = env.get(f"TIDEMARK_{setting.upper()}")
            if value is not None:
                assert value == f"${{module.{module}.uri}}", (ep.target, setting)


def test_hosting_rewrites_route_each_api_prefix_to_its_function():
    rewrites = CFG.locals["hosting_rewrites"]
    by_source = {r["source"]: r["function"] for r in rewrites}
    for ep in ENTRY_POINTS:
        if ep.kind != "http":
            continue
        fn = by_source[API_ROUTES[ep.function]]
        module = next(n for n, b in CFG.modules.items() if b["entry_point"] == ep.target)
        assert fn["functionId"] == f"${{module.{module}.name}}"
        assert fn["region"] == "${var.region}"
        assert ep.mount + "/**" == API_ROUTES[ep.function]
    assert len(by_source) == len(API_ROUTES)


def test_module_merges_the_environment_as_the_tests_assume():
    fn = MODULE_CFG.resources[("google_cloudfunctions2_function", "this")]
    svc = fn["service_config"][0] if isinstance(fn["service_config"], list) else fn[
        "service_config"]
    assert re.sub(r"\s+", "", svc["environment_variables"]) == (
        "${merge(concat([var.common_environment],var.environment_sets,[var.environment])...)}")
    assert svc["ingress_settings"] == "${var.ingress}"
    assert svc["service_account_email"] == "${var.service_account_email}"
    assert svc["all_traffic_on_latest_revision"] is True
    build = fn["build_config"][0]
    assert build["runtime"] == "${var.runtime}"
    assert build["entry_point"] == "${var.entry_point}"
    runtime_rule = MODULE_CFG.variables["runtime"]["validation"][0]["condition"]
    assert "python311" in runtime_rule and "python312" in runtime_rule
    # The runtime the root module deploys passes the module's validation.
    assert f'"{CFG.locals["runtime"]}"' in runtime_rule
