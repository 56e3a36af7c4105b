#!/usr/bin/env bash
# The frontend's lint (ESLint) and unit tests (node's test runner) for `make test`;
# `frontend_checks.sh lint` runs the lint alone (`make lint`).
# Without npm the web app cannot be built either, so outside CI this only says why it
# skipped; under CI=true a missing npm is a failure, as a missing emulator is.
set -euo pipefail
cd "$(dirname "$0")/../frontend"

if ! command -v npm >/dev/null; then
  case "${CI:-}" in
    1|true|TRUE|yes)
      echo "frontend checks: npm is required in CI" >&2
      exit 1 ;;
  esac
  echo "frontend checks: skipped, npm is not installed"
  exit 0
fi
npm run --silent lint
[[ ${1:-} == lint ]] || npm test --silent
