"""The metrics function: KPIs, series, breakdowns, anomalies and insights over HTTP,
and the task target that recomputes a dataset's snapshot. Each route declares its role
and answer models (the OpenAPI document is generated from them); the use cases live
in shared.metrics.service."""

from __future__ import annotations

from typing import TYPE_CHECKING

import functions_framework

from shared.bootstrap import get_deps
from shared.metrics import models as m
from shared.web.http import Router

if TYPE_CHECKING:
    from shared.bootstrap import Deps

router = Router("metrics", deps=get_deps, health_path="/api/metrics/health")


@router.route("/api/metrics", methods=["GET"], role="viewer", query=m.MetricsQuery,
              responses={200: m.MetricsView}, errors=m.VIEW_ERRORS)
def get_metrics(request, deps: Deps, principal):
    """KPIs, series, breakdowns, anomalies and insights of one dataset"""
    from flask import Response

    from shared.metrics import service
    from shared.metrics.view import parse_request

    result = service.get_metrics(deps, principal.tenant_id, parse_request(request.args))
    return Response(result.render(), mimetype="application/json",
                    headers={"Cache-Control": "private, no-cache"})


@router.route("/api/metrics/datasets", methods=["GET"], role="viewer",
              responses={200: m.MetricsDatasets})
def list_datasets(request, deps: Deps, principal):
    """The caller's tenant's datasets"""
    from shared.metrics import service

    return {"datasets": service.list_datasets(deps, principal.tenant_id)}


DATASET = {"dataset_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"}}
NO_DATASET = {404: "The dataset does not exist in the caller's tenant (dataset_not_found)"}


@router.route("/api/metrics/datasets/<dataset_id>/fields", methods=["GET"], role="viewer",
              responses={200: m.MetricsFields}, params=DATASET, errors=NO_DATASET)
def fields(request, deps: Deps, principal, dataset_id):
    """The dataset's fields (type, role, null share, distinct estimate, examples) and
    measures (calculated, business)"""
    from shared.metrics import service

    return service.fields(deps, principal.tenant_id, dataset_id)


@router.route("/api/metrics/datasets/<dataset_id>/measures", methods=["GET"], role="viewer",
              responses={200: m.MetricsMeasures}, params=DATASET, errors=NO_DATASET)
def list_measures(request, deps: Deps, principal, dataset_id):
    """The dataset's calculated measures"""
    from shared.metrics import measures, service

    service.dataset_version(deps, principal.tenant_id, dataset_id)
    return {"measures": measures.calculated(deps, principal.tenant_id, dataset_id)}


@router.route("/api/metrics/datasets/<dataset_id>/measures", methods=["POST"], role="analyst",
              request=m.MeasureCreateRequest, responses={201: m.CalculatedMeasure},
              params=DATASET,
              errors={**NO_DATASET, 400: "The expression is invalid or names an unknown "
                      "field (codes invalid_expression, expression_too_long, unknown_field, "
                      "not_a_number, unsupported_syntax, unknown_function, bare_field)",
                      409: "The name is taken (measure_exists)"})
def create_measure(request, deps: Deps, principal, dataset_id, body):
    """Define a calculated measure: arithmetic over aggregates of fields"""
    from shared.metrics import service

    return service.define_measure(deps, principal.tenant_id, dataset_id,
                                  body.model_dump()), 201


@router.route("/api/metrics/datasets/<dataset_id>/measures/<name>", methods=["DELETE"],
              role="analyst", responses={200: m.MeasureDeleted},
              params={**DATASET, "name": {"type": "string"}},
              errors={404: "No such dataset or measure (dataset_not_found, "
                      "measure_not_found)"})
def delete_measure(request, deps: Deps, principal, dataset_id, name):
    """Delete a calculated measure"""
    from shared.metrics import service

    service.delete_measure(deps, principal.tenant_id, dataset_id, name)
    return {"deleted": name}


@router.route("/api/metrics/export", methods=["GET"], role="viewer", query=m.ExportQuery,
              responses={200: {"type": "string"}}, media_type="text/csv",
              errors=m.VIEW_ERRORS)
def export(request, deps: Deps, principal):
    """The series or the breakdowns of a view as CSV

    Takes the parameters of GET /api/metrics plus `format` and `part`. Text cells that
    a spreadsheet would run as a formula are prefixed with an apostrophe. part=series:
    period,revenue,orders,units,customers; part=breakdowns:
    dimension,rank,value,revenue,share,growth_pct,previous_rank."""
    from flask import Response

    from shared.metrics import export, service
    from shared.metrics.view import parse_request

    _, part, view_args = export.parse_export_args(request.args)
    view = service.get_metrics(deps, principal.tenant_id, parse_request(view_args)).as_dict()
    return Response(export.to_csv(view, part), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="{export.filename(view, part)}"'})


@functions_framework.http
def metrics_http(request):
    return router.dispatch(request)


@functions_framework.http
def metrics_task(request):
    from shared.web.task_handler import run_task

    def work(payload):
        from shared.metrics import service
        from shared.uploads.records import TaskPayload

        task = TaskPayload.parse(payload)
        return service.recompute_snapshot(get_deps(), task.tenant_id, task.dataset_id,
                                          task.version)

    return run_task("metrics-task", request, work)


# Customers: cohorts, RFM segments, predicted lifetime value and the at-risk list, read
# from the analysis the forecast task stores (shared.customers.service). Under
# /api/metrics/ so the hosting rewrite and the local mount of this function serve them.
from shared.customers import models as cm  # noqa: E402  (kept beside its routes)


@router.route("/api/metrics/customers", methods=["GET"], role="viewer", query=cm.CustomersQuery,
              responses={200: cm.CustomersView}, errors=cm.CUSTOMERS_ERRORS)
def get_customers(request, deps: Deps, principal):
    """Cohorts, segments, predictions or the at-risk list of a dataset's customers"""
    from shared.customers import service

    return service.get(deps, principal.tenant_id, cm.parse(request.args))


@router.route("/api/metrics/customers/export", methods=["GET"], role="viewer",
              query=cm.CustomersExportQuery, responses={200: {"type": "string"}},
              media_type="text/csv", errors=cm.CUSTOMERS_ERRORS)
def export_customers(request, deps: Deps, principal):
    """The at-risk list (or every customer's predictions) as CSV"""
    from flask import Response

    from shared.customers import export

    q = cm.parse_export(request.args)
    body = export.to_csv(deps, principal.tenant_id, q.dataset, q.part)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{q.dataset}-customers-{q.part}.csv"'})
