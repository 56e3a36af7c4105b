"""A stand-in for the Secret Manager API, served over HTTP on 127.0.0.1.

Google ships no Secret Manager emulator. The in-process FakeSecretManagerClient
(tests/emulators.py) replaces the client object, which a separate process (the `tidemark`
command line, a function started by functions-framework) cannot be handed. This
server speaks the part of Secret Manager's REST API (v1) that the adapter calls, so the
official client reaches it unchanged through its REST transport, the way the Google
clients reach their emulators: the adapter points at it when SECRET_MANAGER_EMULATOR_HOST
is set (shared/adapters/gcp/secret_manager.py).

What it holds to, from the API reference
(https://cloud.google.com/secret-manager/docs/reference/rest/v1/projects.secrets):
secrets are created explicitly (`secrets.create`, ALREADY_EXISTS when taken) and start
with no version; `addVersion` numbers versions from 1 per secret, checks
`payload.dataCrc32c` when given (INVALID_ARGUMENT on a mismatch); `versions/latest`
is the most recently created version; accessing a missing secret, a missing version or
`latest` of a secret with none is NOT_FOUND. Errors use Google's JSON error body, so
google-api-core raises NotFound / AlreadyExists / InvalidArgument as it does on GCP.
IAM is not modelled.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_SECRETS = re.compile(r"^/v1/(projects/[^/]+)/secrets$")
_ADD = re.compile(r"^/v1/(projects/[^/]+/secrets/[^/:]+):addVersion$")
_ACCESS = re.compile(r"^/v1/(projects/[^/]+/secrets/[^/]+)/versions/([^/:]+):access$")
_STATUS = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 409: "ALREADY_EXISTS"}


class _Answer(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


class SecretManagerStandIn:
    """The server and its state. `secrets` maps a secret's resource name to its
    versions' payloads (version n is secrets[name][n - 1]); `calls` records
    (method, resource name) of every request, in order."""

    def __init__(self) -> None:
        self.secrets: dict[str, list[bytes]] = {}
        self.calls: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        """host:port, the value for SECRET_MANAGER_EMULATOR_HOST."""
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> SecretManagerStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def create(self, project: str, secret_id: str) -> str:
        """An empty secret, as terraform's google_secret_manager_secret creates it."""
        return self._create(f"projects/{project}", secret_id)["name"]

    def versions(self, project: str, secret_id: str) -> list[bytes]:
        with self._lock:
            return list(self.secrets.get(f"projects/{project}/secrets/{secret_id}", []))

    # ------------------------------------------------------------------ the API

    def _create(self, parent: str, secret_id: str) -> dict[str, Any]:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", secret_id or ""):
            raise _Answer(400, f"Invalid secret id [{secret_id}].")
        name = f"{parent}/secrets/{secret_id}"
        with self._lock:
            self.calls.append(("CreateSecret", name))
            if name in self.secrets:
                raise _Answer(409, f"Secret [{name}] already exists.")
            self.secrets[name] = []
        return {"name": name, "replication": {"automatic": {}}}

    def _add_version(self, secret: str, body: dict[str, Any]) -> dict[str, Any]:
        payload = body.get("payload") or {}
        data = base64.b64decode(payload.get("data", ""))
        crc = payload.get("dataCrc32c")
        if crc is not None and int(crc) != _crc32c(data):
            raise _Answer(400, "Checksum mismatch.")
        with self._lock:
            self.calls.append(("AddSecretVersion", secret))
            if secret not in self.secrets:
                raise _Answer(404, f"Secret [{secret}] not found.")
            self.secrets[secret].append(data)
            number = len(self.secrets[secret])
        return {"name": f"{secret}/versions/{number}", "state": "ENABLED"}

    def _access(self, secret: str, version: str) -> dict[str, Any]:
        with self._lock:
            self.calls.append(("AccessSecretVersion", f"{secret}/versions/{version}"))
            versions = self.secrets.get(secret)
            if not versions:
                raise _Answer(404, f"Secret [{secret}] not found or has no versions.")
            number = len(versions) if version == "latest" else (
                int(version) if version.isdigit() else 0)
            if not 1 <= number <= len(versions):
                raise _Answer(404, f"Secret Version [{secret}/versions/{version}] not found.")
            data = versions[number - 1]
        return {"name": f"{secret}/versions/{number}",
                "payload": {"data": base64.b64encode(data).decode(),
                            "dataCrc32c": str(_crc32c(data))}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet test output
                pass

            def _body(self) -> dict[str, Any]:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def _send(self, code: int, doc: dict[str, Any]) -> None:
                raw = json.dumps(doc).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _route(self, method: str) -> None:
                url = urlsplit(self.path)
                try:
                    if method == "POST" and (m := _SECRETS.match(url.path)):
                        self._body()
                        secret_id = parse_qs(url.query).get("secretId", [""])[0]
                        return self._send(200, standin._create(m.group(1), secret_id))
                    if method == "POST" and (m := _ADD.match(url.path)):
                        return self._send(200, standin._add_version(m.group(1), self._body()))
                    if method == "GET" and (m := _ACCESS.match(url.path)):
                        return self._send(200, standin._access(m.group(1), m.group(2)))
                    raise _Answer(404, f"{method} {url.path} is not part of the stand-in")
                except _Answer as answer:
                    self._send(answer.code, {"error": {
                        "code": answer.code, "message": answer.message,
                        "status": _STATUS.get(answer.code, "UNKNOWN")}})

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

        return Handler
