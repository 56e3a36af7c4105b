"""The one HTTP wrapper: routing (werkzeug), request ids, JSON bodies, and the single
mapping from `shared.errors` to status codes and `{"error": {...}}` bodies."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed as _WzMethodNotAllowed
from werkzeug.exceptions import NotFound as _WzNotFound
from werkzeug.routing import BaseConverter, Map, Rule

from shared import errors
from shared.log import configure, function_var, request_id_var

if TYPE_CHECKING:
    from flask import Request, Response

    from shared.bootstrap import Deps

log = logging.getLogger("tidemark.http")

Handler = Callable[..., Any]
MAX_HEADER_BYTES = 16 * 1024


def json_response(body: Any, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    from flask import Response

    resp = Response(json.dumps(body, default=_json_default, separators=(",", ":")),
                    status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _json_default(value: Any) -> Any:
    from datetime import date, datetime

    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "model_dump"):  # pydantic response models
        return value.model_dump(mode="json", exclude_none=False)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def error_response(exc: errors.AppError) -> Response:
    return json_response(exc.to_dict(), exc.status, exc.headers)


def read_json(request: Request, *, required: bool = True,
              max_bytes: int | None = None) -> dict[str, Any]:
    """The request's JSON object body, or a 400/413/415 that names the problem."""
    from shared.settings import get_settings

    limit = max_bytes or get_settings().max_request_bytes
    if request.content_length is not None and request.content_length > limit:
        raise errors.TooLarge(f"request body exceeds {limit} bytes",
                              details={"limit_bytes": limit})
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise errors.TooLarge(f"request body exceeds {limit} bytes",
                              details={"limit_bytes": limit})
    if not raw:
        if required:
            raise errors.InvalidInput("a JSON object body is required", code="body_required")
        return {}
    ctype = (request.mimetype or "").lower()
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise errors.UnsupportedMediaType(f"expected application/json, got {ctype}")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        pos = getattr(exc, "pos", None)
        raise errors.InvalidInput("request body is not valid JSON", code="malformed_json",
                                  details={"reason": str(exc), "position": pos}) from None
    except RecursionError:
        raise errors.InvalidInput("request body is not valid JSON: nested too deeply",
                                  code="malformed_json",
                                  details={"reason": "nesting too deep"}) from None
    if not isinstance(body, dict):
        raise errors.InvalidInput("request body must be a JSON object", code="malformed_json")
    if b"\\u" in raw:
        _check_unicode(body)
    return body


