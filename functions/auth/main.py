"""The auth function: accounts, tenants, roles and tokens under /api/auth/.

Each route declares its contract (role, body and answer models; the OpenAPI document
is generated from them) and calls shared.auth.service / shared.auth.users; routing,
authentication and the error -> HTTP mapping are shared.web.http's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import functions_framework

from shared.auth import models as m
from shared.bootstrap import get_deps
from shared.web.http import Router

if TYPE_CHECKING:
    from shared.bootstrap import Deps

router = Router("auth", deps=get_deps, health_path="/api/auth/health",
                max_body=m.MAX_BODY_BYTES)
LIMITED = {429: "Too many attempts (code rate_limited; details.limit, details.retry_after_s)"}
USER_ID = {"user_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}


def _ip(request):
    from shared.web.authz import client_ip

    return client_ip(request)


@router.route("/api/auth/register", methods=["POST"], request=m.RegisterRequest,
              responses={201: m.AuthSession},
              errors={409: "The email is already registered (code email_taken)", **LIMITED})
def register(request, deps: Deps, body):
    """Create a tenant and its first admin, and sign that admin in"""
    from shared.auth import service

    return service.register(deps, body, ip=_ip(request)), 201


@router.route("/api/auth/login", methods=["POST"], request=m.LoginRequest,
              responses={200: m.AuthSession},
              errors={401: "Unknown email, wrong password or unaccepted invite "
                           "(code invalid_credentials)",
                      403: "The password is right but the account is disabled "
                           "(code account_disabled)", **LIMITED})
def login(request, deps: Deps, body):
    """Exchange email and password for a session

    Unknown emails, wrong passwords and unaccepted invites all answer the same 401 in
    the same time. Limited per client address and per account (failures)."""
    from shared.auth import service

    return service.login(deps, body, ip=_ip(request))


@router.route("/api/auth/refresh", methods=["POST"], request=m.RefreshRequest,
              responses={200: m.AuthRefreshed},
              errors={401: "Invalid, expired or reused refresh token (codes "
                           "invalid_refresh_token, refresh_token_reused)"})
def refresh(request, deps: Deps, body):
    """Rotate a refresh token into a new access token and refresh token

    The presented refresh token is spent. Presenting a spent token again revokes every
    token of its family (code refresh_token_reused)."""
    from shared.auth import service

    return service.refresh_session(deps, body, ip=_ip(request))


@router.route("/api/auth/logout", methods=["POST"], request=m.RefreshRequest,
              responses={204: None})
def logout(request, deps: Deps, body):
    """Revoke a refresh token and its family (idempotent; unknown tokens answer 204)"""
    from shared.auth import service

    service.logout(deps, body)
    return None, 204


@router.route("/api/auth/me", methods=["GET"], role="viewer", responses={200: m.AuthMe})
def me(request, deps: Deps, principal):
    """The signed-in user and their tenant"""
    from shared.auth import service

    return service.me(deps, principal)


@router.route("/api/auth/tenant/settings", methods=["GET"], role="admin",
              responses={200: m.AuthTenantSettings})
def tenant_settings(request, deps: Deps, principal):
    """The tenant's time zone, calendar and holiday country (admin)"""
    from shared.auth import tenant_settings

    return tenant_settings.read(deps, principal)


@router.route("/api/auth/tenant/settings", methods=["PATCH"], role="admin",
              request=m.TenantSettingsRequest, responses={200: m.AuthTenantSettings})
def change_tenant_settings(request, deps: Deps, principal, body):
    """Change the tenant's settings (admin; audited)

    A new time zone marks every dataset holding rows as awaiting a re-derive of its
    business dates (listed in `rederive`); its metrics say so until its uploads are
    sent again in replace mode."""
    from shared.auth import tenant_settings

    return tenant_settings.change(deps, principal, body, ip=_ip(request))


@router.route("/api/auth/users", methods=["GET"], role="admin",
              responses={200: m.AuthUserList})
def list_users(request, deps: Deps, principal):
    """Users of the caller's tenant (admin)"""
    from shared.auth import users

    return users.list_users(deps, principal)


@router.route("/api/auth/users", methods=["POST"], role="admin", request=m.CreateUserRequest,
              responses={201: m.AuthCreatedUser},
              errors={403: "The admin's own address is not confirmed yet (code "
                           "email_unverified)",
                      409: "The email is already registered (code email_taken)"})
def create_user(request, deps: Deps, principal, body):
    """Create a user in the caller's tenant, or invite one (admin)

    With a password the user is active at once. Without one the user is invited: the
    answer carries a one-time token (valid 7 days) to pass on, which is redeemed at
    POST /api/auth/invites/accept. The email is reserved either way."""
    from shared.auth import users

    return users.create_user(deps, principal, body, ip=_ip(request)), 201


