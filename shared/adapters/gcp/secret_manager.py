"""SecretStore on Secret Manager (google-cloud-secret-manager, imported on first use).

Secret `name` lives in the project as `{prefix}-{name}` (e.g. `tidemark-task-secret`).
Reads are cached in memory for a short time: a function instance reads each secret
once per `cache_ttl_s` instead of once per request, and a rotation (a new `latest`)
reaches every instance within that time. Numbered versions never change, so they are
cached for the instance's lifetime. Payloads are checked against their CRC32C.

Unlike the local store, nothing is generated here: the secrets are created by
terraform (and their first versions by the deploy), so a missing one is NotFound.
`add_version` creates the secret (automatic replication) if it does not exist yet.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from typing import Any

from shared import errors
from shared.adapters.gcp._errors import translated
from shared.adapters.gcp._lazy import LazyClient
from shared.ports import SecretStore

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_VERSION = re.compile(r"^(latest|[1-9][0-9]{0,18})$")


def _crc32c(data: bytes) -> int:
    import google_crc32c

    return int(google_crc32c.value(data))


class SecretManagerStore(SecretStore):
    def __init__(self, project: str, prefix: str = "tidemark", *, client: Any = None,
                 cache_ttl_s: float = 60.0, clock=time.monotonic) -> None:
        """`client` (a SecretManagerServiceClient, or a fake of its interface) is
        injectable for tests."""
        if not project:
            raise errors.AppError("Secret Manager needs a project (TIDEMARK_GCP_PROJECT)",
                                  code="misconfigured")
        self.project = project
        self.prefix = prefix
        self.cache_ttl_s = cache_ttl_s

        def build() -> Any:
            from google.cloud import secretmanager

            from shared.adapters.gcp._emulators import secret_manager_options

            return secretmanager.SecretManagerServiceClient(**secret_manager_options())

        self._client = LazyClient(build, client)
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, bytes]] = {}

    @property
    def client(self) -> Any:
        return self._client.get()

    def secret_id(self, name: str) -> str:
        if not isinstance(name, str) or not _NAME.match(name):
            raise errors.InvalidInput(f"invalid secret name {name!r}")
        return f"{self.prefix}-{name}" if self.prefix else name

    def _secret_path(self, name: str) -> str:
        return f"projects/{self.project}/secrets/{self.secret_id(name)}"

    def get(self, name: str, version: str = "latest") -> bytes:
        version = str(version)
        if not _VERSION.match(version):
            raise errors.NotFound(f"secret {name!r} has no version {version!r}")
        path = f"{self._secret_path(name)}/versions/{version}"
        key = (name, version)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and (version != "latest" or now - hit[0] < self.cache_ttl_s):
            return hit[1]
        with translated(f"read secret {name!r} version {version!r}"):
            response = self.client.access_secret_version(request={"name": path})
        data = bytes(response.payload.data)
        expected = response.payload.data_crc32c
        if expected is not None and expected != 0 and _crc32c(data) != int(expected):
            raise errors.Unavailable(f"secret {name!r}: payload failed its checksum")
        with self._lock:
            self._cache[key] = (now, data)
        return data

    def add_version(self, name: str, value: bytes) -> str:
        from google.api_core.exceptions import AlreadyExists, NotFound

        parent = self._secret_path(name)
        payload = {"data": bytes(value), "data_crc32c": _crc32c(bytes(value))}
        with translated(f"add a version to secret {name!r}"):
            try:
                version = self.client.add_secret_version(
                    request={"parent": parent, "payload": payload})
            except NotFound:
                # AlreadyExists: created meanwhile by another instance.
                with contextlib.suppress(AlreadyExists):
                    self.client.create_secret(request={
                        "parent": f"projects/{self.project}",
                        "secret_id": self.secret_id(name),
                        "secret": {"replication": {"automatic": {}}}})
                version = self.client.add_secret_version(
                    request={"parent": parent, "payload": payload})
        version_id = str(version.name).rsplit("/", 1)[-1]
        with self._lock:
            self._cache.pop((name, "latest"), None)
            self._cache[(name, version_id)] = (self._clock(), bytes(value))
        return version_id
