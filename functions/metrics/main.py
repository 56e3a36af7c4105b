"""The metrics function: KPIs, series, breakdowns, anomalies and insights over HTTP,
and the task target that recomputes a dataset's snapshot. Routing and errors go
through shared.web.http; the use cases live in shared.metrics.service."""

import functions_framework

from shared.web.http import Router

router = Router("metrics", health_path="/api/metrics/health")


@router.route("/api/metrics", methods=["GET"])
def get_metrics(request):
    from flask import Response

    from shared.bootstrap import get_deps
    from shared.metrics import service
    from shared.metrics.view import parse_request
    from shared.web.authz import authenticate

    deps = get_deps()
    principal = authenticate(request, deps, role="viewer")
    result = service.get_metrics(deps, principal.tenant_id, parse_request(request.args))
    return Response(result.render(), mimetype="application/json",
                    headers={"Cache-Control": "private, no-cache"})


@router.route("/api/metrics/datasets", methods=["GET"])
def list_datasets(request):
    from shared.bootstrap import get_deps
    from shared.metrics import service
    from shared.web.authz import authenticate

    deps = get_deps()
    principal = authenticate(request, deps, role="viewer")
    return {"datasets": service.list_datasets(deps, principal.tenant_id)}


@router.route("/api/metrics/export", methods=["GET"])
def export(request):
    from flask import Response

    from shared.bootstrap import get_deps
    from shared.metrics import export, service
    from shared.metrics.view import parse_request
    from shared.web.authz import authenticate

    deps = get_deps()
    principal = authenticate(request, deps, role="viewer")
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

    def work(payload, info):
        from shared.bootstrap import get_deps
        from shared.metrics import service
        from shared.uploads.records import TaskPayload

        task = TaskPayload.parse(payload)
        return service.recompute_snapshot(get_deps(), task.tenant_id, task.dataset_id,
                                          task.version)

    return run_task("metrics-task", request, work)
