"""Build each function's deployable source: build/functions/<name>/ and <name>.zip.

A package holds the function's own folder (functions/<name>/, so main.py is at the
root), the modules of the `shared` package that main.py reaches through its imports
(followed with `ast`, lazy imports included; the developer stack and the local
adapters are never vendored), and a requirements.txt with only the dependencies that
function needs: pyproject's core dependencies, the function's extra,
and the Google Cloud clients its adapters call (a subset of the `gcp` extra).

Zips are reproducible: entries sorted, fixed timestamps and permissions, so the same
sources give the same bytes (and the same MD5, which names the object terraform
uploads: an unchanged function is not redeployed).

    python scripts/package_functions.py            # every function
    python scripts/package_functions.py --lock     # pin to the versions installed here
    python scripts/package_functions.py --only auth --out /tmp/pkgs
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.metadata
import io
import shutil
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "functions"

# The Google Cloud clients each function's code reaches through shared/adapters/gcp,
# mirroring its service account's roles in terraform/iam.tf. Every function verifies
# access tokens against the public keys in Secret Manager, whose adapter imports
# google_crc32c itself: it is declared, not left to arrive through another client.
_SECRETS = ("google-cloud-secret-manager", "google-crc32c")
GCP_CLIENTS: dict[str, tuple[str, ...]] = {
    "auth": ("google-auth", "google-cloud-firestore", *_SECRETS),
    "upload": ("google-auth", "google-cloud-bigquery", "google-cloud-firestore",
               *_SECRETS, "google-cloud-storage", "google-cloud-tasks"),
    "metrics": ("google-auth", "google-cloud-bigquery", "google-cloud-firestore",
                *_SECRETS, "google-cloud-tasks"),
    "predict": ("google-auth", "google-cloud-bigquery", "google-cloud-firestore",
                *_SECRETS),
}

# 1980-01-01, the earliest time a zip entry can carry.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo"}


class PackagingError(Exception):
    pass


def function_names() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from shared.web.catalog import ENTRY_POINTS

    return sorted({ep.function for ep in ENTRY_POINTS})


def load_pyproject(root: Path = ROOT) -> dict:
    with (root / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]


def _merge(reqs: Iterable[Requirement]) -> list[Requirement]:
    """One requirement per distribution (specifiers and extras combined), sorted."""
    merged: dict[str, Requirement] = {}
    for req in reqs:
        key = canonicalize_name(req.name)
        if key in merged:
            prev = merged[key]
            if str(prev.marker or "") != str(req.marker or ""):
                raise PackagingError(f"{req.name}: conflicting environment markers")
            prev.specifier &= req.specifier
            prev.extras |= req.extras
        else:
            merged[key] = Requirement(str(req))
    return [merged[k] for k in sorted(merged)]


def requirements_for(function: str, project: dict) -> list[Requirement]:
    """Core dependencies + the function's extra + the GCP clients it uses."""
    extras = project.get("optional-dependencies", {})
    if function not in extras:
        raise PackagingError(f"pyproject.toml has no extra named {function!r}")
    if function not in GCP_CLIENTS:
        raise PackagingError(f"no GCP client list for function {function!r}")
    gcp = {canonicalize_name(Requirement(r).name): Requirement(r) for r in extras["gcp"]}
    missing = [c for c in GCP_CLIENTS[function] if canonicalize_name(c) not in gcp]
    if missing:
        raise PackagingError(f"{function}: {', '.join(missing)} not in the gcp extra")
    reqs = [Requirement(r) for r in (*project["dependencies"], *extras[function])]
    reqs += [gcp[canonicalize_name(c)] for c in GCP_CLIENTS[function]]
    if any(canonicalize_name(r.name) == canonicalize_name(project["name"]) for r in reqs):
        raise PackagingError(f"{function}: an extra may not depend on the project itself")
    return _merge(reqs)


def lock(reqs: list[Requirement]) -> list[Requirement]:
    """Pin each requirement to the version installed in this environment (the one the
    tests ran against); fail if it is missing or outside the declared range."""
    pinned = []
    for req in reqs:
        try:
            version = importlib.metadata.version(req.name)
        except importlib.metadata.PackageNotFoundError:
            raise PackagingError(f"--lock: {req.name} is not installed here") from None
        if not req.specifier.contains(version, prereleases=True):
            raise PackagingError(f"--lock: installed {req.name} {version} is outside {req}")
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        marker = f"; {req.marker}" if req.marker else ""
        pinned.append(Requirement(f"{req.name}{extras}=={version}{marker}"))
    return pinned


def render_requirements(function: str, reqs: list[Requirement]) -> str:
    lines = [f"# {function}: generated by scripts/package_functions.py from pyproject.toml"]
    lines += [str(r) for r in reqs]
    return "\n".join(lines) + "\n"


