"""Faults on the whole local stack: crashes, warehouse errors, document-store errors.

Whatever fails and wherever, once the queue has redelivered what it holds every
upload ends `loaded` or `failed` with a reason, every good row is in the warehouse
exactly once, the dataset version counts the loads, the metrics snapshot and the
default forecasts are of that version, and no task is left pending, running or dead.

- Crash trials: `tidemark serve` in a subprocess is SIGKILLed at a seeded random moment
  while uploads ingest and tasks are queued, then restarted on the same data dir
  (benchmarks/fault_bench.py; 3 trials here, the 20-trial run is the benchmark).
- Injected errors, in process: the warehouse and the document store are wrapped in a
  proxy that raises errors.Unavailable on the k-th call of the chosen methods, either
  before the call (nothing happened) or after it (it happened, the answer was lost);
  the task queue delivers to the real entry points in process and retries.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared import errors

ROOT = Path(__file__).resolve().parents[2]
TENANT = "t_faults"
DOC_WRITES = ("update", "transaction", "set", "create")


def _bench():
    name = "fault_bench"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "fault_bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------ crash trials

def _crash_trials(tmp_path: Path, seeds: Iterable[int]) -> list[Any]:
    bench = _bench()
    trials = [bench.run_trial(seed, tmp_path) for seed in seeds]
    for t in trials:
        assert not t.problems, f"seed {t.seed} (kill after {t.kill_after_s} s): {t.problems}"
    return trials


def test_kill_9_mid_ingest_then_restart_loses_and_doubles_nothing(tmp_path):
    trials = _crash_trials(tmp_path, [20261121, 20261122, 20261123])
    # The trials must have hit the server with work in flight, or they prove nothing.
    assert any(t.at_kill["tasks"].get("pending") or t.at_kill["tasks"].get("running")
               for t in trials), [t.at_kill for t in trials]
    assert sum(t.rows_loaded for t in trials) > 0


@pytest.mark.full
def test_twenty_crash_trials(tmp_path):
    _crash_trials(tmp_path, range(20261121, 20261141))


# ------------------------------------------------------------------ injected errors

class Faulty:
    """Delegates to a real port; once armed, counts the calls of `methods` (together,
    1-based) and raises errors.Unavailable on the ones in `fail_on`: before the call,
    or after it when `after` (the call took effect, its answer was lost)."""

    def __init__(self, real, methods: Iterable[str] = (), fail_on: Iterable[int] = (),
                 *, after: bool = False) -> None:
        self.real, self.methods, self.fail_on = real, set(methods), set(fail_on)
        self.after, self.armed, self.calls = after, False, 0
        self.injected: list[tuple[int, str]] = []

    def __getattr__(self, name: str):
        attr = getattr(self.real, name)
        if name not in self.methods:
            return attr

        def call(*args, **kwargs):
            if not self.armed:
                return attr(*args, **kwargs)
            self.calls += 1
            n = self.calls
            if n in self.fail_on and not self.after:
                self.injected.append((n, name))
                raise errors.Unavailable(f"injected failure of {name} (call {n})")
            result = attr(*args, **kwargs)
            if n in self.fail_on:
                self.injected.append((n, name))
                raise errors.Unavailable(f"injected lost answer of {name} (call {n})")
            return result
        return call


class StagingFaulty(Faulty):
    """Faulty for the blob store, counting only the calls on the staging bucket: the
    shards written (`put`) and deleted after the commit (`delete`)."""

    def __init__(self, *args, bucket: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bucket = bucket

    def __getattr__(self, name: str):
        call = super().__getattr__(name)
        if name not in self.methods:
            return call
        real = getattr(self.real, name)

        def staged_only(bucket, *args, **kwargs):
            if bucket != self.bucket:
                return real(bucket, *args, **kwargs)
            return call(bucket, *args, **kwargs)
        return staged_only


class World:
    """The local stack in process: real DuckDB, SQLite and files behind fault proxies,
    and a durable queue that delivers to the entry points through functions-framework."""

    def __init__(self, tmp_path: Path, *, warehouse: Faulty | None = None,
                 docs: Faulty | None = None, blobs: Faulty | None = None) -> None:
        from shared.adapters.local.duckdb_warehouse import DuckDbWarehouse
        from shared.adapters.local.secrets import FileSecretStore
        from shared.adapters.local.sqlite_docs import SqliteDocumentStore
        from shared.adapters.local.task_queue import SqliteTaskQueue
        from shared.bootstrap import Deps
        from shared.settings import Settings

        self.data_dir = tmp_path / "data"
        self.settings = Settings(backend="local", data_dir=self.data_dir, port=8080,
                                 public_url="http://127.0.0.1:8080")
        self.real_wh = DuckDbWarehouse(self.data_dir / "warehouse.duckdb")
        self.real_docs = SqliteDocumentStore(self.data_dir / "documents.sqlite")
        self.wh = warehouse or Faulty(None)
        self.docs = docs or Faulty(None)
        self.wh.real, self.docs.real = self.real_wh, self.real_docs
        secrets = FileSecretStore(self.data_dir / "secrets")
        self.queue = SqliteTaskQueue(self.data_dir / "tasks.sqlite",
                                     base_url=self.settings.base_url,
                                     secret=secrets.get("task-secret").decode(),
                                     backoff_base_s=0.005, backoff_max_s=0.05,
                                     dispatcher=self._dispatch)
        self.deps = Deps(self.settings, warehouse=self.wh, docs=self.docs, tasks=self.queue,
                         secrets=secrets)
        self.blobs = blobs or Faulty(None)
        self.blobs.real = self.deps.blobs
        self.deps.__dict__["blobs"] = self.blobs
        self._clients = _clients()

    def _dispatch(self, delivery, headers: dict[str, str]) -> int:
        client = self._clients[delivery.target]
        ctype = ("application/cloudevents+json" if delivery.target == "finalize"
                 else "application/json")
        resp = client.post("/", data=json.dumps(delivery.payload),
                           headers={**headers, "Content-Type": ctype})
        return resp.status_code

    def arm(self) -> None:
        self.wh.armed = self.docs.armed = self.blobs.armed = True

    def drain(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ran = self.queue.run_due(10)
            counts = self.queue.counts()
            if not counts.get("pending") and not counts.get("running"):
                return
            if not ran:
                time.sleep(0.005)
        raise AssertionError(f"the queue is not quiet: {self.queue.counts()}")

    def close(self) -> None:
        self.real_wh.close()
        self.real_docs.close()


_CLIENTS: dict[str, Any] = {}


def _clients() -> dict[str, Any]:
    """Test clients of the task targets, loaded once: each is the deployed entry point."""
    if not _CLIENTS:
        from functions_framework import create_app

        for target, (function, entry, kind) in {
                "finalize": ("upload", "ingest_finalized", "cloudevent"),
                "ingest": ("upload", "ingest_task", "http"),
                "metrics": ("metrics", "metrics_task", "http"),
                "forecast": ("predict", "forecast_task", "http")}.items():
            app = create_app(entry, str(ROOT / "functions" / function / "main.py"), kind)
            _CLIENTS[target] = app.test_client()
    return _CLIENTS


def _setup(world: World, seed: int, uploads: int = 4, rows: tuple[int, int] = (300, 600)):
    """A tenant with `uploads` pending uploads of generated files (the bench's mix)."""
    from shared.uploads.service import create_upload
    from shared.web.authz import Principal

    rnd = random.Random(seed)
    specs = _bench().plan_files(rnd, uploads, rows) if uploads >= 3 else \
        [_bench().make_csv(rnd, "good", rnd.randint(*rows)) for _ in range(uploads)]
    world.real_docs.set("tenants", TENANT, {"name": "Faults", "created_at": datetime.now(UTC)})
    principal = Principal(user_id="u_faults", tenant_id=TENANT, role="analyst",
                          email="faults@example.com")
    created = [create_upload(world.deps, principal, {
        "filename": f"part-{i}.csv", "size_bytes": len(s.data), "content_type": "text/csv",
        "dataset": "Orders"})["upload"] for i, s in enumerate(specs)]
    return list(zip(created, specs, strict=True))


def run_scenario(tmp_path: Path, *, warehouse: Faulty | None = None,
                 docs: Faulty | None = None, blobs: Faulty | None = None,
                 seed: int = 1) -> tuple[World, list[str]]:
    """Upload, let the queue deliver everything (retrying what failed), check the end."""
    from shared.bootstrap import override

    world = World(tmp_path, warehouse=warehouse, docs=docs, blobs=blobs)
    try:
        with override(world.deps):
            uploads = _setup(world, seed)
            world.arm()
            for up, spec in uploads:
                world.deps.blobs.put(up["bucket"], up["object_name"], spec.data,
                                     content_type="text/csv")
            world.drain()
    finally:
        world.close()
    problems = _bench().check(world.data_dir, TENANT, [(u["id"], s) for u, s in uploads])
    return world, problems


def _sample(total: int, count: int | None, seed: int) -> list[int]:
    every = list(range(1, total + 1))
    return every if count is None or count >= total else sorted(
        random.Random(seed).sample(every, count))


def _sweep(tmp_path: Path, make, total: int, count: int | None, seed: int) -> int:
    """Run the scenario with a fault at each sampled call; returns how many hit."""
    hit = 0
    for k in _sample(total, count, seed):
        world, problems = run_scenario(tmp_path / f"k{k}", **make(k))
        proxy = world.wh if world.wh.fail_on else world.docs
        assert not problems, f"fault at call {k} ({proxy.injected}): {problems}"
        hit += bool(proxy.injected)
    return hit


@pytest.fixture(scope="module")
def clean_counts(tmp_path_factory) -> dict[str, int]:
    """How many calls a fault-free run makes, so the sweeps know their range."""
    world, problems = run_scenario(
        tmp_path_factory.mktemp("clean"),
        warehouse=Faulty(None, ["load_staged", "query"]), docs=Faulty(None, DOC_WRITES))
    assert not problems, problems
    assert world.docs.calls > 10 and world.wh.calls > 2
    return {"docs": world.docs.calls, "warehouse": world.wh.calls}


def test_clean_run_meets_every_invariant(clean_counts):
    # Runs the checker on a fault-free pipeline: it must find nothing (see the fixture).
    assert clean_counts["docs"] > clean_counts["warehouse"] > 0


@pytest.mark.parametrize(("k", "after"), [(1, False), (2, True)],
                         ids=["first_load_refused", "second_load_answer_lost"])
def test_warehouse_error_mid_load_is_retried_to_exactly_once(tmp_path, k, after):
    world, problems = run_scenario(
        tmp_path, warehouse=Faulty(None, ["load_staged"], [k], after=after))
    assert world.wh.injected == [(k, "load_staged")]
    assert not problems, problems


@pytest.mark.parametrize(("method", "k", "after"), [
    ("put", 1, False), ("put", 2, True), ("delete", 1, False), ("delete", 2, True)],
    ids=["shard_write_refused", "shard_written_answer_lost", "shard_delete_refused",
         "shard_deleted_answer_lost"])
def test_staging_bucket_errors_are_retried_to_exactly_once(tmp_path, method, k, after):
    """Faults around the staged shards: before or after a shard is written (the load
    has not run: the retry writes the same names again and loads once), and around
    their deletion after the commit, which loses nothing: a shard whose deletion was
    refused stays for the bucket's lifecycle rule, and every other one goes."""
    from shared.settings import Settings

    bucket = Settings().staging_bucket
    world, problems = run_scenario(
        tmp_path, blobs=StagingFaulty(None, [method], [k], after=after, bucket=bucket))
    assert world.blobs.injected == [(k, method)]
    assert not problems, problems
    left = list(world.blobs.real.list(bucket, "staging/"))
    refused = method == "delete" and not after
    assert len(left) == (1 if refused else 0), [b.name for b in left]


def test_warehouse_errors_in_metrics_and_forecast_queries_are_retried(tmp_path, clean_counts):
    hit = _sweep(tmp_path, lambda k: {"warehouse": Faulty(None, ["query"], [k])},
                 clean_counts["warehouse"], 2, seed=3)
    assert hit == 2


@pytest.mark.parametrize("after", [False, True], ids=["refused", "answer_lost"])
def test_document_store_errors_mid_status_update_sampled(tmp_path, clean_counts, after):
    hit = _sweep(tmp_path, lambda k: {"docs": Faulty(None, DOC_WRITES, [k], after=after)},
                 clean_counts["docs"], 2, seed=11 + after)
    assert hit == 2


@pytest.mark.full
@pytest.mark.parametrize("after", [False, True], ids=["refused", "answer_lost"])
def test_document_store_error_at_every_write(tmp_path, clean_counts, after):
    _sweep(tmp_path, lambda k: {"docs": Faulty(None, DOC_WRITES, [k], after=after)},
           clean_counts["docs"], None, seed=0)


@pytest.mark.full
@pytest.mark.parametrize("after", [False, True], ids=["refused", "answer_lost"])
def test_warehouse_error_at_every_call(tmp_path, clean_counts, after):
    _sweep(tmp_path, lambda k: {"warehouse": Faulty(None, ["load_staged", "query"], [k],
                                                    after=after)},
           clean_counts["warehouse"], None, seed=0)


# ---------------------------------------------------------------- the upload's states

def test_upload_is_marked_uploaded_when_its_object_lands(tmp_path):
    from shared.bootstrap import override

    world = World(tmp_path)
    try:
        with override(world.deps):
            (up, spec), = _setup(world, seed=5, uploads=1)
            path = f"tenants/{TENANT}/uploads"
            assert world.real_docs.get(path, up["id"]).data["status"] == "pending"
            world.deps.blobs.put(up["bucket"], up["object_name"], spec.data,
                                 content_type="text/csv")
            landed = world.real_docs.get(path, up["id"]).data
            assert landed["status"] == "uploaded"
            assert landed["generation"] and landed["received_bytes"] == len(spec.data)
            world.drain()
            assert world.real_docs.get(path, up["id"]).data["status"] in ("loaded", "failed")
    finally:
        world.close()


def test_ingest_marks_uploaded_first_and_a_failed_claim_leaves_it_there(tmp_path):
    """Where nothing marks the landing (GCS), the ingest does it before it claims; a
    claim whose answer was lost is released, so the next delivery takes over at once
    instead of waiting out the lease."""
    from shared.adapters.local.blobs import FileBlobStore
    from shared.bootstrap import override
    from shared.uploads import service as uploads

    docs = Faulty(None, ["transaction"], [1], after=True)
    world = World(tmp_path, docs=docs)
    try:
        with override(world.deps):
            (up, spec), = _setup(world, seed=6, uploads=1)
            silent = FileBlobStore(world.data_dir / "blobs", base_url="http://x",
                                   signing_key=b"k" * 32)  # no finalize hook
            info = silent.put(up["bucket"], up["object_name"], spec.data)
            path = f"tenants/{TENANT}/uploads"
            assert world.real_docs.get(path, up["id"]).data["status"] == "pending"
            world.arm()
            with pytest.raises(errors.Unavailable):
                uploads.ingest_object(world.deps, info.bucket, info.name, info.generation)
            assert docs.injected == [(1, "transaction")]
            # The claim committed (the answer was lost) and was released again.
            assert world.real_docs.get(path, up["id"]).data["status"] in ("uploaded",
                                                                          "processing")
            outcome = uploads.ingest_object(world.deps, info.bucket, info.name,
                                            info.generation)
            assert outcome["status"] in ("loaded", "failed"), outcome
            assert world.real_docs.get(path, up["id"]).data["status"] == outcome["status"]
    finally:
        world.close()


def test_a_delivery_that_meets_a_live_claim_asks_for_a_retry(tmp_path):
    """Dropping it would strand the upload if the claim's holder had died."""
    from shared.bootstrap import override
    from shared.uploads import claims
    from shared.uploads import service as uploads

    world = World(tmp_path)
    try:
        with override(world.deps):
            (up, spec), = _setup(world, seed=7, uploads=1)
            info = world.deps.blobs.put(up["bucket"], up["object_name"], spec.data)
            other = claims.IngestRun(info.bucket, info.name, info.generation, TENANT,
                                     up["id"], info.size, claim="someone-else")
            assert claims.claim(world.deps, other) == "claimed"
            with pytest.raises(errors.Unavailable) as exc:
                uploads.ingest_object(world.deps, info.bucket, info.name, info.generation)
            assert exc.value.code == "ingest_in_progress"
            # The holder died: the local stack's restart releases its claim.
            assert claims.release_claims(world.deps) == 1
            outcome = uploads.ingest_object(world.deps, info.bucket, info.name,
                                            info.generation)
            assert outcome["status"] in ("loaded", "failed"), outcome
    finally:
        world.close()


def test_restart_recovery_redelivers_lost_events_and_lost_metrics_tasks(tmp_path):
    """A crash between an object's commit and its finalize event, or between a version
    bump and its metrics task: the local stack's start-up finds both and re-enqueues."""
    from shared.adapters.local.blobs import FileBlobStore
    from shared.bootstrap import Deps, override
    from shared.devstack.serve import recover_after_crash
    from shared.uploads import service as uploads
    from shared.web.authz import Principal

    world = World(tmp_path)
    try:
        with override(world.deps):
            (first, s1), (second, s2) = _setup(world, seed=8, uploads=2)
            world.deps.blobs.put(first["bucket"], first["object_name"], s1.data)
            silent = FileBlobStore(world.data_dir / "blobs", base_url="http://x",
                                   signing_key=b"k" * 32)  # the event never went out
            silent.put(second["bucket"], second["object_name"], s2.data)
            world.drain()
            path = f"tenants/{TENANT}/uploads"
            assert world.real_docs.get(path, second["id"]).data["status"] == "pending"
            assert recover_after_crash(world.deps)["events_reemitted"] == 1
            world.drain()
            assert world.real_docs.get(path, second["id"]).data["status"] == "loaded"

            # The delete commits the new version, then dies before its metrics task.
            lossy = Faulty(world.queue, ["enqueue"], [1])
            lossy.armed = True
            crashing = Deps(world.settings, warehouse=world.wh, docs=world.docs,
                            tasks=lossy, secrets=world.deps.secrets)
            principal = Principal(user_id="u_faults", tenant_id=TENANT, role="analyst",
                                  email="faults@example.com")
            with pytest.raises(errors.Unavailable):
                uploads.delete_upload(crashing, principal, first["id"])
            assert lossy.injected == [(1, "enqueue")]
            counts = recover_after_crash(world.deps)
            assert counts["metrics_reenqueued"] == 1 and counts["events_reemitted"] == 0
            world.drain()
            assert recover_after_crash(world.deps)["metrics_reenqueued"] == 0
    finally:
        world.close()
    problems = _bench().check(world.data_dir, TENANT, [(second["id"], s2)],
                              extra_versions=2)  # the first upload: its load, its delete
    assert not problems, problems


def test_a_file_put_twice_before_its_first_event_loads_once(tmp_path):
    """A client retrying its PUT (no answer came) lands a second generation while the
    first one's event is still queued: the first hands over to the second."""
    from shared.bootstrap import override

    world = World(tmp_path)
    try:
        with override(world.deps):
            (up, spec), = _setup(world, seed=9, uploads=1)
            for _ in range(2):
                world.deps.blobs.put(up["bucket"], up["object_name"], spec.data,
                                     content_type="text/csv")
            assert world.queue.counts() == {"pending": 2}
            world.drain()
    finally:
        world.close()
    assert not world.queue.dead_letters()
    problems = _bench().check(world.data_dir, TENANT, [(up["id"], spec)])
    assert not problems, problems
