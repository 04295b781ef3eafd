# The README's commands. `make demo` sets everything up and runs the server plus a demo investigation;
# `make test` runs every check and test.
.PHONY: setup demo serve test lint typecheck imports unit bench clean

setup:
	@scripts/bootstrap.sh

demo: setup
	.venv/bin/tracehound demo

serve: setup
	.venv/bin/tracehound serve

lint: setup
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench

typecheck: setup
	.venv/bin/mypy

imports: setup
	.venv/bin/lint-imports

test: setup lint typecheck imports
	@scripts/ensure-postgres.sh
	@scripts/ensure-prometheus.sh
	@scripts/ensure-chromium.sh
	.venv/bin/python -m pytest

bench: setup
	@scripts/ensure-postgres.sh
	@scripts/ensure-bench-tools.sh
	.venv/bin/python -m bench

clean:
	rm -rf .venv data .pytest_cache .mypy_cache .ruff_cache
