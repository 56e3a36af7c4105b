"""Structured JSON logging (one object per line, Cloud Logging's field names) with
the request id carried in a context variable."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import traceback
from datetime import UTC, datetime

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tidemark_request_id", default=None)
function_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tidemark_function", default=None)

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "severity": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        fn = function_var.get()
        if fn:
            entry["function"] = fn
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str)


_configured = False


def configure(level: str = "INFO") -> None:
    """Idempotent: the first call installs the JSON handler on the root logger."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "google", "werkzeug", "waitress"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _configured = True
