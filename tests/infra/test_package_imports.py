"""Every third-party module a function's package imports is installed by its
requirements.txt.

The clean-virtualenv test only imports main.py, and the adapters import their SDKs
lazily, inside the call that needs them: a module missing from the requirements then
shows only on the first real request (the auth function answered every login with 500
because `google_crc32c`, imported by the Secret Manager adapter, came with no
requirement of that function). This test reads every .py file in each zip with `ast`,
lazy imports included, and resolves each imported module to the distribution that
ships it (importlib.metadata, the versions the tests run against); that distribution
must be one the function's requirements install, directly or as a dependency.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import sys
import tempfile
import zipfile
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.packaging import FUNCTIONS, PKG, PROJECT

LOCAL_ROOTS = {"shared", "main", "__future__"}


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(n, ast.Name) and n.id in {"ImportError", "ModuleNotFoundError"}
               for n in names)


def imported_modules(source: str, filename: str) -> set[str]:
    """Absolute module names a file imports anywhere in its code, except under a
    `try: ... except ImportError` (an optional dependency the code does without).
    Relative imports are the package's own; `from a.b import c` yields a.b and a.b.c
    (c may be a module)."""
    tree = ast.parse(source, filename=filename)
    optional = {id(n) for t in ast.walk(tree) if isinstance(t, ast.Try) and any(
        _catches_import_error(h) for h in t.handlers) for b in t.body for n in ast.walk(b)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return {m for m in found
            if m.split(".")[0] not in LOCAL_ROOTS | set(sys.stdlib_module_names)}


@cache
def _files(dist: str) -> frozenset[str]:
    return frozenset(str(f) for f in (md.distribution(dist).files or ()))


def providers(module: str) -> set[str]:
    """The distributions that ship `module`: the ones holding its deepest existing
    path, so google.cloud.firestore resolves to google-cloud-firestore, not to every
    distribution sharing the `google` namespace. Empty when no installed one does."""
    parts = module.split(".")
    candidates = md.packages_distributions().get(parts[0], [])
    for depth in range(len(parts), 0, -1):
        base = "/".join(parts[:depth])
        found = {canonicalize_name(d) for d in candidates
                 if {f"{base}.py", f"{base}/__init__.py"} & _files(d)
                 or any(f.startswith(base + "/") for f in _files(d))}
        if found:
            return found
    return set()


def _marker_ok(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": e}) for e in (extras or {""}))


def installed_closure(requirements: list[Requirement]) -> set[str]:
    """The distributions pip installs for these requirements (extras and environment
    markers honoured), read from the installed metadata."""
    seen: set[str] = set()
    todo = [(r, set(r.extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        for line in dist.requires or ():
            sub = Requirement(line)
            if _marker_ok(sub, extras):
                todo.append((sub, set(sub.extras)))
    return {k.split("[")[0] for k in seen}


# The composition root reaches every gcp adapter, so each package carries all of them;
# a function uses only those whose service client its requirements install
# (GCP_CLIENTS). An adapter whose service client is absent is never called there.


def _unused_adapter(imports: set[str], installed: set[str]) -> bool:
    services = [m for m in imports
                if m.startswith("google.cloud.") and m.count(".") == 2]
    return any(not providers(m) & installed for m in services)


def _top_level_imports(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    top = ast.Module(body=[n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)],
                     type_ignores=[])
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir) / path.name
        scratch.write_text(ast.unparse(top))
        return PKG._imported_modules(scratch, module)


def runtime_files(tree: Path, installed: set[str]) -> set[Path]:
    """The package's files a deployed function can execute: main.py and the shared
    modules it reaches, lazy imports included, except that the composition root is
    followed only into its module-level imports and the gcp adapters the function's
    requirements serve. Its other lazy imports (the local adapters, and the local
    finalize delivery into shared.uploads) run with TIDEMARK_BACKEND=local only."""
    files = {tree / "main.py"}
    todo = sorted(PKG._imported_modules(tree / "main.py", "main"))
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = PKG._module_file(module, tree)
        if path is None:
            continue
        if module.startswith("shared.adapters.gcp.") and _unused_adapter(
                imported_modules(path.read_text(), str(path)), installed):
            continue
        files.add(path)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        if module == PKG.COMPOSITION_ROOT:
            todo += sorted(_top_level_imports(path, module))
            todo += sorted(m for m in PKG._imported_modules(path, module)
                           if m.startswith("shared.adapters.gcp."))
        else:
            todo += sorted(PKG._imported_modules(path, module))
    return files


def uncovered(zip_path: Path) -> dict[str, str]:
    """module -> why it is not installed by the package's own requirements.txt, for
    every module the package's runtime code imports."""
    with tempfile.TemporaryDirectory() as unpacked, zipfile.ZipFile(zip_path) as zf:
        zf.extractall(unpacked)
        return _uncovered_in(Path(unpacked))


