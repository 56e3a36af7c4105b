"""The predict function: forecasts with intervals and backtest accuracy.

GET /api/predictions (viewer) answers from the precomputed forecasts, the cache or a
fresh fit (shared.forecast.service); the forecast task precomputes the defaults of
a dataset version. Routing and errors go through shared.web.http.
"""

import functions_framework

from shared.web.http import Router

router = Router("predict", health_path="/api/predictions/health")


@router.route("/api/predictions", methods=["GET"])
def get_predictions(request):
    from shared.bootstrap import get_deps
    from shared.forecast import request as forecast_request
    from shared.forecast import service
    from shared.web.authz import authenticate

    deps = get_deps()
    principal = authenticate(request, deps, role="viewer")
    req = forecast_request.parse(request.args)
    return service.get_prediction(deps, principal.tenant_id, req)


@functions_framework.http
def predict_http(request):
    return router.dispatch(request)


def _refit(payload, info):
    from shared.bootstrap import get_deps
    from shared.forecast import service
    from shared.uploads.records import TaskPayload  # the same payload as metrics tasks

    task = TaskPayload.parse(payload)
    return service.precompute(get_deps(), task.tenant_id, task.dataset_id, task.version)


@functions_framework.http
def forecast_task(request):
    from shared.web.task_handler import run_task

    return run_task("forecast-task", request, _refit)
