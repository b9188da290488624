"""Training acceptance tests that a notebook cannot hold: a smoke papermill run learns, bad parameters stop the notebook,
resume after a SIGKILL, DDP with two processes, the GPU recipe's code path on the CPU, the run notebook's parameters cell
against its config, and training numerics unchanged by refactoring (a recorded reference)."""
import ast, hashlib, json, os, signal, subprocess, sys, time

from pathlib import Path
import numpy as np
import pytest

import cifake_nb.train as T
from cifake_nb.train import TrainConfig, train, load_checkpoint, CheckpointError
from cifake_nb.data import CIFAKE, Split, tiny_cifake

ROOT = Path(__file__).resolve().parents[1]


def test_seeds_run_one_papermill_run_per_seed(tmp_path, root, data_dir):
    """`cifake-run train params/smoke.yaml --seeds 0 1`: one small papermill run per seed in its own new folder, then the summary
    folder (mean ± std of the selected epochs' figures). The full smoke run (it learns; its record and progress lines) is
    tests/test_main.py's first step, `make main` with params/smoke.yaml."""
    from cifake_nb.runs import main
    main(['train', str(root / 'params' / 'smoke.yaml'), '--seeds', '0', '1', '-p', 'epochs', '1', '-p', 'train_limit', '500',
          '-p', 'val_limit', '200', '--runs-dir', str(tmp_path)])
    s0, s1 = sorted(tmp_path.glob('smoke-s0-*')), sorted(tmp_path.glob('smoke-s1-*'))
    (summ,) = tmp_path.glob('smoke-seeds-*')
    assert len(s0) == len(s1) == 1
    for r in (*s0, *s1): assert {'train.ipynb', 'model.safetensors', 'model.json', 'run.log'} <= {p.name for p in r.iterdir()}, r
    d = json.loads((summ / 'summary.json').read_text())
    accs = [json.loads((r / 'summary.json').read_text())['best']['val_acc'] for r in (*s0, *s1)]
    assert d['n'] == 2 and d['metrics']['val_acc']['values'] == accs and abs(d['metrics']['val_acc']['mean'] - sum(accs) / 2) < 1e-12
    assert [json.loads((r / 'model.json').read_text())['config']['seed'] for r in (*s0, *s1)] == [0, 1]
    groups = {json.loads((r / 'model.json').read_text())['config']['wandb_group'] for r in (*s0, *s1)}
    assert len(groups) == 1 and groups.pop().startswith('smoke-seeds-'), 'the seeds of one command share one W&B group'
    assert '| `val_acc` |' in (summ / 'summary.md').read_text()


def test_unknown_or_illtyped_parameter_stops_the_notebook(tmp_path, root):
    import papermill as pm
    for params, msg in [({'epochz': 3}, "unknown training parameter(s) ['epochz']"), ({'epochs': 'many'}, 'ill-typed training parameter'),
                        ({'out_dir': 'runs'}, 'out_dir is now called runs_dir')]:
        with pytest.raises(pm.PapermillExecutionError, match=msg.replace('(', r'\(').replace(')', r'\)').replace('[', r'\[').replace(']', r'\]')):
            pm.execute_notebook(str(root / 'nbs' / 'train.ipynb'), str(tmp_path / 'x.ipynb'), parameters=params, cwd=str(root), progress_bar=False)


def _parameters_cell(nb: Path) -> dict:
    "The literal assignments of a notebook's papermill `parameters` cell, in order."
    cell = next(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if 'parameters' in c['metadata'].get('tags', []))
    return {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(cell).body}


def _run_notebooks():
    yield 'train.ipynb', TrainConfig
    try: from cifake_nb.evaluate import EvalConfig
    except ImportError: return
    yield 'evaluate.ipynb', EvalConfig


