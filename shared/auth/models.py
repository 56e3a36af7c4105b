"""Request and response bodies of the auth API. The checks (and their messages) are
those the API has always answered with; the OpenAPI document is generated from these
classes, so what is documented is what is enforced."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, ValidationInfo, field_validator

from shared.auth.validation import EMAIL_PATTERN, MAX_EMAIL, normalize_email
from shared.tenants import TenantSettings, TenantSettingsUpdate
from shared.web.authz import ROLES
from shared.web.models import RequestModel, problem

# The auth function reads at most this much JSON: its bodies are a few short fields.
MAX_BODY_BYTES = 64 * 1024


def _text(max_len: int, *, strip: bool = True) -> BeforeValidator:
    def check(value: Any) -> str:
        if value is None:
            raise problem("is required")
        if not isinstance(value, str):
            raise problem("must be a string")
        if strip:
            value = value.strip()
        if not value:
            raise problem("must not be empty")
        if len(value) > max_len:
            raise problem(f"must be at most {max_len} characters")
        if any(unicodedata.category(c) == "Cc" for c in value):
            raise problem("must not contain control characters")
        return value
    return BeforeValidator(check)


def _optional(validator: BeforeValidator) -> BeforeValidator:
    """An optional field: null means absent."""
    return BeforeValidator(lambda v: None if v is None else validator.func(v))  # type: ignore[call-arg]


def _email(value: Any) -> str:
    value = _text(MAX_EMAIL).func(value)  # type: ignore[call-arg]
    value = normalize_email(value)
    if not EMAIL_PATTERN.match(value):
        raise problem("is not a valid email address")
    return value


def _role(value: Any) -> str:
    if value is None:
        raise problem("is required")
    if value not in ROLES:
        raise problem(f"must be one of {', '.join(ROLES)}")
    return value


def _boolean(value: Any) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise problem("must be true or false")
    return value


def _limits(min_len: int, max_len: int, **more: Any) -> Any:
    return Field(json_schema_extra={"minLength": min_len, "maxLength": max_len, **more})


Email = Annotated[str, BeforeValidator(_email), _limits(3, MAX_EMAIL, format="email")]
Name = Annotated[str, _text(100), _limits(1, 100)]
OptionalName = Annotated[str | None, _optional(_text(100)), _limits(1, 100)]
# Never stripped: spaces are part of a password.
Password = Annotated[str, _text(1024, strip=False), _limits(1, 1024)]
NewPassword = Annotated[str, _text(1024, strip=False), Field(
    json_schema_extra={"minLength": 10, "maxLength": 128},
    description="Not the email (or its local part), not a commonly used password")]
Role = Annotated[Literal["viewer", "analyst", "admin"], BeforeValidator(_role), Field(
    description="viewer reads; analyst also uploads; admin also manages users")]


def _zone(value: Any) -> str | None:
    """An IANA zone name, checked against the tz database the settings use."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise problem("must be an IANA time zone name such as Europe/Paris")
    try:
        TenantSettings.model_validate({"time_zone": value.strip()})
    except ValueError:
        raise problem(f"unknown time zone {value.strip()!r}: use an IANA name such as "
                      "Europe/Paris") from None
    return value.strip()


TimeZone = Annotated[str | None, BeforeValidator(_zone), Field(
    description="IANA time zone of the business (the web app sends the browser's); "
                "sales without an offset are its local time. Default UTC",
    json_schema_extra={"maxLength": 64})]


def _policy(password: str, info: ValidationInfo) -> str:
    from shared.auth import passwords

    found = passwords.policy_problems(password, info.data.get("email") or "")
    if found:
        raise problem(*found)
    return password


class RegisterRequest(RequestModel):
    email: Email
    password: NewPassword
    tenant_name: Name
    name: OptionalName = None
    time_zone: TimeZone = None

    check_password = field_validator("password")(_policy)


class TenantSettingsRequest(RequestModel, TenantSettingsUpdate):
    """A partial change of the tenant's settings: only the fields given change."""

    time_zone: TimeZone = None

    model_config = RequestModel.model_config | {"json_schema_extra": {"minProperties": 1}}

    @classmethod
    def parse(cls, body, extra=None):
        def some(raw: dict[str, Any], problems: dict[str, list[str]]) -> None:
            if not raw and not problems:
                problems["body"] = ["give at least one setting to change"]
        return super().parse(body, some)


class LoginRequest(RequestModel):
    email: Email
    password: Password


class RefreshRequest(RequestModel):
    refresh_token: Annotated[str, _text(200), _limits(1, 200)]


