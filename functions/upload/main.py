"""The upload function: signed upload URLs and the tenant's uploads (HTTP), and the
ingest of finalized objects (CloudEvent). Routing and errors go through shared.web.http;
the work is in shared.uploads.service and shared.ingest."""

from shared.uploads.arrow_memory import prefer_jemalloc

prefer_jemalloc()  # before anything imports Arrow

import functions_framework  # noqa: E402

from shared.web.http import Router, read_json  # noqa: E402

router = Router("upload", health_path="/api/uploads/health")


def _deps():
    from shared.bootstrap import get_deps

    return get_deps()


def _principal(request, role: str):
    from shared.web.authz import authenticate

    return authenticate(request, role=role)


@router.route("/api/uploads", methods=["POST"])
def create(request):
    from shared.uploads import service as uploads

    principal = _principal(request, "analyst")
    return uploads.create_upload(_deps(), principal, read_json(request)), 201


@router.route("/api/uploads", methods=["GET"])
def list_(request):
    from shared.uploads import service as uploads

    principal = _principal(request, "viewer")
    return uploads.list_uploads(_deps(), principal, page_size=request.args.get("page_size"),
                                page_token=request.args.get("page_token"))


@router.route("/api/uploads/<rid:upload_id>", methods=["GET"])
def get(request, upload_id):
    from shared.uploads import service as uploads

    return uploads.get_upload(_deps(), _principal(request, "viewer"), upload_id)


@router.route("/api/uploads/<rid:upload_id>", methods=["DELETE"])
def delete(request, upload_id):
    from shared.uploads import service as uploads

    return uploads.delete_upload(_deps(), _principal(request, "analyst"), upload_id)


@router.route("/api/uploads/<rid:upload_id>/rejected", methods=["GET"])
def rejected(request, upload_id):
    from flask import Response

    from shared.uploads import service as uploads

    body = uploads.rejected_csv(_deps(), _principal(request, "viewer"), upload_id)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{upload_id}-rejected.csv"',
        "X-Content-Type-Options": "nosniff"})


@functions_framework.http
def upload_http(request):
    return router.dispatch(request)


@functions_framework.cloud_event
def ingest_finalized(cloud_event):
    """GCS object.finalized -> ingest. Returns normally for events to ignore or files
    that fail for good (no retry); raises on transient failures so the event is
    delivered again."""
    import logging

    from shared import errors
    from shared.uploads import events
    from shared.uploads import service as uploads

    data = cloud_event.data or {}
    if not isinstance(data, dict) or not all(k in data for k in ("bucket", "name",
                                                                  "generation")):
        logging.getLogger("tidemark.ingest").warning("malformed finalize event ignored")
        return
    deps = _deps()
    age = events.event_age_s(cloud_event.get("time"))
    if age is not None and age > deps.settings.ingest_event_max_age_s:
        # Retried for too long: stop, and tell the user (see shared/uploads/events.py).
        events.give_up(deps, data["bucket"], data["name"], data["generation"], age)
        return
    size = data.get("size")
    try:
        with events.staged_files_removed(deps, data["bucket"], data["name"],
                                         data["generation"]):
            outcome = uploads.ingest_object(deps, data["bucket"], data["name"],
                                            data["generation"],
                                            size=int(size) if str(size or "").isdigit()
                                            else None)
    except errors.AppError as exc:
        if exc.retryable:
            raise
        logging.getLogger("tidemark.ingest").warning(
            "ingest failed permanently: %s", exc.message,
            # ingest_result: the stable field the log-based metric matches (monitoring.tf)
            extra={"code": exc.code, "ingest_result": "failed_permanently"})
        return
    logging.getLogger("tidemark.ingest").info("ingest outcome: %s", outcome.get("status"),
                                              extra={"outcome": outcome})
