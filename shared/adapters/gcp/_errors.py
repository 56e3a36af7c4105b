"""One mapping from google-api-core exceptions to shared.errors, for every gcp adapter.

Messages name the operation and the resource, never the SDK's text (which can carry
project ids, URLs and request details).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared import errors

log = logging.getLogger("tidemark.gcp")


# BigQuery's reasons for a refusal that passes with time: a rate limit or quota (HTTP
# 403 with reason rateLimitExceeded or quotaExceeded, or 429) and a failure on its side
# (backendError, internalError; 500 and 503). Google asks for a retry with exponential
# backoff (https://cloud.google.com/bigquery/docs/error-messages;
# https://cloud.google.com/bigquery/docs/troubleshoot-quotas). A 403 with any other
# reason (accessDenied) stays permanent.
RETRYABLE_REASONS = frozenset({"rateLimitExceeded", "quotaExceeded", "backendError",
                               "internalError"})


def reasons(exc: BaseException) -> set[str]:
    """The `reason` of each ErrorProto an API error carries (its `errors` list), and
    of a failed job's errorResult, which the client raises with the same shape."""
    found: set[str] = set()
    for item in getattr(exc, "errors", None) or ():
        reason = item.get("reason") if isinstance(item, dict) else None
        if isinstance(reason, str):
            found.add(reason)
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str):
        found.add(reason)
    return found


def is_transient(exc: BaseException) -> bool:
    """True for a BigQuery error that a later attempt may pass: a retryable reason,
    or a 429/500/503 status."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.TooManyRequests | gexc.InternalServerError
                  | gexc.ServiceUnavailable):
        return True
    return isinstance(exc, gexc.GoogleAPICallError) and bool(reasons(exc) & RETRYABLE_REASONS)


def retry_policy(initial_s: float, deadline_s: float) -> Any:
    """Backoff for quota and transient errors of an API call: from 1 s, doubling up to
    32 s, as BigQuery's SLA asks of clients (https://cloud.google.com/bigquery/sla,
    "Back-off Requirements"), for at most deadline_s. A job insert retried after a lost
    answer meets its own job id (409), which the caller handles."""
    from google.api_core.retry import Retry

    return Retry(predicate=is_transient, initial=initial_s, maximum=32.0, multiplier=2.0,
                 timeout=deadline_s)


def wait_before_next(failure: BaseException, started: float, attempt: int,
                     initial_s: float, deadline_s: float) -> bool:
    """After a job failed: True (having waited) when the failure is a quota or
    transient one and the deadline, counted from `started` (time.monotonic()), leaves
    room for another job."""
    import time

    if not is_transient(failure):
        return False
    wait = min(32.0, initial_s * 2 ** attempt)
    if time.monotonic() + wait - started > deadline_s:
        return False
    time.sleep(wait)
    return True


def translate(exc: BaseException, what: str) -> errors.AppError:
    """The shared.errors type for an SDK exception raised while doing `what`."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, errors.AppError):
        return exc
    quota = reasons(exc) & {"rateLimitExceeded", "quotaExceeded"}
    if isinstance(exc, gexc.GoogleAPICallError) and (quota or is_transient(exc)):
        return errors.Unavailable(
            f"{what}: {'quota or rate limit reached' if quota else 'backend error'}, "
            "retrying later", code="backend_busy",
            details={"reasons": sorted(reasons(exc) & RETRYABLE_REASONS)})
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
