"""/api/openapi.json: the base document plus one fragment per function
(shared/web/openapi/<function>.yaml), merged. A test checks every routed path is here."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

FRAGMENTS = ("auth", "upload", "metrics", "predict")
_DIR = Path(__file__).parent / "openapi"


def _load(name: str) -> dict[str, Any]:
    import yaml

    path = _DIR / f"{name}.yaml"
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text()) or {}


@lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    spec = _load("base")
    spec.setdefault("paths", {})
    components = spec.setdefault("components", {})
    for name in FRAGMENTS:
        frag = _load(name)
        for path, item in (frag.get("paths") or {}).items():
            spec["paths"].setdefault(path, {}).update(item)
        for section, entries in (frag.get("components") or {}).items():
            components.setdefault(section, {}).update(entries or {})
    return spec


def build_spec() -> dict[str, Any]:
    return copy.deepcopy(_spec())
