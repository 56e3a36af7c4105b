"""The predict function: forecasts with intervals and backtest accuracy.

GET /api/predictions (viewer) answers from the precomputed forecasts, the cache or a
fresh fit (shared.forecast.service); the forecast task precomputes the defaults of a
dataset version. The route declares its role and answer model (the OpenAPI document is
generated from them); routing and errors go through shared.web.http.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import functions_framework

from shared.bootstrap import get_deps
from shared.forecast import api_models as m
from shared.web.http import Router

if TYPE_CHECKING:
    from shared.bootstrap import Deps

router = Router("predict", deps=get_deps, health_path="/api/predictions/health")


@router.route("/api/predictions", methods=["GET"], role="viewer", query=m.PredictionQuery,
              responses={200: m.PredictionAnswer}, errors=m.PREDICTION_ERRORS)
def get_predictions(request, deps: Deps, principal):
    """Forecast of one measure of a dataset (or of each top value of a dimension), with
    intervals and backtest accuracy"""
    from shared.forecast import request as forecast_request
    from shared.forecast import service

    return service.get_prediction(deps, principal.tenant_id,
                                  forecast_request.parse(request.args))


@functions_framework.http
def predict_http(request):
    return router.dispatch(request)


def _refit(payload):
    from shared.customers import task as customers
    from shared.forecast import service
    from shared.uploads.records import TaskPayload  # the same payload as metrics tasks

    task = TaskPayload.parse(payload)
    result = service.precompute(get_deps(), task.tenant_id, task.dataset_id, task.version)
    return {**result, "customers": customers.refresh_quietly(
        get_deps(), task.tenant_id, task.dataset_id, task.version)}


@functions_framework.http
def forecast_task(request):
    from shared.web.task_handler import run_task

    return run_task("forecast-task", request, _refit)