def _check_unicode(body: dict[str, Any]) -> None:
    """A \\uD800-style escape can smuggle a lone surrogate into a str: not Unicode, and
    a store or warehouse would fail on it later. Refuse it here, naming the problem."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise errors.InvalidInput("request body contains a string that is not valid Unicode "
                                  "(a lone surrogate escape)", code="invalid_unicode") from None
    except RecursionError:
        raise errors.InvalidInput("request body is not valid JSON: nested too deeply",
                                  code="malformed_json",
                                  details={"reason": "nesting too deep"}) from None


class ResourceIdConverter(BaseConverter):
    """`<rid:name>`: an id of the shape we mint (`<prefix>_<token>`, e.g. up_..., u_...).
    A path segment that cannot be an id (such as `health`) does not match, so a sibling
    static route keeps its own method list (405 with an exact Allow header)."""

    regex = r"[a-z]{1,8}_[A-Za-z0-9_-]{1,64}"


@dataclass(frozen=True)
class Route:
    """One routed operation and its contract: what the handler reads and answers. The
    OpenAPI document (shared.web.openapi) is generated from these, so the contract and
    the code cannot drift apart."""

    path: str
    methods: tuple[str, ...]
    handler: Handler
    role: str | None = None           # None: public; else the least role it needs
    request: Any = None               # pydantic model of the JSON body, or a raw
                                      # body's OpenAPI `content` (a dict; not parsed)
    query: Any = None                 # pydantic model of the query parameters
    responses: Mapping[int, Any] = field(default_factory=dict)  # status -> model/schema
    errors: Mapping[int, str] = field(default_factory=dict)     # status -> when it happens
    media_type: str = "application/json"  # of the success answer
    tags: tuple[str, ...] = ()
    params: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # path arg schemas


class Router:
    """Routes of one function. Handlers take (request, deps=..., **path_args), plus
    `principal=` when the route has a `role` and `body=` (the validated `request`
    model) when it has one, and return a JSON-able value (a pydantic
    model included), (value, status), (value, status, headers) or a Response.
    `deps` is the zero-argument provider of the composition root, called per request so
    that nothing is built at import time. Path converters: werkzeug's, plus `rid`."""

    def __init__(self, function: str, *, deps: Callable[[], Deps],
                 health_path: str | None = None, tag: str | None = None,
                 max_body: int | None = None) -> None:
        self.function = function
        self.tag = tag or function
        self._deps = deps
        self._max_body = max_body  # None: settings.max_request_bytes
        self._rules: list[Rule] = []
        self._handlers: dict[str, Route] = {}
        self._map: Map | None = None
        if health_path:
            from shared.web.models import Health

            self.route(health_path, methods=["GET"], responses={200: Health},
                       tags=("health",))(self._health)

    def _health(self, request: Request, deps: Deps) -> dict[str, Any]:
        """Liveness of the function"""
        return {"status": "ok", "function": self.function}

    def route(self, path: str, methods: Iterable[str] = ("GET",), *, role: str | None = None,
              request: Any = None, query: Any = None,
              responses: Mapping[int, Any] | None = None,
              errors: Mapping[int, str] | None = None,
              media_type: str = "application/json",
              tags: Iterable[str] | None = None,
              params: Mapping[str, dict[str, Any]] | None = None,
              ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            endpoint = f"{fn.__module__}.{fn.__qualname__}:{path}"
            route = Route(path, tuple(methods), fn, role, request, query,
                          dict(responses or {200: None}), dict(errors or {}), media_type,
                          tuple(tags) if tags is not None else (self.tag,),
                          dict(params or {}))
            self._rules.append(Rule(path, endpoint=endpoint, methods=list(methods),
                                    strict_slashes=False))
            self._handlers[endpoint] = route
            self._map = None
            return fn
        return register

    @property
    def routes(self) -> list[Route]:
        return list(self._handlers.values())

    @property
    def rules(self) -> list[tuple[str, list[str]]]:
        return [(r.rule, sorted(m for m in (r.methods or ()) if m not in {"HEAD", "OPTIONS"}))
                for r in self._rules]

    def dispatch(self, request: Request) -> Response:
        def run() -> Any:
            if self._map is None:
                self._map = Map(self._rules, converters={"rid": ResourceIdConverter})
            adapter = self._map.bind("localhost", path_info=request.path)
            try:
                endpoint, matched = adapter.match(method=request.method)
            except _WzNotFound:
                raise errors.NotFound(f"no route for {request.path}", code="no_route") from None
            except _WzMethodNotAllowed as exc:
                allowed = ", ".join(sorted(exc.valid_methods or []))
                raise errors.MethodNotAllowed(f"{request.method} is not allowed here",
                                              details={"allowed": allowed},
                                              headers={"Allow": allowed}) from None
            route = self._handlers[endpoint]
            args: dict[str, Any] = dict(matched)
            deps = self._deps()
            if route.role is not None:
                from shared.web.authz import authenticate

                args["principal"] = authenticate(request, deps, role=route.role)
            if route.request is not None and not isinstance(route.request, dict):
                # Authenticated first: an anonymous caller learns nothing about bodies.
                raw = read_json(request, max_bytes=self._max_body)
                args["body"] = route.request.parse(raw)
            return route.handler(request, deps=deps, **args)
        return handle(self.function, request, run)


def handle(function: str, request: Request, run: Callable[[], Any]) -> Response:
    """Run one request: set the request id, map errors, log the outcome."""
    from flask import Response

    configure()
    rid = _request_id(request)
    tok_r, tok_f = request_id_var.set(rid), function_var.set(function)
    started = time.perf_counter()
    status = 500
    try:
        header_bytes = sum(len(k) + len(v) for k, v in request.headers.items())
        if header_bytes > MAX_HEADER_BYTES:
            raise errors.HeadersTooLarge("request headers are too large",
                                         details={"limit_bytes": MAX_HEADER_BYTES})
        result = run()
        resp = _to_response(result)
    except errors.AppError as exc:
        if exc.status >= 500:
            log.warning("dependency unavailable: %s", exc.message)
        resp = error_response(exc)
    except Exception:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        resp = error_response(errors.AppError("internal error", code="internal"))
    finally:
        request_id_var.reset(tok_r)
        function_var.reset(tok_f)
    assert isinstance(resp, Response)
    status = resp.status_code
    resp.headers["X-Request-Id"] = rid
    resp.headers.setdefault("Cache-Control", "no-store")
    logging.getLogger("tidemark.access").info(
        "%s %s %s", request.method, request.path, status,
        extra={"request_id": rid, "function": function, "status": status,
               "latency_ms": round((time.perf_counter() - started) * 1000, 2)})
    return resp


def _request_id(request: Request) -> str:
    rid: str = request.headers.get("X-Request-Id", "")
    if rid and len(rid) <= 128 and rid.replace("-", "").isalnum():
        return rid
    trace: str = request.headers.get("X-Cloud-Trace-Context", "")
    if trace:
        head = trace.split("/", 1)[0]
        if head.isalnum() and len(head) <= 64:
            return head
    return uuid.uuid4().hex


def _to_response(result: Any) -> Response:
    from flask import Response

    if isinstance(result, Response):
        return result
    status, headers = 200, None
    if isinstance(result, tuple):
        if len(result) == 3:
            result, status, headers = result
        else:
            result, status = result
    if isinstance(result, Response):
        result.status_code = status
        return result
    if status == 204:
        return Response(status=204)
    return json_response(result, status, headers)