@pytest.mark.parametrize('nb, cls', list(_run_notebooks()), ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_run_notebook_parameters_cell_is_its_config(nb, cls):
    "Each run notebook's parameters cell holds one line per config field, in field order, with the dataclass default: defaults live in one place."
    import dataclasses
    cell = _parameters_cell(ROOT / 'nbs' / nb)
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory() for f in dataclasses.fields(cls)}
    assert list(cell) == list(defaults), f'nbs/{nb} parameters cell vs {cls.__name__} fields'
    assert cell == defaults, {k: (cell[k], defaults[k]) for k in cell if cell[k] != defaults[k]}


def test_bad_model_and_checkpoints(tmp_path):
    tiny = tiny_cifake(n_train=256, n_test=16)
    with pytest.raises(ValueError, match="model='nope'"):
        train(TrainConfig(model='nope', n_val=64, runs_dir=str(tmp_path), wandb='disabled', progress=False), tiny)
    with pytest.raises(CheckpointError, match='cannot resume'):
        train(TrainConfig(n_val=64, run_dir=str(tmp_path / 'never'), resume=True, wandb='disabled', progress=False), tiny)
    with pytest.raises(CheckpointError, match='does not exist'): load_checkpoint(tmp_path / 'missing.safetensors')


SMOKE = ['-p', 'train_limit', '1500', '-p', 'val_limit', '500', '-p', 'epochs', '2', '-p', 'batch_size', '100',
         '-p', 'wandb', 'disabled', '-p', 'progress', 'false', '-p', 'checkpoint_every', '5', '-p', 'threads', '1']

def _train_cli(root, run_dir, *extra):
    return [sys.executable, '-m', 'cifake_nb.train', str(root / 'params' / 'smoke.yaml'), *SMOKE, '-p', 'run_dir', str(run_dir), *extra]

def test_resume_after_kill_mid_epoch(tmp_path, root, data_dir):
    """Kill a run with SIGKILL in the middle of its last epoch (2 of 2), resume it: it ends where an uninterrupted run ends."""
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
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert not (tmp_path / 'cut' / 'summary.json').exists()
    res = subprocess.run(_train_cli(root, tmp_path / 'cut', '-p', 'resume', 'true'), env=env, capture_output=True, text=True, timeout=900, cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]
    assert 'resumed' in res.stdout
    got = json.loads((tmp_path / 'cut' / 'summary.json').read_text())
    assert len(got['history']) == 2
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


def test_gpu_config_path_runs_on_cpu(tmp_path, root):
    """No GPU here: the GPU params (torch.compile, bf16 autocast flag, data on device, TTA) run end to end on
    the CPU at toy size, so the code path the H100 takes is exercised in every test run."""
    from cifake_nb.runs import read_params
    from cifake_nb.train import predict_logits
    tiny = tiny_cifake(n_train=640, n_test=64)
    p = read_params(root / 'params' / 'gpu.yaml')
    p.update(device='cpu', n_val=128, epochs=1, batch_size=128, eval_batch_size=256,
             model_kwargs={'widths': [8, 16, 16, 32]}, runs_dir=str(tmp_path), wandb='disabled', progress=False, run_name='gpu-on-cpu')
    res = train(TrainConfig.from_dict(p), tiny)
    assert len(res['history']) == 1 and 0 <= res['best']['val_acc'] <= 1   # 4 steps: too few to learn, enough to run
    model, meta = load_checkpoint(res['run_dir'])
    assert meta['config']['compile'] is True and meta['config']['tta'] is True
    # the saved weights (unwrapped from torch.compile) are the trained EMA weights
    np.testing.assert_allclose(predict_logits(model, tiny.test.images), predict_logits(res['ema'], tiny.test.images), atol=1e-5)


# ---- training numerics are unchanged by refactoring: a reference recorded before `train` became named steps ----

