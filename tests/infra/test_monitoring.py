"""terraform/monitoring.tf against the code: every log-based metric's filter matches
the lines the code really writes (records emitted by the real code paths, formatted
by shared.log's formatter) and nothing else we log; every alert watches a declared
metric and notifies the declared channels; the dashboard is valid JSON over declared
metrics; every uptime check hits a health route that answers what it expects."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import logging
import re

import pytest
from cloudevents.http import CloudEvent

from tests.infra import logging_filter as lf
from tests.infra.terraform_config import ROOT, TERRAFORM, load
from tests.support.ingest_tasks import finalize_and_ingest

CFG = load()
PREFIX = "tidemark-test"
METRICS = CFG.of_type("google_logging_metric")
ALERTS = CFG.of_type("google_monitoring_alert_policy")
# Google's own metrics the policies and dashboard may use, each documented in
# https://cloud.google.com/monitoring/api/metrics_gcp (cloudtasks, run, monitoring).
BUILT_IN = {"cloudtasks.googleapis.com/queue/task_attempt_count",
            "cloudtasks.googleapis.com/queue/task_attempt_delays",
            "cloudtasks.googleapis.com/queue/depth",
            "run.googleapis.com/request_count",
            "run.googleapis.com/request_latencies",
            "monitoring.googleapis.com/uptime_check/check_passed"}


def resolve(text: str) -> str:
    """Terraform interpolations the filters use, with this test's prefix."""
    text = text.replace("${local.function_logs}", CFG.locals["function_logs"])
    return text.replace("${local.prefix}", PREFIX)


def metric_name(key: str) -> str:
    return resolve(METRICS[key]["name"])


# --- records from the real code paths --------------------------------------------------

class _Lines(logging.Handler):
    """Formats at emit time, as the functions' stdout handler does, so the request's
    context (function name, request id) is in the line."""

    def __init__(self) -> None:
        from shared.log import JsonFormatter

        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def lines():
    # On the "tidemark" logger, which every logger of ours propagates through: the
    # root's handlers are replaced when shared.log configures itself.
    root = logging.getLogger("tidemark")
    handler, level = _Lines(), root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(level)


def entries(lines: list[str], service: str) -> list[dict]:
    return [lf.entry_from_line(line, resource_type="cloud_run_revision",
                               service_name=f"{PREFIX}-{service}") for line in lines]


