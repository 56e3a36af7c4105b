"""The metrics function: HTTP entry points. Routing and errors go through shared.http."""

import functions_framework

from shared.http import Router

router = Router("metrics", health_path="/api/metrics/health")


@functions_framework.http
def metrics_http(request):
    return router.dispatch(request)


@functions_framework.http
def metrics_task(request):
    from shared.task_handler import run_task

    return run_task("metrics-task", request, lambda payload, info: {"payload": payload})
