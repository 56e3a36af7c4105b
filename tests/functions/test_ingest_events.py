"""The ingest event handler's bounds (shared/uploads/events.py): an event retried past
`ingest_event_max_age_s` is acknowledged and its upload marked failed with a readable
reason; a run that raises part-way leaves no staged file behind."""

from __future__ import annotations

import importlib.util
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from shared import errors
from tests.support.ingest_tasks import finalize_and_ingest

ROOT = Path(__file__).resolve().parents[2]
SUPERSTORE = ROOT / "tests" / "data" / "superstore.csv"
FINALIZED = "google.cloud.storage.object.v1.finalized"


@pytest.fixture
def upload_main(deps):
    spec = importlib.util.spec_from_file_location("upload_main_events_under_test",
                                                  ROOT / "functions" / "upload" / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def uploaded(function_client, make_user, deps, data: bytes) -> tuple[dict, dict, dict]:
    """A created upload whose object is in the bucket: (principal, upload, event data)."""
    principal, headers = make_user("analyst")
    resp = function_client("upload", "upload_http").post("/api/uploads", headers=headers, json={
        "filename": "sales.csv", "size_bytes": len(data), "content_type": "text/csv",
        "dataset": "Sales"})
    assert resp.status_code == 201, resp.get_json()
    up = resp.get_json()["upload"]
    info = deps.blobs.put(up["bucket"], up["object_name"], data, content_type="text/csv")
    return principal, up, {"bucket": info.bucket, "name": info.name,
                           "generation": info.generation, "size": str(info.size)}


def event(data: dict, time: datetime) -> CloudEvent:
    return CloudEvent({"type": FINALIZED, "time": time.isoformat(),
                       "source": f"//storage.googleapis.com/projects/_/buckets/{data['bucket']}"},
                      data)


def record(deps, principal, up) -> dict:
    return deps.docs.get(f"tenants/{principal['tenant_id']}/uploads", up["id"]).data


def test_an_event_past_the_retry_bound_fails_the_upload_without_running(
        function_client, make_user, deps, upload_main):
    principal, up, data = uploaded(function_client, make_user, deps,
                                   SUPERSTORE.read_bytes()[:20_000])
    old = datetime.now(UTC) - timedelta(seconds=deps.settings.ingest_event_max_age_s + 60)
    upload_main.ingest_finalized(event(data, old))  # returns: acknowledged, no retry
    rec = record(deps, principal, up)
    assert rec["status"] == "failed"
    assert rec["error"]["code"] == "ingest_expired"
    assert "upload it again" in rec["error"]["message"]
    deps.warehouse.ensure_table(deps.settings.warehouse_table)
    rows = deps.warehouse.query("SELECT count(*) AS n FROM {business_data} "
                                "WHERE tenant_id = @t", {"t": principal["tenant_id"]})
    assert rows[0]["n"] == 0


def test_a_recent_event_is_ingested(function_client, make_user, deps, upload_main):
    principal, up, data = uploaded(function_client, make_user, deps,
                                   SUPERSTORE.read_bytes()[:20_000])
    finalize_and_ingest(upload_main, event(data, datetime.now(UTC) - timedelta(minutes=5)))
    assert record(deps, principal, up)["status"] == "loaded"


def test_an_expired_event_leaves_a_loaded_upload_alone(function_client, make_user, deps,
                                                       upload_main):
    principal, up, data = uploaded(function_client, make_user, deps,
                                   SUPERSTORE.read_bytes()[:20_000])
    finalize_and_ingest(upload_main, event(data, datetime.now(UTC)))
    old = datetime.now(UTC) - timedelta(days=1)
    upload_main.ingest_finalized(event(data, old))
    assert record(deps, principal, up)["status"] == "loaded"


class _BreaksPartWay(io.RawIOBase):
    """The object's bytes, then a transient read error once `after` bytes are read."""

    def __init__(self, data: bytes, after: int) -> None:
        self._data, self._after, self._pos = data, after, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if self._pos >= self._after:
            raise errors.Unavailable("connection reset while reading the object")
        n = min(len(buf), self._after - self._pos)
        buf[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


def test_a_staging_that_raises_part_way_leaves_no_staged_file(
        function_client, make_user, deps, upload_main):
    from shared.uploads.job import staging_dir

    body = SUPERSTORE.read_bytes()
    principal, up, data = uploaded(function_client, make_user, deps, body)
    real_open = deps.blobs.open
    breaks_at = len(body) * 3 // 4

    def open_breaking(bucket, name, *, generation=None):
        real_open(bucket, name, generation=generation).close()
        return io.BufferedReader(_BreaksPartWay(body, breaks_at))

    deps.blobs.open = open_breaking
    with pytest.raises(errors.Unavailable):
        finalize_and_ingest(upload_main, event(data, datetime.now(UTC)))
    staged = list(staging_dir(deps).glob(f"{up['id']}-*"))
    assert staged == []
    assert record(deps, principal, up)["status"] != "loaded"


def test_files_left_by_a_run_cut_short_are_removed_by_the_next_run(
        function_client, make_user, deps, upload_main):
    import os
    import time

    from shared.uploads.job import staging_dir

    workdir = staging_dir(deps)
    workdir.mkdir(parents=True, exist_ok=True)
    # What a run killed at the function's timeout leaves: no code of its ran to clean up.
    stale = workdir / "up_0123456789abcdef0123456789abcdef-1700000000000000.parquet"
    stale.write_bytes(b"PAR1 partial")
    long_ago = time.time() - deps.settings.ingest_lease_s - 60
    os.utime(stale, (long_ago, long_ago))
    live = workdir / "up_fedcba9876543210fedcba9876543210-1700000000000001.parquet"
    live.write_bytes(b"PAR1 a run in progress")

    principal, up, data = uploaded(function_client, make_user, deps,
                                   SUPERSTORE.read_bytes()[:20_000])
    finalize_and_ingest(upload_main, event(data, datetime.now(UTC)))
    assert record(deps, principal, up)["status"] == "loaded"
    assert not stale.exists()
    assert live.exists()  # younger than the lease: it may belong to a live run


def test_only_uploads_land_in_the_uploads_bucket(function_client, make_user, deps,
                                                 upload_main):
    """Every object finalized in the uploads bucket triggers the ingest on GCP: the
    quarantined rows of a file with bad rows, and of one that fails whole, go to the
    rejected bucket, and the rejected-rows download still finds them."""
    _, headers = make_user("analyst")
    client = function_client("upload", "upload_http")
    lines = [f"2024-01-{d:02d},P{d},{d}" for d in range(1, 20)] + ["2024-01-20,P20,oops"]
    some_bad = ("date,product,amount\n" + "\n".join(lines) + "\n").encode()
    too_bad = ("date,product,amount\n" + "\n".join(
        f"2024-01-{d:02d},P{d},{d if d % 2 else 'oops'}" for d in range(1, 21))
        + "\n").encode()
    ids = []
    for data in (some_bad, too_bad):
        resp = client.post("/api/uploads", headers=headers, json={
            "filename": "sales.csv", "size_bytes": len(data), "content_type": "text/csv",
            "dataset": "Sales"})
        up = resp.get_json()["upload"]
        info = deps.blobs.put(up["bucket"], up["object_name"], data, content_type="text/csv")
        finalize_and_ingest(upload_main, event({"bucket": info.bucket, "name": info.name,
                                            "generation": info.generation,
                                            "size": str(info.size)}, datetime.now(UTC)))
        ids.append(up["id"])
        got = client.get(f"/api/uploads/{up['id']}/rejected", headers=headers)
        assert got.status_code == 200, got.get_json()
        assert "oops" in got.data.decode()

    in_uploads = [b.name for b in deps.blobs.list(deps.settings.uploads_bucket)]
    assert in_uploads and all(n.startswith("uploads/") for n in in_uploads), in_uploads
    in_rejected = {b.name.rsplit("/", 1)[-1]
                   for b in deps.blobs.list(deps.settings.rejected_bucket)}
    assert in_rejected == {f"{i}.csv" for i in ids}
    # Deleting the upload removes its quarantined rows from the rejected bucket too.
    assert client.delete(f"/api/uploads/{ids[0]}", headers=headers).status_code == 200
    assert len(list(deps.blobs.list(deps.settings.rejected_bucket))) == 1
