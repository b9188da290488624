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

.PHONY: setup test main sync-check bench-data

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
NBTEST_SKIP := ^(_|\.|train|evaluate|monitor_report)

test: setup  ## the test suite: every notebook (fast cells) and tests/
	$(OFFLINE) $(BIN)/nbdev_test --n_workers 2 --do_print --timing --skip_file_re '$(NBTEST_SKIP)'
	$(OFFLINE) $(BIN)/python -m pytest -q tests

sync-check: setup  ## fail if the notebooks and cifake_nb/ disagree or notebooks are not clean
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean
	@git diff --exit-code --stat -- nbs cifake_nb || { echo "nbdev_export/nbdev_clean changed files: run them and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- cifake_nb)" || { git status --porcelain -- cifake_nb; echo "untracked exported modules: commit them"; exit 1; }

main: setup  ## the main job: data report → train ($(PARAMS)) → evaluate ($(EVAL_PARAMS)) → export to ONNX
	$(BIN)/python scripts/main.py --params $(PARAMS) --eval-params $(EVAL_PARAMS)

bench-data: setup  ## benchmark: cold decode and warm cache load of all 120,000 images
	$(BIN)/python scripts/bench_data.py
