"""`make main` end to end: `make main PARAMS=params/smoke.yaml EVAL_PARAMS=params/eval_smoke.yaml` (scripts/main.py) trains, evaluates and exports, and the exported
model's decision rule is the evaluation report's entry for the trained weights (read by SHA-256, not copied). Its training
step is the papermill smoke run: the run folder keeps its record, the model learns, progress reaches the terminal.
Needs the real CIFAKE (../shared/cifake or $CIFAKE_SOURCE), or the Hub when HF_HUB_OFFLINE is off."""
import json, os, subprocess, sys
from pathlib import Path
import pytest
from conftest import DATA, NO_DATA

ROOT = Path(__file__).resolve().parent.parent


def test_main_trains_evaluates_and_exports_with_the_reports_rule(tmp_path):
    env = dict(os.environ)
    if DATA.exists(): env['CIFAKE_SOURCE'] = str(DATA)
    elif env.get('HF_HUB_OFFLINE', '0') not in ('', '0'): pytest.skip(NO_DATA)
    # the README's main command with the smoke params, in this interpreter's environment (VENV: its prefix; -o: it is
    # set up already, so `make setup` is not redone)
    r = subprocess.run(['make', '-s', '-o', f'{sys.prefix}/bin/nbdev_export', 'main', 'PARAMS=params/smoke.yaml',
                        'EVAL_PARAMS=params/eval_smoke.yaml', f'VENV={sys.prefix}',
                        f'MAIN_ARGS=--runs-dir {tmp_path / "runs"}'], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, (r.stdout[-3000:], r.stderr[-3000:])
    from cifake_nb.core import CheckpointMeta, EvalReport, ModelInfo
    (run,) = [p for p in (tmp_path / 'runs').iterdir() if not p.name.startswith('eval-')]
    (ev,) = (tmp_path / 'runs').glob('eval-*')
    # step 2, the papermill training run (`cifake-run train params/smoke.yaml`): a fresh run folder holding its record, and the model learns
    assert run.name.startswith('smoke-')
    assert {'train.ipynb', 'model.safetensors', 'model.json', 'metrics.jsonl', 'curves.png', 'config.json'} <= {p.name for p in run.iterdir()}
    meta = CheckpointMeta.from_json(run / 'model.json')
    assert meta.metrics['val_acc'] > 0.75, meta.metrics      # chance is 0.5
    assert meta.command.startswith('cifake-run train') and meta.config['run_name'] == 'smoke'
    nb = json.loads((run / 'train.ipynb').read_text())
    assert any(o.get('data', {}).get('image/png') for c in nb['cells'] for o in c.get('outputs', []))  # the curves are in the record
    # progress reaches the terminal while papermill runs (and the run folder's log): one line per epoch with an ETA
    log = (run / 'run.log').read_text()
    for e in (1, 2, 3): assert f'epoch   {e}/3' in r.stdout and f'epoch   {e}/3' in log, r.stdout[-2000:]
    assert 'ETA ' in r.stdout
    report, info = EvalReport.from_json(ev / 'metrics.json'), ModelInfo.from_json(run / 'export' / 'model.json')
    ce = report.for_checkpoint(meta.sha256)
    assert (info.temperature, info.threshold, info.checkpoint_sha256) == (ce.temperature, ce.threshold, ce.sha256)
    assert info.evaluation['test']['accuracy'] == ce.test['accuracy'] and info.selection == meta.selection
    assert report.data['n_test'] == 2000 and ce.test['accuracy'] > 0.7, ce.test['accuracy']   # a 3-epoch smoke model on 2,000 test images
    from cifake_nb.inference import Predictor
    assert Predictor(run / 'export').threshold == ce.threshold
    assert f"test accuracy {100 * ce.test['accuracy']:.2f}%" in r.stdout and 'exported to' in r.stdout
    assert (ev / 'evaluate.ipynb').exists() and (run / 'train.ipynb').exists(), 'each executed notebook is kept in its run folder'
    assert json.loads((ev / 'metrics.json').read_text())['params']['run_dir'] == str(ev)


def test_main_checks_both_params_files_before_anything(tmp_path):
    bad = tmp_path / 'eval.yaml'
    bad.write_text('robustnes: false\n')
    r = subprocess.run([sys.executable, 'scripts/main.py', '--params', 'params/smoke.yaml', '--eval-params', str(bad), '--runs-dir', str(tmp_path / 'runs')],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "unknown evaluation parameter(s) ['robustnes']" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / 'runs').exists(), 'nothing created'
