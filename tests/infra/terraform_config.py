"""Read terraform/ with python-hcl2 into plain dicts, for the structural tests.

Providers cannot be downloaded here, so `terraform validate` cannot run; these tests
check what the configuration says instead. Expressions stay as their source text
(`${...}`), with the quotes inside them unescaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULE = TERRAFORM / "modules" / "function"

_OPTIONS = SerializationOptions(strip_string_quotes=True, explicit_blocks=False,
                                with_comments=False)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace('\\"', '"')
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


@dataclass
class Config:
    files: dict[str, str] = field(default_factory=dict)           # name -> text
    resources: dict[tuple[str, str], dict] = field(default_factory=dict)
    data: dict[tuple[str, str], dict] = field(default_factory=dict)
    modules: dict[str, dict] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict] = field(default_factory=list)
    providers: list[dict] = field(default_factory=list)

    def of_type(self, rtype: str) -> dict[str, dict]:
        return {name: body for (t, name), body in self.resources.items() if t == rtype}

    def text(self) -> str:
        return "\n".join(self.files.values())


def _add_unique(target: dict, key: Any, body: dict, what: str) -> None:
    if key in target:
        raise AssertionError(f"{what} {key} is declared twice")
    target[key] = body


@lru_cache(maxsize=4)
def load(directory: Path = TERRAFORM) -> Config:
    cfg = Config()
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text(encoding="utf-8")
        cfg.files[path.name] = text
        doc = _clean(hcl2.loads(text, serialization_options=_OPTIONS))
        for block in doc.get("resource", []):
            for rtype, named in block.items():
                for name, body in named.items():
                    _add_unique(cfg.resources, (rtype, name), body, "resource")
        for block in doc.get("data", []):
            for dtype, named in block.items():
                for name, body in named.items():
                    _add_unique(cfg.data, (dtype, name), body, "data source")
        for block in doc.get("module", []):
            for name, body in block.items():
                _add_unique(cfg.modules, name, body, "module")
        for block in doc.get("variable", []):
            for name, body in block.items():
                _add_unique(cfg.variables, name, body, "variable")
        for block in doc.get("output", []):
            for name, body in block.items():
                _add_unique(cfg.outputs, name, body, "output")
        for block in doc.get("locals", []):
            for name, value in block.items():
                _add_unique(cfg.locals, name, value, "local")
        cfg.terraform += doc.get("terraform", [])
        cfg.providers += doc.get("provider", [])
    return cfg


_LOCAL_REF = re.compile(r"^\$\{local\.([A-Za-z0-9_.]+)\}$")


def resolve_local(cfg: Config, expr: Any) -> Any:
    """`${local.name}` or `${local.name.key}` -> its value, followed through further
    local references; anything else unchanged."""
    for _ in range(10):
        if not (isinstance(expr, str) and (m := _LOCAL_REF.match(expr))):
            return expr
        name, *keys = m.group(1).split(".")
        expr = cfg.locals[name]
        for key in keys:
            expr = expr[key]
    raise AssertionError("local references nest too deep")


def module_environment(cfg: Config, call: dict) -> dict[str, Any]:
    """The environment a module call deploys with, merged the way the module does."""
    env: dict[str, Any] = {}
    env.update(resolve_local(cfg, call["common_environment"]))
    for group in call.get("environment_sets", []):
        env.update(resolve_local(cfg, group))
    env.update(call.get("environment", {}))
    return env


_SA_REF = re.compile(
    r'google_service_account\.(?:function\["(?P<fn>[a-z]+)"\]|(?P<other>[a-z_]+))\.'
    r"(?:email|name|id|member)")


def service_account_of(expr: str) -> str | None:
    """'serviceAccount:${google_service_account.function["upload"].email}' -> 'upload';
    a dedicated SA (tasks, events, builder) -> its name; for_each over all -> '*'."""
    if "each.value.email" in expr:
        return "*"
    m = _SA_REF.search(expr)
    if not m:
        return None
    return m.group("fn") or m.group("other")