class CreateUserRequest(RequestModel):
    email: Email
    role: Role
    name: OptionalName = None
    password: Annotated[NewPassword | None, _optional(_text(1024, strip=False))] = Field(
        default=None, description="With a password the user is active at once; without "
                                  "one they are invited")

    @field_validator("password")
    @classmethod
    def check_password(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else _policy(value, info)


class UpdateUserRequest(RequestModel):
    role: Annotated[Role | None, BeforeValidator(lambda v: v if v is None else _role(v))] = None
    disabled: Annotated[bool | None, BeforeValidator(_boolean)] = None

    model_config = RequestModel.model_config | {"json_schema_extra": {"minProperties": 1}}

    @classmethod
    def parse(cls, body, extra=None):
        def either(raw: dict[str, Any], problems: dict[str, list[str]]) -> None:
            if raw.get("role") is None and raw.get("disabled") is None and not problems:
                problems["role"] = ["give role and/or disabled"]
        return super().parse(body, either)


class AcceptInviteRequest(RequestModel):
    token: Annotated[str, _text(300), _limits(1, 300)]
    password: NewPassword


class ForgotPasswordRequest(RequestModel):
    email: Email


_Token = Annotated[str, _text(200), _limits(1, 200)]


class ResetPasswordRequest(RequestModel):
    token: _Token = Field(description="The token of the reset link (after #token=)")
    password: NewPassword


class VerifyEmailRequest(RequestModel):
    token: _Token = Field(description="The token of the confirmation link (after #token=)")


class ChangeEmailRequest(RequestModel):
    email: Email
    password: Password = Field(description="The current password, asked again")


# ----------------------------------------------------------------------- responses

class AuthUser(BaseModel):
    id: str
    tenant_id: str
    email: str
    name: str | None = None
    role: Literal["viewer", "analyst", "admin"]
    disabled: bool
    status: Literal["active", "invited", "disabled"]
    email_verified: bool = Field(True, description="Whether the address was confirmed "
                                 "through a link sent to it")
    pending_email: str | None = Field(None, description="A new address waiting for "
                                      "its confirmation link to be opened")
    created_at: datetime | None = None
    updated_at: datetime | None = None


class AuthTenant(BaseModel):
    id: str
    name: str
    created_at: datetime | None = None
    settings: TenantSettings = Field(description="The business's time zone, calendar and "
                                     "holiday country")


class AuthTenantSettings(BaseModel):
    """The tenant's settings (after the change, for a PATCH)"""

    settings: TenantSettings
    rederive: list[str] = Field(default_factory=list, description="Datasets whose "
                                "business dates must be re-derived for a new time zone: "
                                "their metrics say so until each is uploaded again "
                                "(replace)")


class AuthTokens(BaseModel):
    access_token: str = Field(description="ES256 JWT (typ at+jwt), 15 minutes")
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds the access token is valid")
    refresh_token: str = Field(description="Opaque, single use; rotate via /api/auth/refresh")
    refresh_expires_in: int


class AuthSession(AuthTokens):
    """A new session: tokens, the user and their tenant"""

    user: AuthUser
    tenant: AuthTenant


class AuthRefreshed(AuthTokens):
    """The next access token and refresh token"""

    user: AuthUser


class AuthMe(BaseModel):
    """The caller"""

    user: AuthUser
    tenant: AuthTenant


class AuthInvite(BaseModel):
    token: str = Field(description="One-time; give it only to the invitee")
    accept_url: Literal["/api/auth/invites/accept"]
    method: Literal["POST"]
    expires_at: datetime


class AuthCreatedUser(BaseModel):
    """The new user (and the invite when no password was given)"""

    user: AuthUser
    invite: AuthInvite | None = None


class AuthUserList(BaseModel):
    """Every user of the tenant, oldest first"""

    users: list[AuthUser]


class AuthUpdatedUser(BaseModel):
    """The user after the change"""

    user: AuthUser


class AuthAccepted(BaseModel):
    """The request was taken; the message says what happens next"""

    status: Literal["accepted"]
    message: str


class AuthEmailVerified(BaseModel):
    """The address is confirmed"""

    email: str
    verified: Literal[True]


class AuthJwk(BaseModel):
    kty: Literal["EC"]
    crv: Literal["P-256"]
    x: str
    y: str
    kid: str
    alg: Literal["ES256"]
    use: Literal["sig"]


class AuthJwks(BaseModel):
    """The current signing key first, then the previous one during a rotation window.
    Cacheable for 5 minutes."""

    keys: list[AuthJwk]
