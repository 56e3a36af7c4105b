"""The auth function: accounts, tenants, roles and tokens under /api/auth/.

Each handler parses the request, calls shared.auth.service / shared.auth.users and
returns JSON; routing and the error -> HTTP mapping are shared.web.http's.
"""

import functions_framework

from shared.web.http import Router

router = Router("auth", health_path="/api/auth/health")


def _deps():
    from shared.bootstrap import get_deps

    return get_deps()


def _body(request):
    from shared.web.http import read_json

    return read_json(request, max_bytes=64 * 1024)


def _ip(request):
    from shared.web.authz import client_ip

    return client_ip(request)


def _admin(request):
    from shared.web.authz import authenticate

    return authenticate(request, _deps(), role="admin")


@router.route("/api/auth/register", methods=["POST"])
def register(request):
    from shared.auth import service

    return service.register(_deps(), _body(request), ip=_ip(request)), 201


@router.route("/api/auth/login", methods=["POST"])
def login(request):
    from shared.auth import service

    return service.login(_deps(), _body(request), ip=_ip(request))


@router.route("/api/auth/refresh", methods=["POST"])
def refresh(request):
    from shared.auth import service

    return service.refresh_session(_deps(), _body(request), ip=_ip(request))


@router.route("/api/auth/logout", methods=["POST"])
def logout(request):
    from shared.auth import service

    service.logout(_deps(), _body(request))
    return None, 204


@router.route("/api/auth/me", methods=["GET"])
def me(request):
    from shared.auth import service
    from shared.web.authz import authenticate

    deps = _deps()
    return service.me(deps, authenticate(request, deps))


@router.route("/api/auth/users", methods=["GET", "POST"])
def users(request):
    from shared.auth import users as users_service

    principal = _admin(request)
    if request.method == "GET":
        return users_service.list_users(_deps(), principal)
    return users_service.create_user(_deps(), principal, _body(request), ip=_ip(request)), 201


@router.route("/api/auth/users/<user_id>", methods=["PATCH"])
def user(request, user_id):
    from shared.auth import users as users_service

    principal = _admin(request)
    return users_service.update_user(_deps(), principal, user_id, _body(request),
                                     ip=_ip(request))


@router.route("/api/auth/invites/accept", methods=["POST"])
def accept_invite(request):
    from shared.auth import users as users_service

    return users_service.accept_invite(_deps(), _body(request), ip=_ip(request))


@router.route("/api/auth/jwks.json", methods=["GET"])
def jwks(request):
    from shared.auth import service

    # Public keys: cacheable, but briefly, so a rotation reaches verifiers soon.
    return service.jwks(_deps()), 200, {"Cache-Control": "public, max-age=300"}


@functions_framework.http
def auth_http(request):
    return router.dispatch(request)