def _upload_main():
    spec = importlib.util.spec_from_file_location("upload_main_for_monitoring",
                                                  ROOT / "functions" / "upload" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _event(bucket: str, name: str, generation, size: int) -> CloudEvent:
    return CloudEvent({"type": "google.cloud.storage.object.v1.finalized",
                       "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}"},
                      {"bucket": bucket, "name": name, "generation": generation,
                       "size": str(size), "contentType": "text/csv"})


@pytest.fixture
def scenarios(deps, lines, function_client, make_user, monkeypatch):
    """{scenario: log entries} from running each path the metrics watch, plus the
    ordinary lines around them that no failure metric may count."""
    from shared import errors

    out: dict[str, list[dict]] = {}
    upload_main = _upload_main()

    # An upload whose file the ingest cannot use: marked failed for the user.
    _, headers = make_user()
    uploads = function_client("upload", "upload_http")
    data = b"product,region\nA,EU\n"
    created = uploads.post("/api/uploads", headers=headers, json={
        "filename": "sales.csv", "size_bytes": len(data), "content_type": "text/csv",
        "dataset": "Sales"}).get_json()["upload"]
    info = deps.blobs.put(created["bucket"], created["object_name"], data,
                          content_type="text/csv")
    lines.clear()
    finalize_and_ingest(upload_main, _event(info.bucket, info.name, info.generation, info.size))
    out["upload_failed"] = entries(lines, "ingest")

    # An ingest that ends for good on a non-retryable error.
    def refuse(*args, **kwargs):
        raise errors.Forbidden("permission bigquery.datasets.create denied",
                               code="permission_denied")
    monkeypatch.setattr("shared.uploads.events.ingest_object", refuse)
    lines.clear()
    finalize_and_ingest(upload_main, _event(info.bucket, info.name, info.generation, info.size))
    out["ingest_failed_permanently"] = entries(lines, "ingest")

    # A 5xx from an HTTP function, and a 200 beside it.
    auth = function_client("auth", "auth_http")

    def crash(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr("shared.auth.service.jwks", crash)
    lines.clear()
    assert auth.get("/api/auth/jwks.json").status_code == 500
    out["http_5xx"] = entries(lines, "auth")
    lines.clear()
    assert auth.get("/api/auth/health").status_code == 200
    out["http_ok"] = entries(lines, "auth")

    # A task its handler ends for good (answered 2xx, so the queue drops it).
    import flask

    from shared.web import task_handler
    monkeypatch.setattr(task_handler, "verify_caller", lambda request, deps: None)

    def bad_payload(payload):
        raise errors.InvalidInput("dataset is gone", code="dataset_missing")
    lines.clear()
    with flask.Flask("task").test_request_context("/", method="POST", json={"x": 1}):
        resp = task_handler.run_task("metrics", flask.request, bad_payload)
    assert resp.status_code == 200
    out["tasks_failed_permanently"] = entries(lines, "metrics-task")
    return out


# Which scenario each metric exists to count.
COUNTS = {"ingest_failed_permanently": "ingest_failed_permanently",
          "uploads_failed": "upload_failed",
          "http_5xx": "http_5xx",
          "tasks_failed_permanently": "tasks_failed_permanently"}


def test_every_log_based_metric_is_exercised_here():
    assert set(METRICS) == set(COUNTS)


def test_each_metric_counts_its_failure_and_nothing_else_we_log(scenarios):
    for key, body in METRICS.items():
        flt = resolve(body["filter"])
        for scenario, logged in scenarios.items():
            hits = [e for e in logged if lf.matches(flt, e)]
            if scenario == COUNTS[key]:
                assert len(hits) == 1, (key, [e["jsonPayload"] for e in logged])
            else:
                assert hits == [], (key, scenario, [e["jsonPayload"] for e in hits])


def test_label_extractors_find_their_field_in_the_counted_line(scenarios):
    for key, body in METRICS.items():
        labels = {lab["key"] for d in body["metric_descriptor"] for lab in d.get("labels", [])}
        extractors = body.get("label_extractors", {})
        assert set(extractors) == labels, key
        [hit] = [e for e in scenarios[COUNTS[key]] if lf.matches(resolve(body["filter"]), e)]
        for label, extractor in extractors.items():
            assert lf.extract(extractor, hit) not in (None, ""), (key, label)


def test_metrics_only_count_this_environments_functions(scenarios):
    for key, body in METRICS.items():
        [hit] = [e for e in scenarios[COUNTS[key]] if lf.matches(resolve(body["filter"]), e)]
        elsewhere = {**hit, "resource": {"type": "cloud_run_revision",
                                         "labels": {"service_name": "someone-else"}}}
        assert not lf.matches(resolve(body["filter"]), elsewhere), key


# --- alerts ------------------------------------------------------------------------------

def _conditions(policy: dict) -> list[dict]:
    found = list(policy.get("conditions", []))
    for dyn in policy.get("dynamic", []):
        found += [c for body in dyn.get("conditions", {}).get("content", []) for c in [body]]
    return [t for c in found for t in c["condition_threshold"]]


def _metric_type(flt: str) -> str:
    m = re.search(r'metric\.type="([^"]+)"', flt)
    assert m, flt
    return m.group(1)


def test_every_alert_watches_a_declared_or_documented_metric():
    for name, policy in ALERTS.items():
        conditions = _conditions(policy)
        assert conditions, name
        for cond in conditions:
            mtype = _metric_type(cond["filter"])
            ref = re.fullmatch(r"logging\.googleapis\.com/user/\$\{google_logging_metric\.(\w+)"
                               r"\.name\}", mtype)
            if ref:
                assert ref.group(1) in METRICS, (name, mtype)
                declared = {f"metric.label.{lab['key']}" for d in
                            METRICS[ref.group(1)]["metric_descriptor"]
                            for lab in d.get("labels", [])}
                for by in cond["aggregations"][0].get("group_by_fields", []):
                    assert by in declared, (name, by)
            else:
                assert mtype in BUILT_IN, (name, mtype)


def test_every_log_based_metric_has_an_alert():
    watched = {m for p in ALERTS.values() for c in _conditions(p)
               for m in re.findall(r"google_logging_metric\.(\w+)\.name", c["filter"])}
    assert watched == set(METRICS)


def test_every_alert_notifies_the_email_channels():
    channels = CFG.of_type("google_monitoring_notification_channel")
    assert channels["email"]["type"] == "email"
    assert CFG.locals["alert_channels"] == \
        "${[for c in google_monitoring_notification_channel.email : c.id]}"
    for name, policy in ALERTS.items():
        assert policy["notification_channels"] == "${local.alert_channels}", name


def test_every_alert_points_at_its_runbook_entry():
    runbook = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = runbook.split("## Monitoring and alerts", 1)[1].split("\n## ", 1)[0]
    headings = set(re.findall(r"^### (.+)$", section, flags=re.M))
    for name, policy in ALERTS.items():
        content = policy["documentation"][0]["content"]
        entry = content.rsplit('"Monitoring and alerts": ', 1)[1].rstrip(".")
        assert entry in headings, (name, entry, headings)


# --- dashboard -----------------------------------------------------------------------------

def _rendered_dashboard() -> dict:
    body = CFG.of_type("google_monitoring_dashboard")["operations"]
    call = body["dashboard_json"]
    path = re.search(r'templatefile\("\$\{path\.module\}/([^"]+)"', call).group(1)
    template = (TERRAFORM / path).read_text(encoding="utf-8")
    given = dict(re.findall(r"(\w+)\s*=\s*([\w.]+)", call.split("{", 1)[1]))
    used = set(re.findall(r"\$\{(\w+)\}", template))
    assert used == set(given), (used, given)
    values = {"environment": "test", "prefix": PREFIX}
    for var, expr in given.items():
        ref = re.fullmatch(r"google_logging_metric\.(\w+)\.name", expr)
        if ref:
            assert ref.group(1) in METRICS, expr
            values[var] = metric_name(ref.group(1))
    return json.loads(re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template))


def _filters(node) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "filter"] + \
            [f for v in node.values() for f in _filters(v)]
    if isinstance(node, list):
        return [f for v in node for f in _filters(v)]
    return []


