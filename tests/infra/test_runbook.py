"""The runbook runs: the first-deploy and key-rotation commands of docs/operations.md,
taken from the document itself and executed in one shell against the emulator stack
(the Firestore emulator and the Secret Manager stand-in).

What is not executed, and why:
- lines starting with `terraform` or `gcloud`: they need a Google Cloud project. What
  `terraform apply` creates that the later commands rely on (the two JWT secrets,
  empty) is created in the stand-in instead, and `terraform output` inside a command
  is answered by a shim on PATH that reads the output's definition in
  terraform/outputs.tf for the runbook's environment;
- the web app's build and Hosting deploy (`npm`, `npx firebase-tools`) and the smoke
  test's `curl` of the deployed URL: they need Firebase Hosting and a deployed API,
  which have no emulator here (the browser tests build and serve the web app).
Every other command runs as written, in order, with `set -euo pipefail`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import emulators
from tests.support.environment import ROOT
from tests.support.secret_manager_standin import SecretManagerStandIn

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

OPERATIONS = ROOT / "docs" / "operations.md"
SECTIONS = ("First deploy from an empty project", "Rotating the signing keys")
SKIPPED = ("terraform", "gcloud", "npm", "npx", "curl")


def section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/operations.md has no section '## {title}'"
    return match.group(1)


def commands(markdown: str) -> list[str]:
    """The shell commands of the section's fenced bash blocks, continuation lines
    joined, comments and blank lines dropped."""
    out: list[str] = []
    for block in re.findall(r"^[ \t]*```bash\n(.*?)^[ \t]*```", markdown, re.M | re.S):
        joined = re.sub(r"\\\n[ \t]*", " ", block)
        for line in joined.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def runnable(line: str) -> bool:
    """False for a command that needs the cloud (see the module's docstring). A line
    `cd x && npm ...` is judged by every command it chains."""
    words = [part.strip().split()[0] for part in re.split(r"&&|\|\||;", line) if part.strip()]
    return not any(w in SKIPPED for w in words)


def exported(lines: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in lines:
        if line.startswith("export "):
            for word in shlex.split(line)[1:]:
                key, _, value = word.partition("=")
                env[key] = value
    return env


def terraform_outputs(env: dict[str, str]) -> dict[str, object]:
    """The values terraform/outputs.tf gives `jwt_secrets` in the runbook's environment
    (name_prefix keeps its default), read from the definition rather than restated."""
    from tests.infra.terraform_config import load

    cfg = load()
    prefix = f"{cfg.variables['name_prefix']['default']}-{env['ENV']}"
    value = cfg.outputs["jwt_secrets"]["value"]
    secrets = {"signing_keys": "jwt_signing_keys", "public_keys": "jwt_public_keys"}
    out: dict[str, object] = {"secret_prefix": prefix}
    for key, resource in secrets.items():
        assert f"google_secret_manager_secret.{resource}.secret_id" in value[key]
        secret_id = cfg.resources[("google_secret_manager_secret", resource)]["secret_id"]
        out[key] = secret_id.replace("${local.prefix}", prefix)
    assert "local.prefix" in value["secret_prefix"]
    return {"jwt_secrets": out}


def terraform_shim(bin_dir: Path, outputs: dict[str, object]) -> None:
    """`terraform output -json <name>` only; anything else fails loudly."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "terraform"
    shim.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"outputs = json.loads({json.dumps(json.dumps(outputs))})\n"
        "args = [a for a in sys.argv[1:] if not a.startswith('-chdir')]\n"
        "if args[:2] != ['output', '-json'] or len(args) != 3 or args[2] not in outputs:\n"
        "    sys.exit(f'terraform shim: unsupported: {sys.argv[1:]}')\n"
        "print(json.dumps(outputs[args[2]]))\n")
    shim.chmod(0o755)


@pytest.fixture
def standin():
    server = SecretManagerStandIn().start()
    yield server
    server.stop()


