"""Just enough of the Logging query language to evaluate our log-based metrics'
filters against log entries built from real records, so a filter that names a field
the code does not write (or writes differently) fails a test instead of counting
nothing in production. https://cloud.google.com/logging/docs/view/logging-query-language

Supported: comparisons joined by AND; `=`, `!=`, `=~` (regular expression), and
`>=`, `>`, `<=`, `<` on numbers and on severity. Anything else raises, so a filter
written beyond what this checks cannot pass unexamined.
"""

from __future__ import annotations

import json
import re
from typing import Any

SEVERITIES = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT",
              "EMERGENCY"]
_TERM = re.compile(r'^([A-Za-z_][\w.]*)\s*(=~|!=|>=|<=|=|>|<)\s*("(?:[^"\\]|\\.)*"|[\w.-]+)$')
_MISSING = object()


def entry_from_line(line: str, *, resource_type: str, service_name: str) -> dict[str, Any]:
    """A LogEntry as Cloud Logging makes it from one JSON line on stdout: `severity`
    becomes the entry's severity, `time` its timestamp; the rest (with `message`) is
    jsonPayload. https://cloud.google.com/logging/docs/structured-logging"""
    payload = json.loads(line)
    severity = payload.pop("severity", "DEFAULT")
    payload.pop("time", None)
    return {"severity": severity, "jsonPayload": payload,
            "resource": {"type": resource_type, "labels": {"service_name": service_name}}}


def field(entry: dict[str, Any], path: str) -> Any:
    node: Any = entry
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _terms(text: str) -> list[tuple[str, str, str]]:
    if re.search(r"\b(OR|NOT)\b|[()]", re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)):
        raise ValueError(f"unsupported filter syntax: {text}")
    parts = re.split(r"\s+AND\s+", text.strip())
    out = []
    for part in parts:
        m = _TERM.match(part.strip())
        if not m:
            raise ValueError(f"unsupported filter term: {part!r}")
        out.append(m.groups())
    return out


def _value(raw: str) -> str:
    return json.loads(raw) if raw.startswith('"') else raw


def _compare(actual: Any, op: str, expected: str, *, severity: bool) -> bool:
    if actual is _MISSING:
        return op == "!="
    if op == "=~":
        return re.search(expected, str(actual)) is not None
    if op in ("=", "!="):
        same = str(actual) == expected
        return same if op == "=" else not same
    if severity:
        left, right = SEVERITIES.index(str(actual)), SEVERITIES.index(expected)
    else:
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            return False
        left, right = actual, float(expected)
    return {">=": left >= right, ">": left > right, "<=": left <= right, "<": left < right}[op]


def matches(filter_text: str, entry: dict[str, Any]) -> bool:
    return all(_compare(field(entry, path), op, _value(raw), severity=path == "severity")
               for path, op, raw in _terms(filter_text))


def fields_named(filter_text: str) -> set[str]:
    return {path for path, _, _ in _terms(filter_text)}


def extract(extractor: str, entry: dict[str, Any]) -> Any:
    """A label extractor `EXTRACT(path)` applied to an entry (None when absent)."""
    m = re.fullmatch(r"EXTRACT\(([\w.]+)\)", extractor)
    if not m:
        raise ValueError(f"unsupported label extractor: {extractor}")
    value = field(entry, m.group(1))
    return None if value is _MISSING else value
