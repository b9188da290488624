"""Robust recipes (issue 10): the params files keep their clean twin's budget, and a smoke-sized robust run records its selection rule."""
import json, re
from dataclasses import asdict
import pytest
from cifake_nb.train import TrainConfig, cli, read_meta
from cifake_nb.degrade import Degrade

PAIRS = [('cpu', 'cpu_robust'), ('gpu', 'gpu_robust'), ('smoke', 'smoke_robust')]

@pytest.mark.parametrize('clean,robust', PAIRS)
def test_robust_recipe_differs_only_in_degradation(root, clean, robust):
    a, b = (asdict(TrainConfig.from_yaml(root / 'params' / f'{n}.yaml')) for n in (clean, robust))
    test = {k for k in a if a[k] != b[k]}
    assert test == {'degrade', 'select_on', 'run_name'}, test  # same model, data and budget
    assert Degrade.from_dict(b['degrade']).active and b['select_on'] == 'mean_clean_degraded'

@pytest.mark.parametrize('robust', [r for _, r in PAIRS])
def test_robust_params_set_every_smoke_sized_parameter(root, robust):
    "cifake-run goes through nbs/train.ipynb, whose parameters cell is smoke-sized: a full recipe must override each of those."
    import yaml
    cell = next(''.join(c['source']) for c in json.loads((root / 'nbs' / 'train.ipynb').read_text())['cells'] if 'parameters' in c['metadata'].get('tags', []))
    smoke = set(re.findall(r'^(\w+) = .*\[smoke size\]', cell, re.M))
    assert {'train_limit', 'epochs', 'lr'} <= smoke and {'degrade', 'select_on'} <= set(re.findall(r'^(\w+) = ', cell, re.M))
    assert smoke <= set(yaml.safe_load((root / 'params' / f'{robust}.yaml').read_text())), smoke

def test_smoke_robust_run_records_selection(tmp_path, root, data_dir):
    res = cli([str(root / 'params' / 'smoke_robust.yaml'), '--set', 'epochs=1', '--set', 'train_limit=1000', '--set', 'val_limit=500',
               '--set', f'out_dir={tmp_path}', '--set', 'wandb=disabled', '--set', 'progress=false', '--set', f'data_source={data_dir}'])
    meta = read_meta(res['run_dir'])[1]
    assert meta['selection']['rule'] == 'mean_clean_degraded' and meta['selection']['degraded_val']['seed'] == 0
    assert {'val_acc', 'val_acc_degraded', 'val_loss_degraded'} <= set(meta['metrics'])
    assert 'val_acc_degraded' in res['history'][0] and meta['config']['degrade']['p_jpeg'] == 0.15
