#!/usr/bin/env bash
# The infrastructure checks that run without provider downloads:
#   1. terraform fmt -check (when a terraform binary is present)
#   2. structural tests of terraform/, cloudbuild.yaml, packaging (python-hcl2)
#   3. checkov on terraform/ (own virtualenv under .emulators/checkov; 0 failed checks)
# `terraform validate` needs the providers, which cannot be downloaded here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
CHECKOV_VENV="$ROOT/.emulators/checkov/venv"
CHECKOV_SPEC="${CHECKOV_SPEC:-checkov>=3.2,<4}"
status=0

echo "== terraform fmt -check"
if command -v terraform >/dev/null 2>&1; then
  terraform -chdir=terraform fmt -check -recursive -diff || status=1
else
  echo "   skipped: no terraform binary on PATH"
fi

echo "== schema/business_data.json is current"
"$PY" scripts/generate_schema.py --check || status=1

echo "== structural tests"
"$PY" -m pytest tests/infra -q -m "not slow" -p no:cacheprovider || status=1

echo "== checkov"
if [ ! -x "$CHECKOV_VENV/bin/checkov" ]; then
  echo "   installing $CHECKOV_SPEC into $CHECKOV_VENV"
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install --quiet "$CHECKOV_SPEC"
fi
# --skip-download: no calls to the vendor's platform; inline skips carry their reasons.
"$CHECKOV_VENV/bin/checkov" --directory terraform --framework terraform --compact --quiet \
  --skip-download --download-external-modules false || status=1

if [ "$status" -ne 0 ]; then
  echo "infrastructure checks FAILED" >&2
fi
exit "$status"
