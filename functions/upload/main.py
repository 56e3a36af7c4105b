"""The upload function: signed upload URLs and the tenant's uploads (HTTP), the
hand-off of finalized objects (CloudEvent) and the ingest task that loads them (HTTP
task target). Each route declares its role and body models (the OpenAPI document is
generated from them); the work is in shared.uploads.service, shared.uploads.events and
shared.uploads.job."""

from __future__ import annotations

from shared.uploads.arrow_memory import prefer_jemalloc

prefer_jemalloc()  # before anything imports Arrow

from typing import TYPE_CHECKING  # noqa: E402

import functions_framework  # noqa: E402

from shared.bootstrap import get_deps  # noqa: E402
from shared.uploads import models as m  # noqa: E402
from shared.web.http import Router  # noqa: E402

if TYPE_CHECKING:
    from shared.bootstrap import Deps

router = Router("upload", deps=get_deps, health_path="/api/uploads/health", tag="uploads")
UPLOAD_ID = {"upload_id": {"type": "string", "pattern": "^up_[0-9a-f]{32}$"}}
NOT_FOUND = {404: "No such upload in the caller's tenant (code upload_not_found)"}


@router.route("/api/uploads", methods=["POST"], role="analyst", request=m.UploadCreateRequest,
              responses={201: m.UploadCreated},
              errors={413: "The declared file size exceeds the limit (code upload_too_large)"})
def create(request, deps: Deps, principal, body):
    """Start an upload; returns a signed PUT URL for the file

    Creates a pending upload (and its dataset on first use of the name) and a signed URL
    bound to the content type and to a body of 1..size_bytes bytes
    (x-goog-content-length-range). PUT the file to upload_url with exactly the returned
    headers before expires_at. Ingestion starts when the object lands."""
    from shared.uploads import service

    return service.create_upload(deps, principal, body), 201


@router.route("/api/uploads/preview", methods=["POST"], role="analyst",
              query=m.UploadPreviewQuery, responses={200: m.UploadPreview},
              request={"text/csv": {"schema": {"type": "string", "maxLength": 1048576},
                                    "description": "The first bytes of the file (at most "
                                                   "1 MiB, File.slice(0, 1048576))"},
                       **{t: {"schema": {"type": "string", "format": "binary",
                                         "maxLength": 20 * 1048576},
                              "description": "A whole workbook (at most 20 MiB); the "
                                             "sheet query parameter picks its sheet"}
                          for t in m.WORKBOOK_TYPES}},
              errors={400: "Empty body (code body_required), or a head that cannot be "
                           "read as a CSV with data rows (codes no_data_rows, no_header, "
                           "not_text, parse_error, encoding_error...)",
                      413: "Body over 1 MiB, a workbook over 20 MiB (code "
                           "preview_too_large)"})
def preview(request, deps: Deps, principal):
    """Preview the mapping of a file from its first MiB, before uploading it

    Runs the head through the ingest's own sniff, type settling and mapping and answers
    the columns, every role (with how it was found, or what its absence costs), the
    types and ~10 parsed rows. Send the mapping you settle on in POST /api/uploads."""
    from shared import errors
    from shared.uploads import preview as p

    limit = p.WORKBOOK_PREVIEW_BYTES if request.mimetype in m.WORKBOOK_TYPES \
        else p.PREVIEW_BYTES
    if request.content_length is not None and request.content_length > limit:
        raise errors.TooLarge(f"a preview reads at most the first {limit} bytes",
                              code="preview_too_large", details={"limit_bytes": limit})
    try:
        q = m.UploadPreviewQuery.model_validate(request.args.to_dict())
    except ValueError as exc:  # pydantic's ValidationError: a bad query parameter
        raise errors.InvalidInput("invalid preview parameters", code="invalid_parameter",
                                  details={"reason": str(exc).splitlines()[0]}) from None
    return p.preview(request.get_data(cache=False)[:limit + 1],
                     partial=q.partial, date_order=q.date_order,
                     decimal_separator=q.decimal_separator, sheet=q.sheet)


