# Newcomer's entry points (see README.md). Every target creates .venv itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The Hub stays reachable for `make main` (a newcomer without ../shared/cifake downloads CIFAKE); tests run offline.
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export WANDB_MODE ?= offline
export GRADIO_ANALYTICS_ENABLED ?= False
export MPLBACKEND ?= Agg
PARAMS ?= params/cpu.yaml
EVAL_PARAMS ?= params/eval.yaml
MAIN_ARGS ?=  # more scripts/main.py options, e.g. --runs-dir /tmp/runs

.PHONY: setup test lint main sync-check bench-data docs

$(BIN)/nbdev_export: requirements.txt settings.ini setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

setup: $(BIN)/nbdev_export  ## create .venv with everything installed

# nbdev_test skips the papermill run notebooks (nbs/train.ipynb, nbs/evaluate.ipynb, nbs/monitor_report.ipynb;
# tests/test_train.py, test_metrics_robustness.py and test_monitoring.py run them through papermill) and the executed
# results pages (nbs/results/train_*, evaluate_*: records of real runs, not tests). nbdev 2 does not read skip_file_re
# from settings.ini.
NBTEST_SKIP := ^(_|\.|train|evaluate|monitor_report|sweep)

# The real CIFAKE: $$CIFAKE_SOURCE, else ../shared/cifake beside the clone. When it is there, nbdev_test also runs the
# notebook cells flagged `#| data` (settings.ini tst_flags); when it is not, they are skipped and so are the pytest
# tests that need it (one line from tests/conftest.py says so), and everything else still runs.
CIFAKE_DATA := $(or $(CIFAKE_SOURCE),../shared/cifake)
DATA_FLAGS := $(if $(wildcard $(CIFAKE_DATA)),--flags data,)
# OMP_WAIT_POLICY=PASSIVE: two test workers share the cores, so torch's OpenMP threads sleep when idle instead of spinning
# (2-core Zen 1 EPYC, test_main + the recipes notebook on 2 workers: 153 s wall against 177 s); numerics are unchanged.
TEST_ENV := $(OFFLINE) OMP_WAIT_POLICY=PASSIVE $(if $(DATA_FLAGS),CIFAKE_SOURCE=$(abspath $(CIFAKE_DATA)),)

# pytest's coverage report ([tool.coverage] in pyproject.toml); `make test COVERAGE=` runs without it
# pytest-xdist: 2 workers, each test file kept on one worker (--dist loadfile: a file's servers and fixtures stay together);
# most tests wait on subprocesses, kernels and servers, so two run in the time of one. `make test PYTEST_WORKERS=0`: serial.
PYTEST_WORKERS ?= 2
COVERAGE ?= --cov --cov-report=term

lint: setup  ## ruff over the library, scripts, tests and notebooks (rules: pyproject.toml [tool.ruff])
	$(BIN)/ruff check .

test: setup  ## the test suite: ruff, every notebook (fast cells) and tests/ with coverage of cifake_nb
	$(BIN)/ruff check .
	@echo "data: $(if $(DATA_FLAGS),real CIFAKE at $(CIFAKE_DATA): notebook cells flagged data run too,no real CIFAKE at $(CIFAKE_DATA) (set CIFAKE_SOURCE to its parquet folder): notebook cells flagged data and pytest tests that need it are skipped)"
	$(TEST_ENV) $(BIN)/nbdev_test --n_workers 2 --do_print --timing --skip_file_re '$(NBTEST_SKIP)' $(DATA_FLAGS)
	@mkdir -p .cache/coverage
	$(TEST_ENV) $(BIN)/python -m pytest -q -rs -n $(PYTEST_WORKERS) --dist loadfile $(COVERAGE) tests

sync-check: setup  ## fail if the notebooks and cifake_nb/ disagree or notebooks are not clean
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean
	@git diff --exit-code --stat -- nbs cifake_nb || { echo "nbdev_export/nbdev_clean changed files: run them and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- cifake_nb)" || { git status --porcelain -- cifake_nb; echo "untracked exported modules: commit them"; exit 1; }

# The docs site, built as .github/workflows/docs.yaml builds it (scripts/check_docs.py, then `cd _proc && quarto render`),
# then checked as a reader gets it (cifake_nb.sitecheck: Quarto's error/warning lines, dead links/anchors/images, empty
# sections, long floats, machine paths, unclean evidence on headline pages). Quarto: on PATH, else ../shared/quarto/install.sh.
docs: setup  ## build the docs site into _proc/_docs and check it; every problem listed at once
	$(OFFLINE) $(BIN)/python scripts/build_docs.py

main: setup  ## the main job: data report → train ($(PARAMS)) → evaluate ($(EVAL_PARAMS)) → export to ONNX
	$(BIN)/python scripts/main.py --params $(PARAMS) --eval-params $(EVAL_PARAMS) $(MAIN_ARGS)

bench-data: setup  ## benchmark: cold decode and warm cache load of all 120,000 images
	$(BIN)/python scripts/bench_data.py
