"""Record every Google API call the official clients make, per function.

The hooks sit on the transports, not on the SDK's methods: REST clients (Cloud
Storage, BigQuery) are built with `_http=` an `AuthorizedSession` whose requests
response hook records each exchange; gRPC clients (Firestore, Cloud Tasks) are built on
a channel wrapped by `grpc.intercept_channel`. Secret Manager has no emulator; the
in-process fake client is wrapped at its own boundary and records the RPC the real
client would send.

Which function a call belongs to comes from a context variable that the test sets
around each entry point it drives (`Recorder.function_client`), the way each function
runs as its own service on GCP. Calls made while no function runs (the test's own
set-up and checks) are recorded under "test" and play no part in the IAM check.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from typing import Any

from tests.infra.gcp_permissions import Call

CURRENT_FUNCTION: contextvars.ContextVar[str] = contextvars.ContextVar(
    "tidemark_current_function", default="test")


class _Interceptor:
    """A gRPC client interceptor for the call shapes the clients use."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def _record(self, details: Any, request: Any) -> None:
        self.recorder.add("grpc", "POST", details.method, request)

    def intercept_unary_unary(self, continuation, details, request):
        self._record(details, request)
        return continuation(details, request)

    def intercept_unary_stream(self, continuation, details, request):
        self._record(details, request)
        return continuation(details, request)

    def intercept_stream_unary(self, continuation, details, requests):
        self.recorder.add("grpc", "POST", details.method, None)
        return continuation(details, requests)

    def intercept_stream_stream(self, continuation, details, requests):
        self.recorder.add("grpc", "POST", details.method, None)
        return continuation(details, requests)


def _interceptor(recorder: Recorder) -> Any:
    import grpc

    bases = (grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
             grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor)
    cls = type("RecordingInterceptor", (_Interceptor, *bases), {})
    return cls(recorder)


class _RecordingSecrets:
    """The fake Secret Manager client, recording the RPC each method stands for."""

    def __init__(self, fake: Any, recorder: Recorder) -> None:
        self._fake, self._recorder = fake, recorder

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._fake, name)
        if not callable(target) or name.startswith("_") or name == "seed":
            return target
        rpc = "".join(part.title() for part in name.split("_"))

        def call(request: Any = None, **kw: Any) -> Any:
            from google.cloud import secretmanager

            msg_type = getattr(secretmanager, f"{rpc}Request")
            msg = request if isinstance(request, msg_type) else msg_type(**(request or kw))
            self._recorder.add(
                "grpc", "POST",
                f"/google.cloud.secretmanager.v1.SecretManagerService/{rpc}", msg)
            return target(request=request, **kw)
        return call


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    def add(self, transport: str, verb: str, target: str, request: Any) -> None:
        # gapic hands the channel proto-plus messages; keep the plain protobuf.
        if hasattr(type(request), "pb"):
            request = type(request).pb(request)
        self.calls.append(Call(CURRENT_FUNCTION.get(), transport, verb, target, request))

    @contextlib.contextmanager
    def running(self, function: str) -> Iterator[None]:
        token = CURRENT_FUNCTION.set(function)
        try:
            yield
        finally:
            CURRENT_FUNCTION.reset(token)

    def of(self, function: str) -> list[Call]:
        return [c for c in self.calls if c.function == function]

    # ---------------------------------------------------------------- transports

    def _hook(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        req = response.request
        self.add("rest", req.method, req.url, req.body)
        return response

    def session(self) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.auth.transport.requests import AuthorizedSession

        session = AuthorizedSession(AnonymousCredentials())
        session.hooks["response"].append(self._hook)
        return session

    def channel(self, host: str, **options: Any) -> Any:
        import grpc

        return grpc.intercept_channel(grpc.insecure_channel(host, **options), _interceptor(self))

    # ---------------------------------------------------------------- clients

    def storage_client(self, url: str, project: str) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(project=project, credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": url}, _http=self.session())

    def bigquery_client(self, url: str, project: str) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                               client_options={"api_endpoint": url}, _http=self.session())

    def tasks_client(self, host: str) -> Any:
        from google.cloud import tasks_v2
        from google.cloud.tasks_v2.services.cloud_tasks.transports import (
            CloudTasksGrpcTransport,
        )

        return tasks_v2.CloudTasksClient(
            transport=CloudTasksGrpcTransport(channel=self.channel(host)))

    def firestore_client(self, host: str, project: str) -> Any:
        """A firestore.Client whose GAPIC layer runs on the intercepted channel. The
        Client builds that layer on first use from `_firestore_api_internal`; setting
        it first is the only way its constructor leaves to choose the channel."""
        from google.cloud import firestore
        from google.cloud.firestore_v1.services.firestore import FirestoreClient
        from google.cloud.firestore_v1.services.firestore.transports import (
            FirestoreGrpcTransport,
        )

        from tests.support.emulators import _env

        with _env(FIRESTORE_EMULATOR_HOST=host):
            client = firestore.Client(project=project)
        channel = self.channel(host, options=[("Authorization", "Bearer owner")])
        client._firestore_api_internal = FirestoreClient(
            transport=FirestoreGrpcTransport(host=host, channel=channel))
        return client

    def secret_client(self, fake: Any) -> Any:
        return _RecordingSecrets(fake, self)

    # ---------------------------------------------------------------- entry points

    def function_client(self, make: Any, function: str, target: str,
                        signature_type: str = "http", deps: Any = None) -> Any:
        """function_client's test client, with every request run as `function` (on
        `deps` when given: each function is its own service with its own instances)."""
        return _AsFunction(make(function, target, signature_type), self, function, deps)


class _AsFunction:
    _VERBS = re.compile(r"^(get|post|put|patch|delete|open)$")

    def __init__(self, client: Any, recorder: Recorder, function: str, deps: Any) -> None:
        self._client, self._recorder, self._function = client, recorder, function
        self._deps = deps

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not self._VERBS.match(name):
            return attr

        def run(*args: Any, **kwargs: Any) -> Any:
            from shared.bootstrap import override

            scope = override(self._deps) if self._deps is not None else contextlib.nullcontext()
            with scope, self._recorder.running(self._function):
                return attr(*args, **kwargs)
        return run
