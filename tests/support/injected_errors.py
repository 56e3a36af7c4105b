"""A transport hook for the Google API clients: answer chosen requests with an error
response, as the service would, before letting the real request through.

The client under test is the real one, talking HTTP to the emulator; only the first
matching requests get the injected answer, so retry, backoff and error mapping run
exactly as they would against Google."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

Match = Callable[[requests.PreparedRequest], bool]


def api_error(status: int, reason: str, message: str = "injected") -> dict[str, Any]:
    """A Google API error body: {"error": {"code", "message", "errors": [ErrorProto]}}
    (https://cloud.google.com/bigquery/docs/troubleshoot-quotas, "Overview")."""
    return {"error": {"code": status, "message": f"{message}: {reason}", "status": "",
                      "errors": [{"domain": "global", "reason": reason,
                                  "message": f"{message}: {reason}"}]}}


class InjectingAdapter(HTTPAdapter):
    """Answers the next matching requests with the queued answers: (status, reason) for
    an API error, or (status, body) for a response body of the test's choosing."""

    def __init__(self, errors: list[tuple[int, str | dict[str, Any]]], match: Match) -> None:
        super().__init__()
        self.pending = list(errors)
        self.match = match
        self.injected: list[tuple[str, int, str]] = []
        self.passed: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any,  # type: ignore[override]
             **kwargs: Any) -> requests.Response:
        if self.pending and self.match(request):
            status, answer = self.pending.pop(0)
            body = api_error(status, answer) if isinstance(answer, str) else answer
            reason = answer if isinstance(answer, str) else "body"
            self.injected.append((str(request.url), status, reason))
            resp = requests.Response()
            resp.status_code = status
            resp._content = json.dumps(body).encode()
            resp.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
            resp.url = str(request.url)
            resp.request = request
            resp.reason = "injected"
            return resp
        if self.match(request):
            self.passed.append(str(request.url))
        return super().send(request, *args, **kwargs)


def session_with(adapter: InjectingAdapter, base_url: str) -> requests.Session:
    session = requests.Session()
    session.mount(base_url, adapter)
    return session
