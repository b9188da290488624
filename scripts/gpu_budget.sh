#!/usr/bin/env bash
# The GPU budget table of issue 14 (10, 30, 60 and 120 s of training for seed_cnn, paper_cnn and speednet), on a lent GPU
# machine (../shared/DEVICE.md): one call, run from the repository root there, with CIFAKE's parquet shards and the
# wheels of what that machine lacks (datasets and its small dependencies, PyYAML) carried in .devdata/ (git-ignored):
#     mkdir -p .devdata/wheels && cp ../shared/cifake/data/*.parquet .devdata/
#     pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 --platform any \
#       -d .devdata/wheels datasets dill multiprocess xxhash fsspec huggingface_hub filelock pyyaml anyio h11 httpcore2 \
#       httpx2 idna sniffio brotli truststore certifi cloudpickle typing_extensions    # the versions of .venv (pip freeze)
#     run: bash scripts/gpu_budget.sh [DEADLINE_S [STAGE ...]]      carry: [".devdata"]
# Stages run most-needed first, each a `scripts/bench_budget.py --device cuda --unit s` call of its own (so one that fails
# does not take the others with it; a failed stage is tried once more without the GPU-resident data and autocast); a stage
# starts only if it can end before DEADLINE_S (default 580 s) from now; STAGE names pick stages (default: all, in order);
# more bench_budget.py options for every stage go in $EXTRA (e.g. EXTRA='-p lr 0.1'): words after DEADLINE_S are stage names. `compile` is off: a budget counts every training
# second, the first steps' compile time included (~20 s), which a 10 s budget cannot pay. Each stage's folder comes back
# under $OUT/runs/ without weights (results.json, table.md, the plot, each run's JSON records); publish them here with
# `python scripts/publish_results.py --budget runs/bench_budget-<UTC> ...` (they go to nbs/results/budget_gpu.json).
set -u
start=$(date +%s); deadline=${1:-580}; shift || true; only=" $* "
OUT=${OUT:-/tmp/gpu_budget_out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=offline MPLBACKEND=Agg GRADIO_ANALYTICS_ENABLED=False
export CIFAKE_SOURCE="$PWD/.devdata" CIFAKE_CACHE=/tmp/cifake_cache
PY=${PY:-python3}; DEVICE=${DEVICE:-cuda}; EXTRA=${EXTRA:-}; RUNS=${RUNS:-runs}  # DEVICE=cpu EXTRA=--smoke: a check of this script on a CPU
{ nvidia-smi; $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'; $PY -m pip list; } > "$OUT/machine.txt" 2>&1
$PY -m pip install -q --no-index --no-deps --target /tmp/pydeps .devdata/wheels/*.whl > "$OUT/pip.txt" 2>&1 || echo "pip install failed: see pip.txt"
export PYTHONPATH="$PWD:/tmp/pydeps"

left() { echo $(( deadline - ($(date +%s) - start) )); }
bench() { $PY scripts/bench_budget.py --device $DEVICE --unit s --ours-also --seeds 1 --runs-dir "$RUNS" $EXTRA "$@"; }
bring_back() {  # the bench folders without weights or resume state
  $PY - "$OUT" "$RUNS" <<'EOF'
import shutil, sys
from pathlib import Path
out, runs = Path(sys.argv[1]) / 'runs', Path(sys.argv[2])
for f in runs.glob('bench_budget-*/**/*'):
    if f.is_file() and f.suffix not in ('.safetensors', '.pt') and f.stat().st_size < 2_000_000:
        (out / f.relative_to(runs)).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, out / f.relative_to(runs))
EOF
}
stage() {  # stage NAME SECONDS_OF_TRAINING ARGS...: run if it fits before the deadline
  local name=$1 need=$2; shift 2
  [[ "$only" == "  " || "$only" == *" $name "* ]] || return 0
  if (( $(left) < need + 30 )); then echo "== $name: skipped, $(left) s left before the deadline" | tee -a "$OUT/stages.txt"; return; fi
  echo "== $name ($(( $(date +%s) - start )) s): bench_budget.py $*" | tee -a "$OUT/stages.txt"
  if ! bench "$@" > "$OUT/$name.log" 2>&1; then
    echo "   $name failed (tail of $name.log below); once more with data_on_device false, amp false" | tee -a "$OUT/stages.txt"
    tail -5 "$OUT/$name.log" >> "$OUT/stages.txt"
    (( $(left) >= need + 30 )) && bench "$@" -p data_on_device false -p amp false > "$OUT/$name-retry.log" 2>&1 || echo "   $name-retry failed or skipped" | tee -a "$OUT/stages.txt"
  fi
  grep -h '^\[' "$OUT/$name.log" "$OUT/$name-retry.log" 2>/dev/null | tee -a "$OUT/stages.txt"
  bring_back
}
( while sleep 15; do bring_back; done ) &   # a stage the call's time limit kills still brings back the runs it finished
stage ours 220 --models speednet --budgets 10 30 60 120 -p compile false
stage seed 220 --models seed_cnn --budgets 10 30 60 120
stage paper-short 40 --models paper_cnn --budgets 10 30 -p compile false
stage paper-long 180 --models paper_cnn --budgets 60 120 -p compile false
bring_back; kill %1 2>/dev/null
echo "== done ($(( $(date +%s) - start )) s)" | tee -a "$OUT/stages.txt"