def _uncovered_in(tree: Path) -> dict[str, str]:
    reqs = [Requirement(line) for line in (tree / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")]
    installed = installed_closure(reqs)
    modules: set[str] = set()
    for path in runtime_files(tree, installed):
        modules |= imported_modules(path.read_text(), str(path))
    problems = {}
    for module in sorted(modules):
        dists = providers(module)
        if not dists:
            problems[module] = "no installed distribution provides it"
        elif not dists & installed:
            problems[module] = f"provided by {', '.join(sorted(dists))}, not required"
    return problems


@pytest.fixture(scope="module")
def zips(built) -> dict[str, Path]:
    return {name: built / f"{name}.zip" for name in FUNCTIONS}


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_imported_module_is_installed_by_the_functions_requirements(zips, name):
    assert uncovered(zips[name]) == {}


def test_auth_declares_the_crc32c_its_secret_adapter_imports(zips):
    with zipfile.ZipFile(zips["auth"]) as zf:
        assert "shared/adapters/gcp/secret_manager.py" in zf.namelist()
        names = {canonicalize_name(Requirement(line).name)
                 for line in zf.read("requirements.txt").decode().splitlines()
                 if line and not line.startswith("#")}
    assert "google-crc32c" in names


def test_a_module_no_requirement_brings_is_reported(tmp_path):
    """The check itself: auth's package without google-crc32c (its requirements before
    the fix) is reported for google_crc32c, and for nothing else."""
    project = {**PROJECT, "optional-dependencies": dict(PROJECT["optional-dependencies"])}
    project["optional-dependencies"]["gcp"] = [
        r for r in project["optional-dependencies"]["gcp"]
        if canonicalize_name(Requirement(r).name) != "google-crc32c"]
    clients = PKG.GCP_CLIENTS["auth"]
    try:
        PKG.GCP_CLIENTS["auth"] = tuple(c for c in clients if c != "google-crc32c")
        zip_path = PKG.package("auth", tmp_path, project=project)
    finally:
        PKG.GCP_CLIENTS["auth"] = clients
    assert set(uncovered(zip_path)) == {"google_crc32c"}


def test_imports_are_read_at_any_depth():
    source = "import os\n\ndef f():\n    from google.cloud import firestore\n" \
             "    import google_crc32c\n    from . import x\n    from shared import y\n"
    assert imported_modules(source, "m.py") == {
        "google.cloud", "google.cloud.firestore", "google_crc32c"}


def test_no_function_is_deployed_with_an_emulator_variable():
    """The adapters' emulator switches (shared/adapters/gcp/_emulators.py) and the
    clients' own *_EMULATOR_HOST variables must never reach a deployed function."""
    from tests.infra.terraform_config import load

    cfg = load()
    maps = [v for k, v in cfg.locals.items() if k.endswith("environment")]
    maps += [m.get("environment", {}) for m in cfg.modules.values()]
    names = {name for m in maps if isinstance(m, dict) for name in m}
    assert "TIDEMARK_BACKEND" in names
    assert not [n for n in names if n.endswith("EMULATOR_HOST")]
    assert "EMULATOR_HOST" not in cfg.text()