@router.route("/api/auth/users/<user_id>", methods=["PATCH"], role="admin",
              request=m.UpdateUserRequest, responses={200: m.AuthUpdatedUser}, params=USER_ID,
              errors={404: "No such user in the caller's tenant (code user_not_found)",
                      409: "The change would leave no active admin (code last_admin)"})
def update_user(request, deps: Deps, principal, user_id, body):
    """Change a user's role and/or disable or re-enable them (admin)

    Disabling revokes the user's refresh tokens and makes their access tokens fail at
    once. A tenant always keeps one active admin (409 last_admin)."""
    from shared.auth import users

    return users.update_user(deps, principal, user_id, body, ip=_ip(request))


@router.route("/api/auth/invites/accept", methods=["POST"], request=m.AcceptInviteRequest,
              responses={200: m.AuthSession},
              errors={400: "Malformed body, weak password, or an invalid, used or expired "
                           "invite (code invalid_invite)", **LIMITED})
def accept_invite(request, deps: Deps, body):
    """Redeem an invite token by choosing a password; signs the user in"""
    from shared.auth import users

    return users.accept_invite(deps, body, ip=_ip(request))


@router.route("/api/auth/password/forgot", methods=["POST"], request=m.ForgotPasswordRequest,
              responses={202: m.AuthAccepted}, errors={**LIMITED})
def forgot_password(request, deps: Deps, body):
    """Mail a password-reset link (valid 30 minutes, single use)

    The answer is the same, in the same time, whether or not an account uses the
    address; an address without one receives a notice instead of a link. Limited per
    client address and per email address."""
    from shared.auth import recovery

    recovery.request_reset(deps, body, ip=_ip(request))
    return {"status": "accepted", "message": "If an account uses this address, a link to "
            "reset its password is on its way."}, 202


@router.route("/api/auth/password/reset", methods=["POST"], request=m.ResetPasswordRequest,
              responses={204: None},
              errors={400: "Weak password, or an invalid, used or expired link (code "
                           "invalid_reset_token)", **LIMITED})
def reset_password(request, deps: Deps, body):
    """Set a new password with the token of a reset link

    Spends the link (and any other sent before it), signs the user out everywhere
    (refresh tokens revoked, access tokens end at once) and confirms the address."""
    from shared.auth import recovery

    recovery.reset_password(deps, body, ip=_ip(request))
    return None, 204


@router.route("/api/auth/email/verify", methods=["POST"], request=m.VerifyEmailRequest,
              responses={200: m.AuthEmailVerified},
              errors={400: "An invalid, used or expired link (code "
                           "invalid_verification_token)",
                      409: "The new address was registered meanwhile (code email_taken)",
                      **LIMITED})
def verify_email(request, deps: Deps, body):
    """Confirm an address with the token of a confirmation link

    For an email change, this is when the account's address changes."""
    from shared.auth import verification

    return verification.verify(deps, body, ip=_ip(request))


@router.route("/api/auth/email/resend", methods=["POST"], role="viewer",
              responses={202: m.AuthAccepted},
              errors={409: "The address is already confirmed (code already_verified)",
                      **LIMITED})
def resend_verification(request, deps: Deps, principal):
    """Mail the signed-in user a new confirmation link"""
    from shared.auth import verification

    verification.resend(deps, principal)
    return {"status": "accepted", "message": "A new confirmation link is on its way."}, 202


@router.route("/api/auth/email/change", methods=["POST"], role="viewer",
              request=m.ChangeEmailRequest, responses={202: m.AuthAccepted},
              errors={401: "Wrong password (code invalid_credentials)",
                      409: "The address is registered (code email_taken)", **LIMITED})
def change_email(request, deps: Deps, principal, body):
    """Change the signed-in user's address, once a link sent to it is opened

    The current password is asked again; the account keeps its address until then."""
    from shared.auth import verification

    verification.request_change(deps, principal, body, ip=_ip(request))
    return {"status": "accepted", "message": "A confirmation link is on its way to the "
            "new address."}, 202


@router.route("/api/auth/jwks.json", methods=["GET"], responses={200: m.AuthJwks})
def jwks(request, deps: Deps):
    """The public keys access tokens are verified with (RFC 7517 JWK Set)"""
    from shared.auth import service

    # Public keys: cacheable, but briefly, so a rotation reaches verifiers soon.
    return service.jwks(deps), 200, {"Cache-Control": "public, max-age=300"}


@functions_framework.http
def auth_http(request):
    return router.dispatch(request)
