"""Check a real request or response against a schema of the generated
/api/openapi.json: required fields, types (with nullability), nested objects and
arrays, enum and const values, alternatives (oneOf/anyOf/allOf) and refused extra
properties."""

from __future__ import annotations

from typing import Any

from shared.web.openapi import build_spec

SCHEMAS = build_spec()["components"]["schemas"]
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,), "null": (type(None),)}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = {**SCHEMAS[schema["$ref"].rsplit("/", 1)[1]],
                  **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def check(value: Any, schema: dict[str, Any], where: str = "$") -> None:
    schema = _resolve(schema)
    for part in schema.get("allOf", []):
        check(value, part, where)
    options = schema.get("oneOf") or schema.get("anyOf")
    if options:
        failures = []
        for option in options:
            try:
                check(value, option, where)
                break
            except AssertionError as exc:
                failures.append(str(exc))
        else:
            raise AssertionError(f"{where} matches no alternative: {failures}")
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    if value is None:
        assert not kinds or "null" in kinds, f"{where} is null"
        return
    if kinds:
        ok = tuple(t for k in kinds if k != "null" for t in _TYPES[k])
        assert isinstance(value, ok), f"{where}={value!r} is not {kinds}"
        assert not (isinstance(value, bool) and "boolean" not in kinds), f"{where} is a bool"
    for key in schema.get("required", []):
        assert key in value, f"{where}.{key} missing"
    props = schema.get("properties", {})
    for key, sub in props.items():
        if isinstance(value, dict) and key in value:
            check(value[key], sub, f"{where}.{key}")
    extra = schema.get("additionalProperties")
    if isinstance(value, dict) and extra is not None:
        for key in set(value) - set(props):
            assert extra is not False, f"{where}.{key} is not allowed"
            if isinstance(extra, dict):
                check(value[key], extra, f"{where}.{key}")
    if "items" in schema and isinstance(value, list):
        for i, item in enumerate(value):
            check(item, schema["items"], f"{where}[{i}]")
    if "enum" in schema:
        assert value in schema["enum"], f"{where}={value!r} not in {schema['enum']}"
    if "const" in schema:
        assert value == schema["const"], f"{where}={value!r} is not {schema['const']!r}"
