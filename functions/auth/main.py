"""The auth function: HTTP entry points. Routing and errors go through shared.http."""

import functions_framework

from shared.http import Router

router = Router("auth", health_path="/api/auth/health")


@functions_framework.http
def auth_http(request):
    return router.dispatch(request)
