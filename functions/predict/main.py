"""The predict function: HTTP entry points. Routing and errors go through shared.http."""

import functions_framework

from shared.http import Router

router = Router("predict", health_path="/api/predictions/health")


@functions_framework.http
def predict_http(request):
    return router.dispatch(request)


@functions_framework.http
def forecast_task(request):
    from shared.task_handler import run_task

    return run_task("forecast-task", request, lambda payload, info: {"payload": payload})
