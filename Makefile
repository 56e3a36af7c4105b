# The two commands of the README. Each does all of its own set-up.
.PHONY: run test lint

run:  ## run the whole product locally on http://127.0.0.1:8080
	@bash scripts/setup.sh run
	@.venv/bin/tidemark serve

test:  ## run the full test suite (installs what it needs first)
	@bash scripts/setup.sh --test
	@.venv/bin/ruff check .
	@bash scripts/typecheck.sh
	@bash scripts/frontend_checks.sh
	@.venv/bin/python -m pytest -n 3 --dist loadfile --durations=25 -m "not full"

lint:
	@.venv/bin/ruff check .
	@bash scripts/typecheck.sh
	@bash scripts/frontend_checks.sh lint
