"""Training acceptance tests: a smoke papermill run learns, bad parameters fail clearly, resume after a kill, DDP."""
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest

from cifake_nb.train import TrainConfig, train, load_checkpoint, CheckpointError

def test_papermill_smoke_run_learns(tmp_path, root, data_dir, capfd):
    """`cifake-run train params/smoke.yaml`: the executed notebook lands in a fresh run folder and the model learns."""
    from cifake_nb.runs import run_train
    run = run_train(root / 'params' / 'smoke.yaml', out_dir=str(tmp_path))
    names = {p.name for p in run.iterdir()}
    assert {'train.ipynb', 'model.safetensors', 'model.json', 'metrics.jsonl', 'curves.png', 'config.json'} <= names
    meta = json.loads((run / 'model.json').read_text())
    assert meta['metrics']['val_acc'] > 0.75, meta['metrics']      # chance is 0.5
    assert meta['command'].startswith('cifake-run train')
    nb = json.loads((run / 'train.ipynb').read_text())
    assert any(o.get('data', {}).get('image/png') for c in nb['cells'] for o in c.get('outputs', []))  # the curves are in the record
    # progress reaches the terminal while papermill runs (and the run folder's log): one line per epoch with an ETA
    out = capfd.readouterr().out
    for e in (1, 2, 3): assert f'epoch   {e}/3' in out and f'epoch   {e}/3' in (run / 'run.log').read_text(), out[-2000:]
    assert 'ETA ' in out
    run2 = run_train(root / 'params' / 'smoke.yaml', {'epochs': 1, 'train_limit': 500, 'val_limit': 200}, out_dir=str(tmp_path))
    assert run2 != run and (run / 'model.safetensors').exists()   # never overwrites another run

def test_unknown_or_illtyped_parameter_stops_the_notebook(tmp_path, root):
    import papermill as pm
    for params, msg in [({'epochz': 3}, "unknown training parameter(s) ['epochz']"), ({'epochs': 'many'}, 'ill-typed training parameter')]:
        with pytest.raises(pm.PapermillExecutionError, match=msg.replace('(', r'\(').replace(')', r'\)').replace('[', r'\[').replace(']', r'\]')):
            pm.execute_notebook(str(root / 'nbs' / 'train.ipynb'), str(tmp_path / 'x.ipynb'), parameters=params, cwd=str(root), progress_bar=False)

def test_bad_model_and_checkpoints(tmp_path, cifake):
    with pytest.raises(ValueError, match="model='nope'"):
        train(TrainConfig(model='nope', out_dir=str(tmp_path), wandb='disabled', progress=False), cifake)
    with pytest.raises(CheckpointError, match='cannot resume'):
        train(TrainConfig(run_dir=str(tmp_path / 'never'), resume=True, wandb='disabled', progress=False), cifake)
    with pytest.raises(CheckpointError, match='does not exist'): load_checkpoint(tmp_path / 'missing.safetensors')

SMOKE = ['--set', 'train_limit=3000', '--set', 'val_limit=1000', '--set', 'epochs=3', '--set', 'batch_size=100',
         '--set', 'wandb=disabled', '--set', 'progress=false', '--set', 'checkpoint_every=5', '--set', 'threads=1']

def _train_cli(root, run_dir, *extra):
    return [sys.executable, '-m', 'cifake_nb.train', str(root / 'params' / 'smoke.yaml'), *SMOKE, '--set', f'run_dir={run_dir}', *extra]