def _synthetic(n_train=1200, n_test=100, seed=0) -> CIFAKE:
    "Learnable random images (FAKE brighter), fixed here so that the reference does not move when tiny_cifake changes."
    rng = np.random.default_rng(seed)
    def split(name, n):
        y = rng.integers(0, 2, n)
        x = rng.integers(0, 200, (n, 32, 32, 3)).astype(np.int64) + 55 * y[:, None, None, None] * (rng.random((n, 1, 1, 1)) < .9)
        return Split(name, np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64), rng.integers(0, 10, n).astype(np.int64),
                     np.array([f'{name}/{i}.jpg' for i in range(n)]), rng.integers(0, 2**63, n).astype(np.uint64))
    return CIFAKE({'train': split('train', n_train), 'test': split('test', n_test)}, source='synthetic', fingerprint='synthetic')

_BASE = dict(n_val=200, epochs=2, batch_size=100, model_kwargs={'widths': [8, 8, 8, 8]}, lr=0.05, warmup_epochs=0.5,
             threads=1, wandb='disabled', progress=False, progress_every_s=0.0, device='cpu')
_CASES = dict(plain={}, noema=dict(ema_decay=0.0, optimizer='adamw', lr=0.003, schedule='linear'),
              degrade=dict(degrade={'p_blur': .3, 'p_jpeg': .3, 'p_noise': .3, 'p_crop': .2, 'p_resize': .2}, select_on='mean_clean_degraded'))
_TIMING = {'epoch_seconds', 'images_per_second', 'train_seconds'}

def _wsha(m) -> str:
    h, sd = hashlib.sha256(), m.state_dict()
    for k in sorted(sd):
        h.update(k.encode())
        h.update(sd[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]

def _fingerprint(res) -> dict:
    return dict(history=[{k: v for k, v in h.items() if k not in _TIMING} for h in res['history']], best=res['best'],
                order_head=res['order_head'][:8] if res.get('order_head') else None,
                weights=_wsha(res['model']), ema=_wsha(res['ema']) if res['ema'] is not None else None)

class _Stop(Exception): pass

def _fingerprints(tmp_path, monkeypatch) -> dict:
    "The plain, no-EMA/AdamW and degraded runs, and the plain run stopped after a mid-epoch save (step 14 of 20) and resumed."
    import torch
    torch.set_num_threads(1)
    ds, out = _synthetic(), {}
    for case, extra in _CASES.items(): out[case] = _fingerprint(train(TrainConfig(**{**_BASE, **extra, 'run_dir': str(tmp_path / case)}), ds))
    cfg, save = dict(_BASE, run_dir=str(tmp_path / 'resume'), checkpoint_every=7), T.save_resume_state
    def save_then_stop(run_dir, model, ema, opt, info):
        save(run_dir, model, ema, opt, info)
        if info['step'] == 14: raise _Stop()
    monkeypatch.setattr(T, 'save_resume_state', save_then_stop)
    with pytest.raises(_Stop): train(TrainConfig(**cfg), ds)
    monkeypatch.setattr(T, 'save_resume_state', save)
    out['resume'] = _fingerprint(train(TrainConfig(**cfg, resume=True), ds))
    return out

def test_training_numerics_match_the_recorded_reference(tmp_path, monkeypatch):
    """Same config, same data → the same batches, degradations, losses, selected epoch and weights as the code before the
    refactor (tests/train_reference.json): bit-for-bit on the torch and CPU that recorded it, else within float tolerance."""
    from cifake_nb.train import hardware_name
    import torch
    ref = json.loads((ROOT / 'tests' / 'train_reference.json').read_text())
    got = _fingerprints(tmp_path, monkeypatch)
    assert got['resume']['ema'] == got['plain']['ema'], 'a run resumed mid-epoch ends with the weights of the uninterrupted run'
    same_machine = ref['torch'] == torch.__version__ and ref['hardware'] == hardware_name()
    for case, want in ref['cases'].items():
        if same_machine: assert got[case] == want, case
        else:
            assert got[case]['order_head'] == want['order_head'] and len(got[case]['history']) == len(want['history']), case
            for g, w in zip(got[case]['history'], want['history']):
                for k, v in w.items(): assert g[k] == pytest.approx(v, rel=1e-3, abs=1e-4), (case, k)
