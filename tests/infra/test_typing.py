"""Type checking: every `deps` parameter says it is a `Deps` (or, in the modules the
composition root itself imports, the `Ports` protocol `Deps` implements: see
shared/ports.py), and mypy runs where the other checks run.

mypy itself runs from scripts/typecheck.sh in `make test`, `make lint` and the Cloud
Build test step, not from pytest: a second copy of a whole-tree mypy run inside the
parallel suite would only repeat that result. These tests guard what mypy cannot see
for itself: a `deps` left unannotated (mypy then treats it as Any and checks nothing
done through it), `Deps` imported at run time (the composition root would be loaded by
every module that only names it), and the wiring that makes mypy run at all.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from tests.support.environment import ROOT

CHECKED = ("shared", "functions")
STRICT_MODULES = {
    "shared.ports", "shared.uploads.service", "shared.uploads.job", "shared.uploads.claims",
    "shared.uploads.records", "shared.metrics.service", "shared.forecast.service",
    "shared.auth.service", "shared.auth.users", "shared.web.*",
}
STRICT_FLAGS = ("disallow_untyped_defs", "disallow_incomplete_defs", "warn_return_any",
                "no_implicit_optional", "strict_equality")


def _sources() -> list[Path]:
    return sorted(p for d in CHECKED for p in (ROOT / d).rglob("*.py"))


DEPS_TYPES = {"Deps", "Ports"}


def unannotated_deps(source: str) -> list[str]:
    """`function:line` of every parameter named `deps` whose annotation is missing or
    names neither `Deps` nor `Ports`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        a = node.args
        for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
            if arg is None or arg.arg != "deps":
                continue
            names = {n.id for n in ast.walk(arg.annotation) if isinstance(n, ast.Name)} \
                if arg.annotation is not None else set()
            if not names & DEPS_TYPES:
                found.append((arg.lineno, f"{getattr(node, 'name', '<lambda>')}:{arg.lineno}"))
    return [where for _, where in sorted(found)]


def runtime_deps_imports(source: str) -> list[int]:
    """Lines where a module imports `Deps` from shared.bootstrap at its top level,
    outside `if TYPE_CHECKING:` (imports inside functions are deliberate and lazy)."""
    lines = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.module == "shared.bootstrap" \
                and any(alias.name == "Deps" for alias in node.names):
            lines.append(node.lineno)
    return lines


def test_the_checks_catch_what_they_look_for():
    src = ("def a(deps): ...\n"
           "def b(x, *, deps=None): ...\n"
           "def c(deps: Deps) -> None: ...\n"
           "def d(deps: Deps | None = None) -> None: ...\n"
           "f = lambda deps: deps\n"
           "def e(deps: object) -> None: ...\n"
           "def g(deps: Ports) -> None: ...\n")
    assert unannotated_deps(src) == ["a:1", "b:2", "<lambda>:5", "e:6"]
    assert runtime_deps_imports("from shared.bootstrap import Deps\n") == [1]
    assert runtime_deps_imports("if TYPE_CHECKING:\n"
                                "    from shared.bootstrap import Deps\n") == []


def test_every_deps_parameter_is_annotated_as_deps():
    missing = {str(p.relative_to(ROOT)): bad for p in _sources()
               if (bad := unannotated_deps(p.read_text(encoding="utf-8")))}
    assert not missing, f"annotate these `deps` parameters as `deps: Deps`: {missing}"


def test_deps_is_imported_for_type_checking_only():
    found = {str(p.relative_to(ROOT)): lines for p in _sources()
             if p.name != "bootstrap.py"
             and (lines := runtime_deps_imports(p.read_text(encoding="utf-8")))}
    assert not found, f"import Deps under `if TYPE_CHECKING:`: {found}"


@pytest.fixture(scope="module")
def mypy_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]


def test_mypy_checks_shared_for_python_3_11(mypy_config):
    assert mypy_config["python_version"] == "3.11"
    assert mypy_config["files"] == ["shared"]
    assert mypy_config.get("warn_unused_configs") is True


def test_ports_services_and_web_layer_are_strict(mypy_config):
    strict = [o for o in mypy_config.get("overrides", [])
              if all(o.get(flag) is True for flag in STRICT_FLAGS)]
    covered = {m for o in strict for m in ([o["module"]] if isinstance(o["module"], str)
                                           else o["module"])}
    assert not STRICT_MODULES - covered, f"not strict: {sorted(STRICT_MODULES - covered)}"


def test_typecheck_script_checks_shared_and_each_function_on_its_own():
    script = (ROOT / "scripts" / "typecheck.sh").read_text(encoding="utf-8")
    assert 'functions/*/main.py' in script and '"$MYPY" || status=1' in script
    assert "exit $status" in script
    assert list((ROOT / "functions").glob("*/main.py")), "no function entry modules"


@pytest.mark.parametrize("target", ["test", "lint"])
def test_make_runs_the_type_check(target):
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
    assert "bash scripts/typecheck.sh" in recipe


def test_cloud_build_runs_the_type_check_before_the_tests():
    yaml = pytest.importorskip("yaml")
    steps = {s["id"]: s for s in yaml.safe_load((ROOT / "cloudbuild.yaml").read_text())["steps"]}
    script = " ".join(str(a) for a in steps["install-and-test"]["args"])
    assert "scripts/typecheck.sh" in script
    assert script.index("scripts/typecheck.sh") < script.index("pytest")
