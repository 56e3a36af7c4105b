"""SecretManagerStore against an in-process fake of SecretManagerServiceClient.

Secret Manager has no emulator, so these tests use tests.support.emulators.FakeSecretManagerClient,
which speaks the client's request shapes, response types and exceptions. They guard
the adapter's own behaviour: name mapping, the short cache, checksums, rotation.
"""

from __future__ import annotations

import pytest

from shared import errors
from shared.adapters.gcp.secret_manager import SecretManagerStore
from tests.support.emulators import PROJECT, FakeSecretManagerClient


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake() -> FakeSecretManagerClient:
    client = FakeSecretManagerClient(PROJECT)
    client.seed("tm-task-secret", b"s3cret-v1")
    return client


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(fake, clock) -> SecretManagerStore:
    return SecretManagerStore(PROJECT, prefix="tm", client=fake, cache_ttl_s=60, clock=clock)


def accesses(fake) -> list[str]:
    return [name for method, name in fake.calls if method == "access_secret_version"]


def test_names_map_to_prefixed_secret_ids(store, fake):
    assert store.get("task-secret") == b"s3cret-v1"
    assert accesses(fake) == [f"projects/{PROJECT}/secrets/tm-task-secret/versions/latest"]


def test_latest_is_cached_for_the_ttl_then_read_again(store, fake, clock):
    store.get("task-secret")
    store.get("task-secret")
    assert len(accesses(fake)) == 1
    fake.seed("tm-task-secret", b"rotated-elsewhere")  # another instance rotated it
    clock.now += 59
    assert store.get("task-secret") == b"s3cret-v1"
    clock.now += 2
    assert store.get("task-secret") == b"rotated-elsewhere"
    assert len(accesses(fake)) == 2


def test_numbered_versions_are_cached_for_good(store, fake, clock):
    assert store.get("task-secret", "1") == b"s3cret-v1"
    clock.now += 10_000
    assert store.get("task-secret", "1") == b"s3cret-v1"
    assert len(accesses(fake)) == 1


def test_add_version_returns_its_id_and_becomes_latest_at_once(store, fake):
    assert store.get("task-secret") == b"s3cret-v1"
    version = store.add_version("task-secret", b"v2")
    assert version == "2"
    assert store.get("task-secret") == b"v2"  # this instance's cache was refreshed
    assert store.get("task-secret", "1") == b"s3cret-v1"


def test_add_version_creates_a_missing_secret(store, fake):
    assert store.add_version("fresh", b"first") == "1"
    assert ("create_secret", f"projects/{PROJECT}/secrets/tm-fresh") in fake.calls
    assert store.get("fresh") == b"first"


def test_missing_secret_and_version_are_not_found(store):
    with pytest.raises(errors.NotFound):
        store.get("nope")
    with pytest.raises(errors.NotFound):
        store.get("task-secret", "7")
    with pytest.raises(errors.NotFound):
        store.get("task-secret", "not-a-version")


def test_invalid_names_are_rejected_before_any_call(store, fake):
    with pytest.raises(errors.InvalidInput):
        store.get("../other-project")
    assert fake.calls == []


def test_a_corrupted_payload_is_not_returned(store, fake):
    import google_crc32c
    from google.cloud import secretmanager

    real = fake.access_secret_version

    def corrupted(request=None, **kw):
        resp = real(request, **kw)
        good = resp.payload.data
        return secretmanager.AccessSecretVersionResponse(
            name=resp.name, payload=secretmanager.SecretPayload(
                data=good + b"!", data_crc32c=int(google_crc32c.value(good))))

    fake.access_secret_version = corrupted
    with pytest.raises(errors.Unavailable):
        store.get("task-secret")


def test_transient_service_errors_become_unavailable(store, fake):
    from google.api_core.exceptions import ServiceUnavailable

    def down(request=None, **kw):
        raise ServiceUnavailable("try later")

    fake.access_secret_version = down
    with pytest.raises(errors.Unavailable):
        store.get("task-secret")