def run_script(lines: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_runbook_commands_are_found_and_only_cloud_calls_are_skipped():
    text = OPERATIONS.read_text()
    first = commands(section(text, SECTIONS[0]))
    rotation = commands(section(text, SECTIONS[1]))
    assert any("tidemark keys rotate" in c for c in first)
    assert any("tidemark keys rotate" in c for c in rotation)
    assert any("scripts/package_functions.py" in c and runnable(c) for c in first)
    skipped = [c for c in first if not runnable(c)]
    assert skipped and all(c.split()[0] in (*SKIPPED, "cd") for c in skipped), skipped
    assert not runnable("cd ../frontend && npm ci && npm run build")


def test_first_deploy_and_rotation_run_against_the_emulator_stack(request, tmp_path, standin):
    from shared.adapters.gcp.secret_manager import SecretManagerStore
    from shared.auth import keys

    firestore = emulators.shared_emulator(request, "firestore")
    text = OPERATIONS.read_text()
    first = commands(section(text, SECTIONS[0]))
    rotation = commands(section(text, SECTIONS[1]))
    doc_env = exported(first)
    project = doc_env["PROJECT"]
    outputs = terraform_outputs(doc_env)
    secrets = outputs["jwt_secrets"]
    # What `terraform apply` leaves for the runbook: both secrets, with no version.
    standin.create(project, secrets["signing_keys"])
    standin.create(project, secrets["public_keys"])

    bin_dir = tmp_path / "bin"
    terraform_shim(bin_dir, outputs)
    venv_bin = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDEMARK_")}
    env.update({
        "PATH": f"{bin_dir}:{venv_bin}:{env.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        emulators_env_name(): standin.host,
        "FIRESTORE_EMULATOR_HOST": firestore.host,
    })
    # Run from the checkout, as an operator does: packaging writes build/functions/
    # (git-ignored), and `cd terraform` is relative to it.
    done = run_script([c for c in first if runnable(c)], env, ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    seeded = json.loads(done.stdout.strip().splitlines()[-1])
    assert seeded["valid_kids"] == [seeded["kid"]] and seeded["version"] == "1"
    assert len(standin.versions(project, secrets["signing_keys"])) == 1
    published = json.loads(standin.versions(project, secrets["public_keys"])[-1])
    assert [k["kid"] for k in published["keys"]] == [seeded["kid"]]
    assert "private_pem" not in json.dumps(published)

    store_env = {"SECRET_MANAGER_EMULATOR_HOST": standin.host}
    with _environ(store_env):
        token = _signed_and_verified(firestore, project, secrets["secret_prefix"])

    rotation_env = {**env, "PROJECT": project, "ENV": doc_env["ENV"]}
    rotated = run_script([c for c in rotation if runnable(c)], rotation_env, ROOT)
    assert rotated.returncode == 0, rotated.stderr[-3000:]
    result = json.loads(rotated.stdout.strip().splitlines()[-1])
    assert result["valid_kids"] == [result["kid"], seeded["kid"]]
    assert len(standin.versions(project, secrets["signing_keys"])) == 2

    with _environ(store_env):
        # The token signed before the rotation still verifies during the overlap, and
        # a new one is signed with the new key.
        fresh = _signed_and_verified(firestore, project, secrets["secret_prefix"],
                                     earlier=token)
        import jwt

        assert jwt.get_unverified_header(fresh)["kid"] == result["kid"]
        store = SecretManagerStore(project, prefix=secrets["secret_prefix"])
        assert keys.ensure_in_store(store) == result["kid"]


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _signed_and_verified(firestore, project: str, prefix: str, earlier: str | None = None
                         ) -> str:
    """Register through the auth function's entry point on the gcp adapters (users in
    the Firestore emulator, keys in the stand-in, both as the runbook left them): the
    session's access token must be signed with the published keys and accepted by
    `me`; so must `earlier`, a token signed before. Returns the new token."""
    import uuid

    from functions_framework import create_app

    from shared.adapters.gcp.firestore import FirestoreDocumentStore
    from shared.auth.tokens import clear_key_cache
    from shared.bootstrap import Deps, override
    from shared.settings import Settings

    settings = Settings(backend="gcp", gcp_project=project, secret_prefix=prefix,
                        can_sign_tokens=True)
    deps = Deps(settings, docs=FirestoreDocumentStore(
        client=emulators.firestore_client(firestore, project)))
    clear_key_cache()
    with override(deps):
        client = create_app("auth_http", str(ROOT / "functions" / "auth" / "main.py"),
                            "http").test_client()
        email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
        made = client.post("/api/auth/register", json={
            "email": email, "password": "runbook-passphrase-42", "tenant_name": "Runbook"})
        assert made.status_code == 201, made.get_data(as_text=True)
        token = made.get_json()["access_token"]
        for bearer in (token, earlier) if earlier else (token,):
            me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {bearer}"})
            assert me.status_code == 200, me.get_data(as_text=True)
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        refused = client.get("/api/auth/me", headers={"Authorization": f"Bearer {forged}"})
        assert refused.status_code == 401
    clear_key_cache()
    return token


def emulators_env_name() -> str:
    from shared.adapters.gcp._emulators import SECRET_MANAGER

    return SECRET_MANAGER
