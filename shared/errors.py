"""Domain errors. Services raise these; only shared.web.http turns them into HTTP."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An error a caller can act on. `code` is stable and machine-readable."""

    status = 500
    code = "internal"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details
        self.headers = dict(headers or {})

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body["details"] = self.details if self.details is not None else {}
        return {"error": body}


class InvalidInput(AppError):
    status, code = 400, "invalid_input"


class Unauthenticated(AppError):
    status, code = 401, "unauthenticated"

    def __init__(self, message: str = "authentication required", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="tidemark"')


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class MethodNotAllowed(AppError):
    status, code = 405, "method_not_allowed"


class Conflict(AppError):
    status, code = 409, "conflict"


class PreconditionFailed(Conflict):
    """A compare-and-set lost the race: the stored version is not the expected one."""

    code = "precondition_failed"


class TooLarge(AppError):
    status, code = 413, "too_large"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class HeadersTooLarge(AppError):
    status, code = 431, "headers_too_large"


class RateLimited(AppError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.headers["Retry-After"] = str(max(1, int(retry_after_s)))


class Unavailable(AppError):
    """A transient failure of a dependency: the caller (or the task queue) should retry."""

    status, code, retryable = 503, "unavailable", True
