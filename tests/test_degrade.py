"""Robust recipes (issue 10): the params files keep their clean twin's budget, state only what differs from TrainConfig's
defaults, and a smoke-sized robust run records its selection rule."""
import dataclasses
from dataclasses import asdict
import pytest
import yaml
from cifake_nb.train import TrainConfig, cli, read_meta, read_params
from cifake_nb.degrade import Degrade

PAIRS = [(['cpu'], ['cpu_robust']), (['gpu'], ['gpu_robust']), (['cpu', 'smoke'], ['cpu_robust', 'smoke'])]
TRAIN_PARAMS = ['budget', 'cpu', 'cpu_robust', 'gpu', 'gpu_long', 'gpu_robust', 'smoke']

def _cfg(root, names): return asdict(TrainConfig.from_dict(read_params([root / 'params' / f'{n}.yaml' for n in names])))

@pytest.mark.parametrize('clean,robust', PAIRS, ids=lambda n: '+'.join(n))
def test_robust_recipe_differs_only_in_degradation(root, clean, robust):
    a, b = _cfg(root, clean), _cfg(root, robust)
    assert {k for k in a if a[k] != b[k]} == {'degrade', 'select_on'}  # same model, data and budget
    assert Degrade.from_dict(b['degrade']).active and b['select_on'] == 'mean_clean_degraded'

@pytest.mark.parametrize('name', TRAIN_PARAMS)
def test_params_files_state_only_differences(root, name):
    "Defaults live in TrainConfig: a params file names only what it changes, and smoke sizes live in params/smoke.yaml alone."
    d = yaml.safe_load((root / 'params' / f'{name}.yaml').read_text())
    default = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory() for f in dataclasses.fields(TrainConfig)}
    assert not {k for k, v in d.items() if v == default[k]}, f'params/{name}.yaml restates defaults'
    if name != 'smoke': assert not {'train_limit', 'val_limit'} & set(d), f'params/{name}.yaml holds smoke sizes'

def test_smoke_robust_run_records_selection(tmp_path, root, data_dir):
    res = cli([str(root / 'params' / 'cpu_robust.yaml'), str(root / 'params' / 'smoke.yaml'), '-p', 'epochs', '1', '-p', 'train_limit', '1000',
               '-p', 'val_limit', '500', '-p', 'runs_dir', str(tmp_path), '-p', 'wandb', 'disabled', '-p', 'progress', 'false',
               '-p', 'data_source', str(data_dir), '-p', 'cpu_amp', 'false'])
    meta = read_meta(res['run_dir'])[1]
    assert meta['selection']['rule'] == 'mean_clean_degraded' and meta['selection']['degraded_val']['seed'] == 0
    assert {'val_acc', 'val_acc_degraded', 'val_loss_degraded'} <= set(meta['metrics'])
    assert 'val_acc_degraded' in res['history'][0] and meta['config']['degrade']['p_jpeg'] == 0.15
    assert meta['config']['run_name'] == 'cpu_robust+smoke'
