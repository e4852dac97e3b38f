# The two commands users need: `make test` and (once it exists) `make demo`.
# Both create or update the virtualenv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint format typecheck pytest test-postgres demo clean bench mutate soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/ty check

# The suite runs in PYTEST_WORKERS processes (pytest-xdist): most tests wait on real
# processes, sockets and Redis, so three share two cores well. PYTEST_WORKERS=0 runs
# everything in this process (for pdb or a narrow selection).
PYTEST_WORKERS ?= 3
XDIST = -n $(PYTEST_WORKERS) --dist worksteal
# The suite starts a few hundred `gateway` and worker processes: compiled once here,
# their modules load from bytecode even where PYTHONDONTWRITEBYTECODE keeps each
# process from caching what it compiled (about 0.1 s of CPU per process).
BYTECODE = $(BIN)/python -m compileall -q -j 0 gateway fakes scenarios bench > /dev/null
pytest: $(STAMP)
	$(BYTECODE)
	$(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

test: lint typecheck pytest

# The database-touching tests again, against PostgreSQL, plus the concurrent-workers and
# database-restart scenarios: each test gets a fresh database on the server this URL names
# (the role needs CREATEDB). .ci/run starts one. Only tests that use a database fixture run
# here (tests/conftest.py deselects the rest); fakes, clients and the SQLite-only
# scenarios run once.
TEST_DATABASE_URL ?= postgresql+psycopg://gateway:gateway@127.0.0.1:5432/gateway
POSTGRES_TESTS := tests/gateway tests/ops tests/scenarios/test_scenarios_postgres.py
test-postgres: $(STAMP)
	$(BYTECODE)
	GATEWAY_TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest $(XDIST) $(POSTGRES_TESTS) \
		--ignore=tests/gateway/clients $(PYTEST_ARGS)

# Everything locally with fake PeopleForce and Jira: make demo ARGS="--duration 60"
demo: $(STAMP)
	$(BIN)/gateway demo $(ARGS)

# Benchmarks (not part of `test` or CI): `make bench BENCH_ARGS="--only tick --quick"`.
# They also write PNG charts, with the `bench` extra (matplotlib).
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Mutation testing of the guarantee core listed in mutation/targets.toml, each module
# against its own fast tests: prints a score per module and fails on any surviving
# mutant not explained in mutation/equivalent.toml. MUTATE_ARGS="signature routing"
# runs some targets, MUTATE_ARGS="--changed-since main" those a branch touched.
mutate: $(STAMP)
	$(BIN)/python -m mutation $(MUTATE_ARGS)

# A long randomised run of the state machine (not part of `test`): about 5 s an example.
SOAK_EXAMPLES ?= 500
SOAK_STEPS ?= 40
soak: $(STAMP)
	GATEWAY_SOAK_EXAMPLES=$(SOAK_EXAMPLES) GATEWAY_SOAK_STEPS=$(SOAK_STEPS) \
		$(BIN)/pytest tests/test_state_machine.py -x $(PYTEST_ARGS)

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
