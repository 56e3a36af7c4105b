#!/usr/bin/env bash
# mypy for `make test`, `make lint` and CI: shared/ with the settings in pyproject.toml
# ([tool.mypy], strict on the ports, the services and the web layer), then each
# functions/<name>/main.py on its own, because all four modules are named `main` and
# one mypy run cannot hold two modules of the same name. The per-function runs report
# only the entry module (imports are followed silently): shared/ was checked just above.
# mypy's cache (.mypy_cache) makes the later runs cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

MYPY="${MYPY:-.venv/bin/mypy}"
# This tree's `shared` package, whatever else is installed in the virtualenv.
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

# Every run goes ahead so one report lists all of the errors; the exit status is the worst.
status=0
"$MYPY" || status=1
for main in functions/*/main.py; do
  echo "mypy: $main"
  # Most per-module sections name modules one function never imports: not a mistake here.
  "$MYPY" --follow-imports=silent --no-warn-unused-configs "$main" || status=1
done
exit $status