def test_resume_after_kill_mid_epoch(tmp_path, root, data_dir):
    """Kill a run with SIGKILL in the middle of epoch 2, resume it: it ends where an uninterrupted run ends."""
    env = {**os.environ, 'CIFAKE_SOURCE': str(data_dir)}
    full = subprocess.run(_train_cli(root, tmp_path / 'full'), env=env, capture_output=True, text=True, timeout=900, cwd=root)
    assert full.returncode == 0, full.stderr[-2000:]
    ref = json.loads((tmp_path / 'full' / 'summary.json').read_text())
    p = subprocess.Popen(_train_cli(root, tmp_path / 'cut'), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
    last, deadline = tmp_path / 'cut' / 'last.json', time.time() + 900
    while time.time() < deadline and p.poll() is None:
        try: info = json.loads(last.read_text())
        except (OSError, ValueError): info = {}
        if info.get('epoch') == 1 and info.get('batch', 0) > 0: break   # a mid-epoch checkpoint in epoch 2
        time.sleep(0.02)
    assert p.poll() is None, 'the run finished before it could be killed mid-epoch'
    os.kill(p.pid, signal.SIGKILL); p.wait()
    assert not (tmp_path / 'cut' / 'summary.json').exists()
    res = subprocess.run(_train_cli(root, tmp_path / 'cut', '--set', 'resume=true'), env=env, capture_output=True, text=True, timeout=900, cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'resumed' in res.stdout
    got = json.loads((tmp_path / 'cut' / 'summary.json').read_text())
    assert len(got['history']) == 3
    assert abs(got['best']['val_acc'] - ref['best']['val_acc']) <= 0.003, (got['best'], ref['best'])
    assert got['history'][-1]['val_acc'] == pytest.approx(ref['history'][-1]['val_acc'], abs=0.003)
    # the time of every segment counts: epoch 1 (before the kill), the part of epoch 2 done before it, and the rest
    seconds = [h['train_seconds'] for h in got['history']]
    assert seconds == sorted(seconds) and got['train_seconds'] == seconds[-1]
    assert got['train_seconds'] >= sum(h['epoch_seconds'] for h in got['history']), got['history']
    assert got['train_seconds'] > 0.5 * ref['train_seconds'], (got['train_seconds'], ref['train_seconds'])

def test_ddp_two_processes_gloo(tmp_path, root, data_dir):
    """torchrun with 2 CPU processes: the ranks see different data and end with identical weights."""
    env = {**os.environ, 'CIFAKE_SOURCE': str(data_dir), 'OMP_NUM_THREADS': '1'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', str(root / 'tests' / 'ddp_worker.py'), str(tmp_path)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, cwd=root)
    assert out.returncode == 0, out.stderr[-3000:]
    r0, r1 = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in (0, 1)]
    assert r0['world'] == r1['world'] == 2
    assert not set(r0['order_head']) & set(r1['order_head'])        # different data
    assert r0['weights_sha'] == r1['weights_sha']                    # identical weights
    assert (tmp_path / 'run' / 'model.safetensors').exists() and not list(tmp_path.glob('run-*'))  # rank 0 alone saved

def test_gpu_config_path_runs_on_cpu(tmp_path, root, cifake):
    """No GPU here: the GPU params (torch.compile, bf16 autocast flag, data on device, TTA) run end to end on
    the CPU at toy size, so the code path the H100 takes is exercised in every test run."""
    from cifake_nb.runs import read_params
    p = read_params(root / 'params' / 'gpu.yaml')
    p.update(device='cpu', train_limit=512, val_limit=256, epochs=1, batch_size=128, eval_batch_size=256,
             model_kwargs={'widths': [8, 16, 16, 32]}, out_dir=str(tmp_path), wandb='disabled', progress=False, run_name='gpu-on-cpu')
    res = train(TrainConfig.from_dict(p), cifake)
    assert len(res['history']) == 1 and 0 <= res['best']['val_acc'] <= 1   # 4 steps: too few to learn, enough to run
    model, meta = load_checkpoint(res['run_dir'])
    assert meta['config']['compile'] is True and meta['config']['tta'] is True
    # the saved weights (unwrapped from torch.compile) are the trained EMA weights
    import numpy as np
    from cifake_nb.train import predict_logits
    imgs = cifake.test.images[:64]
    np.testing.assert_allclose(predict_logits(model, imgs), predict_logits(res['ema'], imgs), atol=1e-5)
