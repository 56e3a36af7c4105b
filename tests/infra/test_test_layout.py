"""The test tree's own layout: shared helpers live in tests/support/, and no test module
or helper imports a `test_*` module or a conftest.

Importing a test module runs it a second time under another name (its tests are
collected twice when it is also imported by a collected module, and its module-level
state exists twice); importing a conftest bypasses pytest's fixture scoping. Both make a
suite depend on another suite's file, which then cannot be moved or deleted on its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.environment import ROOT

TESTS = ROOT / "tests"


def _is_test_module(dotted: str) -> bool:
    return any(part == "conftest" or part.startswith("test_") for part in dotted.split("."))


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _is_module(dotted: str) -> bool:
    """Whether `dotted` names a module or package inside the repository (as opposed to a
    function or class imported from one)."""
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def forbidden_imports(source: str, module: str) -> list[str]:
    """The modules of tests/ that `source` (the text of `module`) imports and must not:
    any whose dotted name has a `test_*` or `conftest` part. Relative imports are
    resolved against `module`; `from package import test_x` counts when test_x is a
    module."""
    found = []
    package = module.rsplit(".", 1)[0] if "." in module else ""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: max(0, len(package.split(".")) - node.level + 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names = [base]
            for alias in node.names:
                sub = f"{base}.{alias.name}" if base else alias.name
                if _is_test_module(alias.name) and _is_module(sub):
                    names.append(sub)
        else:
            continue
        found += [n for n in names if n.split(".")[0] == "tests" and _is_test_module(n)]
    return found


def test_no_test_imports_a_test_module_or_a_conftest():
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        module = _module_of(path)
        bad = forbidden_imports(path.read_text(encoding="utf-8"), module)
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}, "move the shared helpers into tests/support/"


def test_the_check_finds_every_form_of_such_an_import():
    """The check itself: absolute, from-, package-relative and nested imports of test
    modules and conftests are all caught; tests.support and third-party names are not."""
    module = "tests.unit.test_example"
    assert forbidden_imports("from tests.unit.test_metrics_data import load_frame", module) == [
        "tests.unit.test_metrics_data"]
    assert forbidden_imports("import tests.conftest", module) == ["tests.conftest"]
    assert forbidden_imports("from tests.unit import test_metrics_data", module) == [
        "tests.unit.test_metrics_data"]
    assert forbidden_imports("from . import test_metrics_data", module) == [
        "tests.unit.test_metrics_data"]
    assert forbidden_imports("from ..e2e.conftest import PHONE", module) == [
        "tests.e2e.conftest"]
    assert forbidden_imports("def f():\n    from tests.hardening.conftest import ROLES\n",
                             module) == ["tests.hardening.conftest"]
    assert forbidden_imports("from tests.support.metrics_data import load_frame\n"
                             "from tests.support import emulators\n"
                             "import pytest_timeout\n", module) == []


def test_the_support_package_holds_no_tests():
    """Helpers only: a test in tests/support/ would be collected by no one, or twice."""
    support = TESTS / "support"
    assert (support / "__init__.py").is_file()
    assert sorted(p.name for p in support.glob("test_*.py")) == []
    for path in support.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        tests = [n.name for n in tree.body
                 if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                 and n.name.startswith("test_")]
        assert tests == [], f"{path.name} defines tests: {tests}"
