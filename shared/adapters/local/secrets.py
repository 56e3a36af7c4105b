"""Secrets as files under the data directory, generated on first use.

Each secret is a folder of numbered versions (`<name>/1`, `<name>/2`, ...); `latest`
is the highest. Files are created 0600 and written atomically.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from shared import errors
from shared.ports import SecretStore


def _generate(name: str) -> bytes | None:
    if name in ("blob-signing-key",):
        return secrets.token_bytes(32)
    if name == "task-secret":
        return secrets.token_urlsafe(32).encode()
    if name == "jwt-signing-keys":
        from shared.auth.keys import new_keyset

        return new_keyset()
    return None


class FileSecretStore(SecretStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def _dir(self, name: str) -> Path:
        if not name or any(c in name for c in "/\\.") or len(name) > 128:
            raise errors.InvalidInput(f"invalid secret name {name!r}")
        return self.root / name

    def _versions(self, d: Path) -> list[int]:
        if not d.is_dir():
            return []
        return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit())

    def get(self, name: str, version: str = "latest") -> bytes:
        if name == "jwt-public-keys":
            from shared.auth.keys import public_jwks

            return public_jwks(self.get("jwt-signing-keys"))
        d = self._dir(name)
        with self._lock:
            versions = self._versions(d)
            if not versions:
                value = _generate(name)
                if value is None:
                    raise errors.NotFound(f"secret {name!r} does not exist")
                self._write(d, 1, value)
                versions = [1]
        num = versions[-1] if version == "latest" else int(version) if version.isdigit() else -1
        path = d / str(num)
        if num not in versions:
            raise errors.NotFound(f"secret {name!r} has no version {version!r}")
        return path.read_bytes()

    def add_version(self, name: str, value: bytes) -> str:
        d = self._dir(name)
        with self._lock:
            versions = self._versions(d)
            num = (versions[-1] if versions else 0) + 1
            self._write(d, num, value)
        return str(num)

    @staticmethod
    def _write(d: Path, num: int, value: bytes) -> None:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = d / f".{num}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(value)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, d / str(num))