def _walk(base: Path) -> Iterator[Path]:
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix not in SKIP_SUFFIXES:
            yield path


# Never deployed: the developer stack and the embedded adapters that stand in for
# Google Cloud. A deployed function runs with TIDEMARK_BACKEND=gcp, where the
# composition root never reaches the local adapters; an import of either from any
# other deployable module fails the packaging.
NOT_VENDORED = ("shared.devstack", "shared.adapters.local")
COMPOSITION_ROOT = "shared.bootstrap"


def _module_file(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, module: str) -> set[str]:
    """Every `shared...` module a file imports, at any depth of its code."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)
    return {m for m in found if m == "shared" or m.startswith("shared.")}


def shared_closure(main: Path, root: Path = ROOT) -> set[str]:
    """The `shared` modules main.py reaches, with the packages that hold them."""
    seen: set[str] = set()
    todo = [(m, "main") for m in _imported_modules(main, "main")]
    while todo:
        module, importer = todo.pop()
        if module in seen:
            continue
        path = _module_file(module, root)
        if path is None:  # a name imported from a module, not a module itself
            continue
        if module.startswith(NOT_VENDORED):
            if importer == COMPOSITION_ROOT and module.startswith("shared.adapters.local"):
                continue
            raise PackagingError(f"functions/{main.parent.name}: {importer} imports "
                                 f"{module}, which is never deployed")
        seen.add(module)
        parts = module.split(".")
        todo += [(".".join(parts[:i]), module) for i in range(1, len(parts))]
        todo += [(m, module) for m in sorted(_imported_modules(path, module))]
    return seen


def source_files(function: str, root: Path = ROOT) -> dict[str, Path]:
    """Archive name -> file on disk, for one function's package: its own folder, the
    shared modules it imports, and the data files beside them."""
    fn_dir = root / "functions" / function
    if not (fn_dir / "main.py").is_file():
        raise PackagingError(f"functions/{function}/main.py does not exist")
    files = {p.relative_to(fn_dir).as_posix(): p for p in _walk(fn_dir)}
    shared = root / "shared"
    modules = shared_closure(fn_dir / "main.py", root)
    for p in _walk(shared):
        if p.suffix == ".py":
            rel = p.relative_to(root).with_suffix("").parts
            keep = ".".join(rel[:-1] if p.name == "__init__.py" else rel) in modules
        else:  # a data file ships with the package that holds it
            owner = p.parent
            while not (owner / "__init__.py").is_file():
                owner = owner.parent
            keep = ".".join(owner.relative_to(root).parts) in modules
        if not keep:
            continue
        name = p.relative_to(root).as_posix()
        if name in files:
            raise PackagingError(f"functions/{function}/{name} would shadow the shared package")
        files[name] = p
    return files


def build_zip(entries: dict[str, bytes]) -> bytes:
    """Same entries -> same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permissions below are honoured
            info.external_attr = (0o100644 << 16)
            zf.writestr(info, entries[name], compresslevel=9)
    return buf.getvalue()


def package(function: str, out: Path, *, project: dict, pin: bool = False,
            root: Path = ROOT) -> Path:
    """Write out/<function>/ and out/<function>.zip; return the zip's path."""
    reqs = requirements_for(function, project)
    if pin:
        reqs = lock(reqs)
    entries = {name: path.read_bytes() for name, path in source_files(function, root).items()}
    entries["requirements.txt"] = render_requirements(function, reqs).encode()

    tree = out / function
    if tree.exists():
        shutil.rmtree(tree)
    for name, data in entries.items():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    zip_path = out / f"{function}.zip"
    tmp = zip_path.with_suffix(".zip.tmp")
    tmp.write_bytes(build_zip(entries))
    tmp.replace(zip_path)
    return zip_path


def schema_is_current() -> bool:
    sys.path.insert(0, str(ROOT / "scripts"))
    import generate_schema

    return generate_schema.main(["--check"]) == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Package every function for deployment.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output directory (default: build/functions)")
    parser.add_argument("--only", action="append", default=[], metavar="FUNCTION",
                        help="package only this function (repeatable)")
    parser.add_argument("--lock", action="store_true",
                        help="pin requirements to the versions installed in this environment")
    args = parser.parse_args(argv)

    if not schema_is_current():
        return 1
    names = function_names()
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        parser.error(f"unknown function(s): {', '.join(unknown)}; known: {', '.join(names)}")
    project = load_pyproject()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        for name in args.only or names:
            zip_path = package(name, args.out, project=project, pin=args.lock)
            data = zip_path.read_bytes()
            print(f"{name:<10} {len(data):>9} bytes  md5 {hashlib.md5(data).hexdigest()}  "  # noqa: S324
                  f"{zip_path}")
    except PackagingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
