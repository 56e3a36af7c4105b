"""scripts/package_functions.py: each function's deployable source, reproducibly, with
only the dependencies it needs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from shared.web.catalog import ENTRY_POINTS
from tests.infra.terraform_config import ROOT
from tests.support.packaging import FUNCTIONS, PKG, PROJECT, snapshot


def _names(requirements: str) -> set[str]:
    return {canonicalize_name(Requirement(line).name)
            for line in requirements.splitlines() if line and not line.startswith("#")}


def _extra(name: str) -> set[str]:
    return {canonicalize_name(Requirement(r).name)
            for r in PROJECT["optional-dependencies"][name]}


def test_every_function_in_the_catalog_is_packaged(built, src):
    assert PKG.function_names() == FUNCTIONS
    for name in FUNCTIONS:
        assert (built / f"{name}.zip").is_file()
        assert (built / name / "main.py").read_bytes() == (
            src / "functions" / name / "main.py").read_bytes()
        assert (built / name / "shared" / "__init__.py").is_file()


def test_same_sources_give_the_same_bytes(built, src, tmp_path):
    for name in FUNCTIONS:
        again = PKG.package(name, tmp_path, project=PROJECT, root=src)
        assert again.read_bytes() == (built / f"{name}.zip").read_bytes(), name


def test_a_changed_source_changes_the_zip(tmp_path):
    root = snapshot(tmp_path / "repo")
    first = PKG.package("auth", tmp_path / "a", project=PROJECT, root=root).read_bytes()
    with (root / "functions" / "auth" / "main.py").open("a") as f:
        f.write("\n# changed\n")
    second = PKG.package("auth", tmp_path / "b", project=PROJECT, root=root).read_bytes()
    assert hashlib.md5(first).digest() != hashlib.md5(second).digest()  # noqa: S324


def test_zip_entries_are_sorted_with_fixed_metadata_and_no_bytecode(built, src):
    for name in FUNCTIONS:
        with zipfile.ZipFile(built / f"{name}.zip") as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            assert names == sorted(names)
            assert "main.py" in names and "requirements.txt" in names
            assert "shared/web/http.py" in names
            assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
            assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
            assert {i.external_attr >> 16 for i in infos} == {0o100644}
            assert zf.read("main.py") == (src / "functions" / name / "main.py").read_bytes()


def test_packages_carry_no_devstack_and_no_local_adapters(built):
    for name in FUNCTIONS:
        with zipfile.ZipFile(built / f"{name}.zip") as zf:
            names = zf.namelist()
        assert not [n for n in names if n.startswith(("shared/devstack/",
                                                      "shared/adapters/local/"))], name
        assert "shared/bootstrap.py" in names and "shared/adapters/gcp/gcs.py" in names


def test_a_package_carries_only_the_shared_modules_its_function_imports(built):
    with zipfile.ZipFile(built / "auth.zip") as zf:
        auth = set(zf.namelist())
    with zipfile.ZipFile(built / "predict.zip") as zf:
        predict = set(zf.namelist())
    assert "shared/auth/passwords.py" in auth and "shared/auth/common_passwords.txt" in auth
    assert not [n for n in auth if n.startswith(("shared/forecast/", "shared/metrics/",
                                                 "shared/ingest/", "shared/uploads/"))]
    assert "shared/forecast/service.py" in predict
    assert "shared/auth/passwords.py" not in predict


def test_lazy_imports_are_followed_and_devstack_imports_refused(tmp_path):
    root = snapshot(tmp_path / "repo")
    main = root / "functions" / "auth" / "main.py"
    main.write_text(main.read_text() + "\n\ndef _later():\n    from shared.forecast import "
                    "engine\n    return engine\n")
    files = PKG.source_files("auth", root)
    assert "shared/forecast/engine.py" in files and "shared/forecast/__init__.py" in files
    main.write_text(main.read_text() + "\n\ndef _dev():\n    from shared.devstack import "
                    "cli\n    return cli\n")
    with pytest.raises(PKG.PackagingError, match="never deployed"):
        PKG.source_files("auth", root)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_requirements_are_core_plus_own_extra_plus_its_gcp_clients(built, name):
    have = _names((built / name / "requirements.txt").read_text())
    core = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    own = _extra(name)
    gcp = {canonicalize_name(c) for c in PKG.GCP_CLIENTS[name]}
    assert gcp <= _extra("gcp")
    assert have == core | own | gcp
    others = set().union(*(_extra(e) for e in ("auth", "upload", "metrics", "predict",
                                               "local", "dev")))
    assert not (have - core - own - gcp) & others
    assert "tidemark" not in have


def test_auth_ships_no_data_science_or_warehouse_libraries(built):
    have = _names((built / "auth" / "requirements.txt").read_text())
    assert not have & {"pandas", "numpy", "scikit-learn", "pyarrow", "google-cloud-bigquery",
                       "duckdb"}


def test_requirements_keep_the_declared_version_ranges(built):
    declared = {canonicalize_name(Requirement(r).name): Requirement(r).specifier
                for r in PROJECT["dependencies"]}
    for name in FUNCTIONS:
        for line in (built / name / "requirements.txt").read_text().splitlines()[1:]:
            req = Requirement(line)
            key = canonicalize_name(req.name)
            if key in declared:
                assert declared[key] == req.specifier, (name, line)


def test_lock_pins_to_the_installed_versions(tmp_path):
    PKG.package("auth", tmp_path, project=PROJECT, pin=True)
    lines = (tmp_path / "auth" / "requirements.txt").read_text().splitlines()[1:]
    assert lines
    for line in lines:
        req = Requirement(line)
        (spec,) = list(req.specifier)
        assert spec.operator == "=="
        from importlib.metadata import version
        assert spec.version == version(req.name)


def test_unknown_extra_is_an_error():
    with pytest.raises(PKG.PackagingError):
        PKG.requirements_for("nonexistent", PROJECT)


def test_cli_rejects_an_unknown_function(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "package_functions.py"),
                             "--only", "nope", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "unknown function" in result.stderr


def runtime_version() -> str:
    """The functions' Python version, from terraform's runtime (python313 -> 3.13)."""
    from tests.infra.terraform_config import load

    runtime = load().locals["runtime"]
    assert runtime.startswith("python3"), runtime
    return f"3.{runtime.removeprefix('python3')}"


def runtime_python() -> str | None:
    """An interpreter of the runtime's version: $TIDEMARK_PYTHON_3XX, the one
    scripts/setup.sh --test recorded, pyenv's, python3.XX on the PATH, or this one."""
    want = runtime_version()
    candidates = [os.environ.get(f"TIDEMARK_PYTHON_{want.replace('.', '')}", "")]
    recorded = ROOT / ".emulators" / "runtime-python"
    if recorded.is_file():
        candidates.append(recorded.read_text().strip())
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += [str(p / "bin" / "python") for p in sorted(pyenv.glob(f"{want}*"))]
    candidates += [shutil.which(f"python{want}") or "", sys.executable]
    for cand in filter(None, candidates):
        try:
            got = subprocess.run([cand, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if got.returncode == 0 and got.stdout.strip() == want:
            return cand
    return None


def test_the_runtime_is_one_the_project_supports():
    from packaging.specifiers import SpecifierSet

    assert runtime_version() in SpecifierSet(PROJECT["requires-python"])


@pytest.mark.slow
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_package_imports_in_a_clean_virtualenv(built, tmp_path, name):
    """Only requirements.txt is installed, on the runtime's Python version: main.py must
    import, expose its entry points, and (for auth) not pull in the heavy libraries."""
    python = runtime_python()
    if python is None:
        message = (f"no Python {runtime_version()} (the functions' runtime) here: "
                   "run scripts/setup.sh --test")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    requirements = str(built / name / "requirements.txt")
    try:  # uv installs the same pinned requirements in seconds from its cache
        import uv

        cmd = [uv.find_uv_bin(), "pip", "install", "--quiet", "--python", str(py),
               "-r", requirements]
    except ImportError:
        cmd = [str(py), "-m", "pip", "install", "--quiet", "--prefer-binary", "-r", requirements]
    install = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    assert install.returncode == 0, install.stderr[-3000:]
    targets = [ep.target for ep in ENTRY_POINTS if ep.function == name]
    probe = (
        "import json, sys, main\n"
        f"targets = {targets!r}\n"
        "missing = [t for t in targets if not callable(getattr(main, t, None))]\n"
        "heavy = sorted(m for m in ('pandas', 'sklearn', 'numpy', 'google.cloud.bigquery',"
        " 'duckdb', 'pyarrow') if m in sys.modules)\n"
        "print(json.dumps({'missing': missing, 'heavy': heavy}))\n")
    result = subprocess.run([str(py), "-c", probe], cwd=built / name,
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["missing"] == []
    assert report["heavy"] == [], f"{name} imports {report['heavy']} at import time"