def test_dashboard_is_valid_json_over_declared_metrics():
    dashboard = _rendered_dashboard()
    tiles = dashboard["mosaicLayout"]["tiles"]
    assert tiles and all(t["xPos"] + t["width"] <= dashboard["mosaicLayout"]["columns"]
                         for t in tiles)
    logged = {f"logging.googleapis.com/user/{metric_name(k)}" for k in METRICS}
    shown = {_metric_type(f) for f in _filters(dashboard)}
    assert shown <= logged | BUILT_IN, shown - logged - BUILT_IN
    assert logged <= shown, logged - shown


# --- uptime --------------------------------------------------------------------------------

def test_uptime_checks_hit_health_routes_that_hosting_serves(function_client):
    check = CFG.of_type("google_monitoring_uptime_check_config")["health"]
    assert check["monitored_resource"][0]["labels"]["host"] == "${local.hosting_site_id}.web.app"
    expected = check["content_matchers"][0]["content"]
    rewrites = json.loads((ROOT / "frontend" / "firebase.json").read_text())["hosting"]
    rewrites = rewrites[0] if isinstance(rewrites, list) else rewrites
    paths = CFG.variables["uptime_check_paths"]["default"]
    assert len(paths) == len({r["function"]["functionId"] for r in rewrites["rewrites"]
                              if "function" in r})
    for path in paths:
        rule = next(r for r in rewrites["rewrites"] if fnmatch.fnmatch(path, r["source"]))
        assert "function" in rule, path
        function = rule["function"]["functionId"].rsplit("-", 1)[1]
        resp = function_client(function, f"{function}_http").get(path)
        assert resp.status_code == 200, path
        assert expected in resp.get_data(as_text=True), (path, expected)
