"""scripts/package_functions.py as the tests use it: the script loaded as a module, the
project's pyproject, and module-scoped fixtures that build every function's package
from a frozen copy of the sources."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

from shared.web.catalog import ENTRY_POINTS
from tests.infra.terraform_config import ROOT

FUNCTIONS = sorted({ep.function for ep in ENTRY_POINTS})


def _script():
    spec = importlib.util.spec_from_file_location("package_functions",
                                                  ROOT / "scripts" / "package_functions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PKG = _script()
PROJECT = PKG.load_pyproject()


def snapshot(dest: Path) -> Path:
    """A frozen copy of the sources, so the comparisons below see one version."""
    for part in ("shared", "functions"):
        shutil.copytree(ROOT / part, dest / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    return snapshot(tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="module")
def built(tmp_path_factory, src) -> Path:
    out = tmp_path_factory.mktemp("functions")
    for name in FUNCTIONS:
        PKG.package(name, out, project=PROJECT, root=src)
    return out
