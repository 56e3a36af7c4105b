"""One mapping from google-api-core exceptions to shared.errors, for every gcp adapter.

Messages name the operation and the resource, never the SDK's text (which can carry
project ids, URLs and request details).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from shared import errors

log = logging.getLogger("tidemark.gcp")


def translate(exc: BaseException, what: str) -> errors.AppError:
    """The shared.errors type for an SDK exception raised while doing `what`."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, errors.AppError):
        return exc
    if isinstance(exc, gexc.NotFound):
        return errors.NotFound(f"{what}: not found")
    if isinstance(exc, gexc.AlreadyExists):
        return errors.Conflict(f"{what}: already exists", code="already_exists")
    if isinstance(exc, gexc.PreconditionFailed | gexc.FailedPrecondition):
        return errors.PreconditionFailed(f"{what}: precondition failed")
    if isinstance(exc, gexc.Conflict | gexc.Aborted):
        return errors.Conflict(f"{what}: conflicting change")
    if isinstance(exc, gexc.TooManyRequests | gexc.ServiceUnavailable | gexc.InternalServerError
                  | gexc.DeadlineExceeded | gexc.GatewayTimeout | gexc.BadGateway
                  | gexc.RetryError | TimeoutError | ConnectionError):
        return errors.Unavailable(f"{what}: service temporarily unavailable")
    if isinstance(exc, gexc.BadRequest | gexc.InvalidArgument):
        log.error("%s: rejected by the service: %s", what, exc)
        return errors.AppError(f"{what}: rejected by the service", code="backend_rejected")
    log.error("%s: unexpected error: %r", what, exc)
    return errors.AppError(f"{what}: backend error", code="backend_error")


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Run a block, turning google-api-core (and transport) errors into shared.errors."""
    from google.api_core import exceptions as gexc

    try:
        yield
    except errors.AppError:
        raise
    except (gexc.GoogleAPIError, TimeoutError, ConnectionError) as exc:
        raise translate(exc, what) from exc
    except Exception as exc:
        # requests' transport errors (connection refused, read timeout) are transient.
        if type(exc).__module__.startswith(("requests", "urllib3", "google.auth")):
            log.warning("%s: transport error: %r", what, exc)
            raise errors.Unavailable(f"{what}: service temporarily unavailable") from exc
        raise
