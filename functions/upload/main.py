"""The upload function: HTTP entry points. Routing and errors go through shared.http."""

import functions_framework

from shared.http import Router

router = Router("upload", health_path="/api/uploads/health")


@functions_framework.http
def upload_http(request):
    return router.dispatch(request)


@functions_framework.cloud_event
def ingest_finalized(cloud_event):
    """GCS object.finalized -> ingest. Returns normally for events to ignore."""
    import logging

    logging.getLogger("tidemark.ingest").info(
        "finalize event received", extra={"subject": cloud_event.get("subject")})
