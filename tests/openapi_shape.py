"""Check a real response against a schema of the merged /api/openapi.json: required
fields, types (with nullability), nested objects and arrays, enum values."""

from __future__ import annotations

from typing import Any

from shared.web.openapi import build_spec

SCHEMAS = build_spec()["components"]["schemas"]
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,)}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def check(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    schema = _resolve(schema)
    if "oneOf" in schema:
        options = [_resolve(s) for s in schema["oneOf"]]
        if value is None:
            assert any(o.get("type") == "null" for o in options), f"{where} is null"
            return
        schema = next(o for o in options if o.get("type") != "null")
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    if value is None:
        assert not kinds or "null" in kinds, f"{where} is null"
        return
    if kinds:
        ok = tuple(t for k in kinds if k != "null" for t in _TYPES[k])
        assert isinstance(value, ok), f"{where}={value!r} is not {kinds}"
    for key in schema.get("required", []):
        assert key in value, f"{where}.{key} missing"
    for key, sub in schema.get("properties", {}).items():
        if isinstance(value, dict) and key in value:
            check(value[key], sub, f"{where}.{key}")
    if "items" in schema and isinstance(value, list):
        for i, item in enumerate(value):
            check(item, schema["items"], f"{where}[{i}]")
    if "enum" in schema:
        assert value in schema["enum"], f"{where}={value!r} not in {schema['enum']}"
