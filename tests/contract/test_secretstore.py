"""SecretStore contract: known secrets exist, versions rotate, unknown ones are NotFound."""

from __future__ import annotations

import uuid

import pytest

from shared import errors
from shared.ports import SecretStore
from tests.contract import backends


@pytest.fixture(params=["local", "gcp"])
def secrets(request) -> SecretStore:
    return backends.make("secretstore", request)


@pytest.mark.parametrize("name", ["task-secret", "blob-signing-key"])
def test_known_secret_is_generated_once_and_stable(secrets, name):
    first = secrets.get(name)
    assert isinstance(first, bytes)
    assert len(first) >= 32
    assert secrets.get(name) == first
    assert secrets.get(name, "latest") == first


def test_add_version_becomes_latest_and_old_versions_stay_readable(secrets):
    name = f"contract-{uuid.uuid4().hex[:10]}"
    v1 = secrets.add_version(name, b"one")
    v2 = secrets.add_version(name, b"two")
    assert isinstance(v1, str) and isinstance(v2, str) and v1 != v2
    assert secrets.get(name) == b"two"
    assert secrets.get(name, v2) == b"two"
    assert secrets.get(name, v1) == b"one"


def test_unknown_secret_is_not_found(secrets):
    with pytest.raises(errors.NotFound):
        secrets.get(f"no-such-secret-{uuid.uuid4().hex[:8]}")


def test_unknown_version_is_not_found(secrets):
    name = f"contract-{uuid.uuid4().hex[:10]}"
    secrets.add_version(name, b"only")
    with pytest.raises(errors.NotFound):
        secrets.get(name, "999")
