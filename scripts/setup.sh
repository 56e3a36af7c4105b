#!/usr/bin/env bash
# Idempotent set-up used by `make run` and `make test`: a virtualenv with the project
# and its extras, the built frontend, and (with --test) the emulators and browser
# driver the test suite needs. Re-running only redoes what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-run}"
PY="${PYTHON:-python3}"
VENV=.venv

need_stamp() {  # need_stamp NAME FILE... : true when the inputs changed since last time
  local name=$1; shift
  local sum; sum=$(cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1)
  local stamp="$VENV/.stamp-$name"
  if [[ -f $stamp && $(cat "$stamp") == "$sum" ]]; then return 1; fi
  echo "$sum" > "$stamp.new"
  return 0
}
commit_stamp() { mv "$VENV/.stamp-$1.new" "$VENV/.stamp-$1"; }

if [[ ! -x $VENV/bin/python ]]; then
  echo "setup: creating virtualenv $VENV"
  "$PY" -m venv "$VENV"
fi
if need_stamp python pyproject.toml; then
  echo "setup: installing Python dependencies"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e '.[dev]'
  commit_stamp python
fi

if [[ -f frontend/package.json ]] && command -v npm >/dev/null; then
  if need_stamp frontend frontend/package.json frontend/package-lock.json; then
    echo "setup: installing frontend dependencies"
    (cd frontend && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund))
    commit_stamp frontend
  fi
  echo "setup: building the frontend"
  (cd frontend && npm run --silent build)
fi

if [[ $MODE == "--test" ]]; then
  bash scripts/emulators/install.sh
  # The packaging test installs each function in a virtualenv of the runtime's Python
  # (terraform/locals.tf `runtime`, e.g. python313 -> 3.13), found as the emulators'.
  # shellcheck source=find_python.sh
  source scripts/find_python.sh
  RUNTIME=$(sed -n 's/^ *runtime *= *"python3\([0-9]*\)".*/3.\1/p' terraform/locals.tf)
  if RUNTIME_PY=$(find_python "$RUNTIME"); then
    mkdir -p .emulators
    echo "$RUNTIME_PY" > .emulators/runtime-python
  else
    echo "setup: Python $RUNTIME (the functions' runtime) not found: pyenv install $RUNTIME" >&2
    exit 1
  fi
  # checkov pins many packages of its own: it lives in its own virtualenv.
  CHECKOV_VENV=.emulators/checkov/venv
  if [[ ! -x $CHECKOV_VENV/bin/checkov ]]; then
    echo "setup: installing checkov"
    "$PY" -m venv "$CHECKOV_VENV"
    "$CHECKOV_VENV/bin/python" -m pip install --quiet 'checkov>=3.2,<4'
  fi
fi
