"""Bodies every function shares (health, errors, task payloads and outcomes) and the one
place a pydantic ValidationError becomes our 400: `{"error": {"code": "invalid_fields",
"details": {"fields": {<field>: [messages]}}}}`, every bad field named at once.

Field checks raise `PydanticCustomError` with the exact message a client reads, so the
messages stay ours rather than pydantic's wording."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from shared import errors

M = TypeVar("M", bound="RequestModel")


def problem(message: str, *more: str) -> PydanticCustomError:
    """A field error carrying one or more client-facing messages."""
    return PydanticCustomError("tidemark", "{message}",
                               {"message": message, "problems": [message, *more]})


class RequestModel(BaseModel):
    """A JSON request body. Unknown fields are refused (named "unknown field")."""

    model_config = ConfigDict(extra="forbid")
    # What a missing required field reads as, per field ("is required" otherwise).
    missing_messages: ClassVar[dict[str, str]] = {}

    @classmethod
    def error_message(cls, fields: dict[str, list[str]]) -> str:
        return f"invalid fields: {', '.join(sorted(fields))}"

    @classmethod
    def parse(cls: type[M], body: Mapping[str, Any] | BaseModel,
              extra: Callable[[dict[str, Any], dict[str, list[str]]], None] | None = None) -> M:
        """Validate `body`; on any problem raise one InvalidInput naming every field.
        `extra(raw, problems)` may add checks that need the other fields' values (a
        password policy that compares with the email) so they are reported together."""
        if isinstance(body, cls):
            return body
        raw = dict(body) if isinstance(body, Mapping) else {}
        problems: dict[str, list[str]] = {}
        model = None
        try:
            model = cls.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                field = str(err["loc"][0]) if err["loc"] else "body"
                problems.setdefault(field, []).extend(cls._messages(field, err))
        if extra is not None:
            extra(raw, problems)
        if problems:
            raise errors.InvalidInput(cls.error_message(problems), code="invalid_fields",
                                      details={"fields": problems})
        assert model is not None
        return model

    @classmethod
    def _messages(cls, field: str, err: Any) -> list[str]:
        kind, ctx = err["type"], err.get("ctx") or {}
        if kind == "missing":
            return [cls.missing_messages.get(field, "is required")]
        if kind == "extra_forbidden":
            return ["unknown field"]
        if "problems" in ctx:
            return list(ctx["problems"])
        return [str(err["msg"])]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_fields")
    message: str = Field(description="What went wrong, for a person")
    details: Any = Field(description="Code-specific facts; validation errors put per-field "
                                     "messages in details.fields.<field> (a list of strings)")


class Error(BaseModel):
    """Every error answer: {"error": {"code", "message", "details"}}."""

    error: ErrorDetail


class Health(BaseModel):
    """The function is up"""

    status: Literal["ok"]
    function: str


class StackHealth(BaseModel):
    status: str
    functions: dict[str, str]


class TaskPayload(RequestModel):
    """What the task queue posts to both task targets after a load."""

    model_config = ConfigDict(extra="allow")

    tenant_id: str
    dataset_id: str
    version: int = Field(ge=1)


class TaskOutcome(BaseModel):
    """Done, superseded by a newer version, or failed permanently (status "failed",
    answered 2xx so the queue does not retry it)."""

    status: Literal["done", "failed"]
    result: dict[str, Any] | None = None
    error: ErrorDetail | None = None
