"""`tidemark serve`: every function of the product in one local process.

The HTTP entry points are the very functions-framework apps that deploy to Cloud
Functions, mounted by path prefix (the path is passed through untouched, as Firebase
Hosting's rewrites do). Beside them: the signed-upload endpoint of the local blob
store, the task worker that plays Cloud Tasks and Eventarc, the OpenAPI document and
the static frontend.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shared import errors
from shared.web.catalog import ENTRY_POINTS, EntryPoint

if TYPE_CHECKING:
    from shared.adapters.local.task_queue import TaskWorker
    from shared.bootstrap import Deps
    from shared.settings import Settings

log = logging.getLogger("tidemark.local")
ROOT = Path(__file__).resolve().parents[2]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


# The stack's own read-only routes: other methods get 405, not the catch-all's 404.
GET_ONLY = frozenset({"/api/openapi.json", "/api/health"})


class PrefixDispatcher:
    """WSGI: pick an app by the longest matching path prefix; PATH_INFO is untouched."""

    def __init__(self, default, mounts: dict[str, Any]) -> None:
        self.default = default
        self.mounts = sorted(mounts.items(), key=lambda kv: -len(kv[0]))

    def __call__(self, environ, start_response) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, app in self.mounts:
            if path == prefix or path.startswith(prefix + "/"):
                return app(environ, start_response)
        return self.default(environ, start_response)


def function_source(ep: EntryPoint) -> Path:
    return ROOT / "functions" / ep.function / "main.py"


def build_function_apps() -> dict[str, Any]:
    from functions_framework import create_app

    apps: dict[str, Any] = {}
    for ep in ENTRY_POINTS:
        sig = "cloudevent" if ep.kind == "event" else "http"
        app = create_app(ep.target, str(function_source(ep)), sig)
        mount = "/events/ingest" if ep.kind == "event" else ep.mount
        apps[mount] = app
    return apps


def frontend_dir() -> Path:
    dist = ROOT / "frontend" / "dist"
    return dist if (dist / "index.html").exists() else ROOT / "frontend" / "public"


def create_app(deps: Deps) -> Callable:
    """The whole local stack as one WSGI app (the caller installs `deps` globally)."""
    from flask import Flask, Response, request

    from shared.web.http import handle, json_response
    from shared.web.openapi import build_spec

    function_apps = build_function_apps()
    root = Flask("tidemark-local", static_folder=None)

    @root.get("/api/openapi.json", provide_automatic_options=False)
    def openapi():
        return json_response(build_spec())

    @root.get("/api/health", provide_automatic_options=False)
    def health():
        def run():
            status: dict[str, Any] = {}
            for ep in ENTRY_POINTS:
                if ep.kind != "http":
                    continue
                resp = function_apps[ep.mount].test_client().get(ep.mount + "/health")
                status[ep.function] = resp.get_json().get("status", "error")
            ok = all(v == "ok" for v in status.values())
            return {"status": "ok" if ok else "degraded", "functions": status}
        return handle("local", request, run)

    @root.put("/storage/upload/<bucket>/<path:name>")
    def signed_put(bucket: str, name: str):
        def run():
            info = deps.blobs.receive_signed_put(
                bucket, name, request.args, request.headers, request.stream,
                request.content_length)
            return {"bucket": info.bucket, "name": info.name, "size": info.size,
                    "generation": info.generation}
        return handle("storage", request, run)

    @root.route("/storage/upload/<bucket>/<path:name>", methods=["OPTIONS"])
    def signed_put_preflight(bucket: str, name: str):
        return Response(status=204, headers={"Allow": "PUT, OPTIONS"})

    any_method = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @root.route("/api/", defaults={"rest": ""}, methods=any_method,
                provide_automatic_options=False)
    @root.route("/api/<path:rest>", methods=any_method, provide_automatic_options=False)
    def api_unknown(rest: str):
        def run():
            if request.path in GET_ONLY:
                raise errors.MethodNotAllowed(f"{request.method} is not allowed here",
                                              details={"allowed": "GET"},
                                              headers={"Allow": "GET, HEAD"})
            raise errors.NotFound(f"no route for {request.path}", code="no_route")
        return handle("local", request, run)

    @root.get("/", defaults={"path": "index.html"})
    @root.get("/<path:path>")
    def static_files(path: str):
        base = frontend_dir().resolve()
        target = (base / path).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            # Client-side routes fall back to the app shell; missing assets are 404.
            if "." in path.rsplit("/", 1)[-1]:
                return Response("not found", status=404, mimetype="text/plain")
            target = base / "index.html"
            if not target.is_file():
                return Response("frontend not built", status=404, mimetype="text/plain")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        resp = Response(target.read_bytes(), mimetype=ctype)
        hashed = "/assets/" in f"/{path}"
        resp.headers["Cache-Control"] = ("public, max-age=31536000, immutable" if hashed
                                         else "no-cache")
        return resp

    @root.after_request
    def security_headers(resp):
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        return resp

    return PrefixDispatcher(root.wsgi_app, {k: v.wsgi_app for k, v in function_apps.items()})


def recover_after_crash(deps: Deps) -> dict[str, int]:
    """Undo what a crash of the previous run (the only process that writes this data
    dir) may have left, before the worker starts: ingest claims it held are released;
    every landed upload object that was never ingested gets its finalize event again
    (the crash may have come between the object's commit and its event); every dataset
    whose snapshot is not of its version gets its metrics task again (the crash may
    have come between a version bump and the enqueue); half-written staging files go.
    Task names make each re-enqueue a no-op when the task exists."""
    import shutil

    from shared.adapters.local.blobs import finalize_event
    from shared.adapters.local.events import delivery_for
    from shared.uploads.claims import enqueue_metrics, release_claims
    from shared.uploads.records import datasets_path, parse_object_name, uploads_path

    settings, docs = deps.settings, deps.docs
    staging = Path(settings.data_dir) / "staging"
    if staging.is_dir():
        shutil.rmtree(staging, ignore_errors=True)
    released = release_claims(deps)
    events = metrics = 0
    deliver = delivery_for(deps)
    for info in deps.blobs.list(settings.uploads_bucket, "uploads/"):
        parsed = parse_object_name(info.bucket, info.name, settings)
        doc = docs.get(uploads_path(parsed[0]), parsed[1]) if parsed else None
        if doc is not None and doc.data.get("status") in ("pending", "uploaded"):
            events += deliver(finalize_event(info)).created
    for tenant in docs.query("tenants"):
        for ds in docs.query(datasets_path(tenant.id)):
            version = int(ds.data.get("version") or 0)
            snap = docs.get(f"tenants/{tenant.id}/snapshots", ds.id) if version else None
            if version and (snap is None or snap.data.get("version") != version):
                metrics += enqueue_metrics(deps, tenant.id, ds.id, version).created
    counts = {"claims_released": released, "events_reemitted": events,
              "metrics_reenqueued": metrics}
    if any(counts.values()):
        log.warning("recovered after an unclean stop", extra=counts)
    return counts


class _Server(Protocol):
    """The part of waitress's server this stack drives (waitress ships no types)."""

    def run(self) -> None: ...

    def close(self) -> None: ...


class LocalStack:
    """The app, the task worker, and their lifecycle (used by `tidemark serve` and
    by end-to-end tests, which run it on a free port in a thread)."""

    def __init__(self, settings: Settings) -> None:
        from shared.bootstrap import Deps, set_deps

        self.settings = settings
        self.deps = Deps(settings)
        set_deps(self.deps)
        self.app = create_app(self.deps)
        self.worker: TaskWorker | None = None
        self.server: _Server | None = None
        self._closing = False
        self._worker_concurrency: int | None = None

    def start_worker(self, concurrency: int = 4) -> None:
        """Run the task worker: at once if the server is listening, else as soon as
        serve() has bound its socket (tasks recovered after a crash would otherwise
        spend their attempts on a refused connection)."""
        self._worker_concurrency = concurrency
        if self.server is not None:
            self._start_worker()

    def _start_worker(self) -> None:
        from shared.adapters.local.task_queue import SqliteTaskQueue, TaskWorker

        if self.worker is not None or self._worker_concurrency is None:
            return
        queue = self.deps.tasks
        if not isinstance(queue, SqliteTaskQueue):  # on Google Cloud, Cloud Tasks delivers
            raise RuntimeError("the local task worker drains the local task queue only")
        try:
            self.recover()
        except Exception:  # the stack still serves; the queue retries what it holds
            log.exception("recovery after an unclean stop failed")
        self.worker = worker = TaskWorker(queue, concurrency=self._worker_concurrency)
        worker.start()

    def recover(self) -> dict[str, int]:
        return recover_after_crash(self.deps)

    def serve(self, threads: int = 32) -> None:
        """Blocking. Stops on KeyboardInterrupt / close()."""
        from waitress.server import create_server

        s = self.settings
        self.server = create_server(self.app, host=s.host, port=s.port, threads=threads,
                                    max_request_body_size=s.max_upload_bytes + 1024 * 1024,
                                    clear_untrusted_proxy_headers=True, ident="tidemark",
                                    # poll(), not select(): select() fails outright once
                                    # any descriptor number passes 1023.
                                    asyncore_use_poll=True,
                                    # waitress stops accepting at 100 open connections by
                                    # default; idle keep-alive clients would hold the rest
                                    # in the backlog until they time out.
                                    connection_limit=2000)
        self._start_worker()
        log.info("tidemark serving", extra={"url": s.base_url, "data_dir": str(s.data_dir)})
        try:
            self.server.run()
        except OSError:
            if not self._closing:  # close() from another thread ends the loop this way
                log.exception("the server loop failed")
                raise
        except Exception:
            log.exception("the server loop failed")
            raise
        finally:
            self.close()

    def close(self) -> None:
        self._closing = True
        if self.worker:
            self.worker.stop()
            self.worker = None
        if self.server:
            self.server.close()
            self.server = None
        self.deps.close()  # the embedded stores' files
