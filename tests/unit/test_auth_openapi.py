"""shared/web/openapi/auth.yaml describes every route of the auth function, and every
reference in it resolves once merged with base.yaml."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / "shared" / "web" / "openapi" / name).read_text())


def _router():
    spec = importlib.util.spec_from_file_location("auth_main_for_openapi",
                                                  ROOT / "functions/auth/main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.router


def test_every_route_and_method_is_described():
    paths = _load("auth.yaml")["paths"]
    base = _load("base.yaml")["paths"]
    for rule, methods in _router().rules:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
        described = paths.get(path) or base.get(path)
        assert described is not None, path
        assert sorted(m.upper() for m in described) == methods, path


def test_operations_name_their_responses_and_bodies():
    for path, item in _load("auth.yaml")["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), (path, method)
            assert any(c.startswith("4") for c in codes) or path.endswith("jwks.json")
            if method in ("post", "patch"):
                assert op["requestBody"]["required"] is True
            if op.get("security") != []:
                assert "401" in codes, (path, method)


def test_every_reference_resolves_in_the_merged_document():
    auth, base = _load("auth.yaml"), _load("base.yaml")
    merged = {"components": {}}
    for doc in (base, auth):
        for section, entries in doc.get("components", {}).items():
            merged["components"].setdefault(section, {}).update(entries)
    refs: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(auth)
    assert refs
    for ref in refs:
        top, section, name = ref.removeprefix("#/").split("/")
        assert top == "components", ref
        assert name in merged["components"].get(section, {}), ref