@router.route("/api/uploads", methods=["GET"], role="viewer", query=m.UploadListQuery,
              responses={200: m.UploadPage},
              errors={400: "Bad paging parameters (code invalid_page)"})
def list_(request, deps: Deps, principal):
    """The tenant's uploads, newest first"""
    from shared.uploads import service

    return service.list_uploads(deps, principal, page_size=request.args.get("page_size"),
                                page_token=request.args.get("page_token"))


@router.route("/api/uploads/<rid:upload_id>", methods=["GET"], role="viewer",
              responses={200: m.Upload}, params=UPLOAD_ID, errors=NOT_FOUND)
def get(request, deps: Deps, principal, upload_id):
    """One upload with its status, progress and validation report"""
    from shared.uploads import service

    return service.get_upload(deps, principal, upload_id)


@router.route("/api/uploads/<rid:upload_id>", methods=["DELETE"], role="analyst",
              responses={200: m.UploadDeleted}, params=UPLOAD_ID,
              errors={**NOT_FOUND, 409: "The upload is being ingested (code upload_busy)"})
def delete(request, deps: Deps, principal, upload_id):
    """Delete an upload, its rows and its file; the dataset's metrics are recomputed"""
    from shared.uploads import service

    return service.delete_upload(deps, principal, upload_id)


@router.route("/api/uploads/<rid:upload_id>/rejected", methods=["GET"], role="viewer",
              responses={200: {"type": "string"}}, media_type="text/csv", params=UPLOAD_ID,
              errors={**NOT_FOUND, 409: "The upload has not been ingested yet "
                                        "(code not_ingested)"})
def rejected(request, deps: Deps, principal, upload_id):
    """The rejected rows as CSV (row_number, reason, column, value, then the row's fields)

    Cells that would start a spreadsheet formula (=, +, -, @, tab, CR) are prefixed with
    a single quote. An upload with no rejected rows returns the header only."""
    from flask import Response

    from shared.uploads import service

    body = service.rejected_csv(deps, principal, upload_id)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{upload_id}-rejected.csv"',
        "X-Content-Type-Options": "nosniff"})


@functions_framework.http
def upload_http(request):
    return router.dispatch(request)


@functions_framework.cloud_event
def ingest_finalized(cloud_event):
    """GCS object.finalized -> claim the object generation and hand it to the ingest
    task; returns in seconds. Returns normally for events to ignore (no retry); raises
    on transient failures so the event is delivered again."""
    import logging

    from shared import errors
    from shared.uploads import events

    log = logging.getLogger("tidemark.ingest")
    data = cloud_event.data or {}
    if not isinstance(data, dict) or not all(k in data for k in ("bucket", "name",
                                                                  "generation")):
        log.warning("malformed finalize event ignored")
        return
    deps = get_deps()
    age = events.event_age_s(cloud_event.get("time"))
    if age is not None and age > deps.settings.ingest_event_max_age_s:
        # Retried for too long: stop, and tell the user (see shared/uploads/events.py).
        events.give_up(deps, data["bucket"], data["name"], data["generation"], age)
        return
    size = str(data.get("size") or "")
    try:
        outcome = events.hand_off(deps, data["bucket"], data["name"], data["generation"],
                                  size=int(size) if size.isdigit() else None)
    except errors.AppError as exc:
        if exc.retryable:
            raise
        # ingest_result: the stable field the log-based metric matches (monitoring.tf)
        log.warning("ingest failed permanently: %s", exc.message,
                    extra={"code": exc.code, "ingest_result": "failed_permanently"})
        return
    log.info("finalize event: %s", outcome.get("status"), extra={"outcome": outcome})


@functions_framework.http
def ingest_task(request):
    """Task target: ingest the object generation the finalize event handed off
    (shared.uploads.events.run_ingest_task); 503 on a transient failure, for a retry."""
    from shared.web.task_handler import run_task

    def work(payload):
        from shared.uploads import events

        return events.run_ingest_task(get_deps(), payload)

    return run_task("ingest-task", request, work)
