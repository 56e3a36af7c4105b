"""cloudbuild.yaml: test -> package -> terraform init/plan/apply -> hosting deploy,
parameterised by substitutions, with no secrets in the file."""

from __future__ import annotations

import re

import pytest

from tests.infra.terraform_config import ROOT

yaml = pytest.importorskip("yaml")

TEXT = (ROOT / "cloudbuild.yaml").read_text(encoding="utf-8")
BUILD = yaml.safe_load(TEXT)
STEPS = BUILD["steps"]
BY_ID = {s["id"]: s for s in STEPS}


def _script(step: dict) -> str:
    return " ".join(str(a) for a in step.get("args", []))


def _index(step_id: str) -> int:
    return [s["id"] for s in STEPS].index(step_id)


def test_steps_run_in_deployment_order():
    order = ["install-and-test", "package-functions", "terraform-init", "terraform-plan",
             "terraform-apply", "hosting-deploy"]
    assert [_index(s) for s in order] == sorted(_index(s) for s in order)
    assert len(BY_ID) == len(STEPS), "step ids must be unique"


def test_tests_run_before_anything_is_built_or_deployed():
    script = _script(BY_ID["install-and-test"])
    assert "pip install" in script and "pytest" in script and "ruff check" in script


def test_packaging_uses_the_script_and_pins_tested_versions():
    script = _script(BY_ID["package-functions"])
    assert "scripts/package_functions.py" in script and "--lock" in script


def test_terraform_uses_the_state_bucket_and_applies_the_reviewed_plan():
    init = BY_ID["terraform-init"]["args"]
    assert "-backend-config=bucket=${_TF_STATE_BUCKET}" in init
    assert any(a.startswith("-backend-config=prefix=") and "${_ENVIRONMENT}" in a for a in init)
    plan = BY_ID["terraform-plan"]["args"]
    assert plan[0] == "plan" and "-out=tfplan" in plan
    for var in ("project_id=${PROJECT_ID}", "region=${_REGION}",
                "environment=${_ENVIRONMENT}"):
        assert f"-var={var}" in plan
    apply = BY_ID["terraform-apply"]["args"]
    assert apply[0] == "apply" and apply[-1] == "tfplan"
    for step_id in ("terraform-init", "terraform-plan", "terraform-apply"):
        assert BY_ID[step_id]["dir"] == "terraform"
        assert BY_ID[step_id]["name"].startswith("hashicorp/terraform:")


def test_hosting_deploy_targets_the_provisioned_site():
    config = _script(BY_ID["hosting-config"])
    assert "hosting_site_id" in config and "hosting_rewrites" in config
    assert _index("terraform-outputs") < _index("hosting-config") < _index("hosting-deploy")
    deploy = _script(BY_ID["hosting-deploy"])
    assert "firebase-tools" in deploy and "--only hosting" in deploy
    assert BY_ID["hosting-deploy"]["dir"] == "frontend"


def test_substitutions_are_declared_and_used():
    declared = set(BUILD["substitutions"])
    used = set(re.findall(r"\$\{(_[A-Z0-9_]+)\}", TEXT))
    assert {"_ENVIRONMENT", "_REGION", "_TF_STATE_BUCKET"} <= declared
    assert used == declared
    assert BUILD["options"]["substitutionOption"] == "MUST_MATCH"


def test_no_unescaped_shell_variables():
    # Cloud Build substitutes $NAME itself: a shell variable must be written $$NAME.
    builtin = {"PROJECT_ID", "BUILD_ID", "PROJECT_NUMBER", "LOCATION", "COMMIT_SHA",
               "SHORT_SHA", "BRANCH_NAME", "TAG_NAME", "REPO_NAME"}
    for name in re.findall(r"(?<!\$)\$\{?([A-Za-z][A-Za-z0-9_]*)", TEXT):
        assert name in builtin, f"${name} is neither a builtin nor a substitution"


def test_no_secrets_in_the_build_file():
    lowered = TEXT.lower()
    assert "private key" not in lowered and "begin " not in lowered
    assert not re.search(r"(password|secret|token|api[_-]?key)\s*[:=]\s*\S", lowered)
    assert not re.search(r"AIza[0-9A-Za-z_-]{20,}", TEXT)


def _run_hosting_config(tmp_path, firebase: dict) -> dict:
    import json
    import subprocess
    import sys

    code = BY_ID["hosting-config"]["args"][1]
    outputs = tmp_path / "tf-outputs.json"
    code = code.replace("/workspace/tf-outputs.json", str(outputs))
    rewrites = [{"source": f"/api/{p}/**",
                 "function": {"functionId": f"tidemark-prod-{f}", "region": "europe-west1"}}
                for p, f in (("auth", "auth"), ("uploads", "upload"), ("metrics", "metrics"),
                             ("predictions", "predict"))]
    outputs.write_text(json.dumps({"hosting_site_id": {"value": "acme-prod"},
                                   "hosting_rewrites": {"value": rewrites}}))
    (tmp_path / "frontend").mkdir()
    (tmp_path / "frontend" / "firebase.json").write_text(json.dumps(firebase))
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True,
                   capture_output=True, timeout=60)
    return json.loads((tmp_path / "frontend" / "firebase.json").read_text())


def test_hosting_config_points_every_api_rule_at_this_environment(tmp_path):
    firebase = {"hosting": {"public": "dist", "rewrites": [
        {"source": "/api/uploads/**",
         "function": {"functionId": "tidemark-dev-upload", "region": "europe-west1"}},
        {"source": "/api/uploads",
         "function": {"functionId": "tidemark-dev-upload", "region": "europe-west1"}},
        {"source": "**", "destination": "/index.html"}]}}
    hosting = _run_hosting_config(tmp_path, firebase)["hosting"]
    assert hosting["site"] == "acme-prod"
    rules = hosting["rewrites"]
    ids = {r["source"]: r.get("function", {}).get("functionId") for r in rules}
    assert ids["/api/uploads"] == ids["/api/uploads/**"] == "tidemark-prod-upload"
    assert ids["/api/auth/**"] == "tidemark-prod-auth"
    assert ids["/api/predictions/**"] == "tidemark-prod-predict"
    # The catch-all stays last, after every API rule.
    assert rules[-1] == {"source": "**", "destination": "/index.html"}


def test_hosting_config_handles_the_real_firebase_json(tmp_path):
    import json

    path = ROOT / "frontend" / "firebase.json"
    # The hosting-deploy step deploys this file: without it there is nothing to check.
    assert path.is_file(), "frontend/firebase.json is missing"
    hosting = _run_hosting_config(tmp_path, json.loads(path.read_text()))["hosting"]
    api = [r for r in hosting["rewrites"] if r.get("source", "").startswith("/api/")]
    assert api and all(r["function"]["functionId"].startswith("tidemark-prod-") for r in api)
