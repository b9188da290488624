"""nbs/evaluate_recipes.ipynb (the recipe comparison and the ship rule) through papermill on a tiny CIFAKE image folder: every
checkpoint exported and scored through the Predictor (served accuracy on validation, untrained edits on test), the rule
shipping the best served accuracy, the summary written, and a later execution that adds a seed and a served model folder,
merging the earlier seeds' results (`prior`) into the headline; a prior made on other samples is refused before any work."""
import json, shutil, subprocess, sys
from pathlib import Path
import pytest

pm = pytest.importorskip('papermill')
ROOT = Path(__file__).resolve().parent.parent
NB = ROOT / 'nbs' / 'evaluate_recipes.ipynb'
from cifake_nb.recipes import SHIP_RULE  # noqa: E402


@pytest.fixture(scope='module')
def tiny(tmp_path_factory, tiny_folder, sgd_checkpoint):
    "tiny_cifake() as an image folder, and four run folders (clean seeds 0, 1, 2; robust seed 0) of a few SGD steps each."
    from cifake_nb.data import load_cifake
    d = tmp_path_factory.mktemp('recipes')
    ds = load_cifake(tiny_folder, cache_dir=d / 'cache', progress=False)
    runs = {}
    for recipe, seed in (('clean', 0), ('clean', 1), ('robust', 0), ('clean', 2)):
        run = d / f'{recipe}_s{seed}'
        sgd_checkpoint(ds, run / 'model.safetensors', seed, steps=20, metrics=dict(val_acc=0.6 + seed / 100, epoch=1))
        (run / 'metrics.jsonl').write_text(json.dumps(dict(epoch=1, train_seconds=1.5 + seed)) + '\n')
        runs[f'{recipe}{seed}'] = str(run)
    return dict(data=str(tiny_folder), runs=runs, root=d)


def _run(tmp, name, **params):
    out = tmp / name
    out.mkdir()
    pm.execute_notebook(str(NB), str(out / 'evaluate_recipes.ipynb'), cwd=str(ROOT), progress_bar=False, kernel_name='python3',
                        parameters=dict(n_postproc=16, n_corrupt=8, out_dir=str(out), **params))
    return out, json.loads((out / 'summary.json').read_text())


def test_comparison_then_one_more_seed_with_prior(tiny):
    r, tmp = tiny['runs'], tiny['root']
    first, s1 = _run(tmp, 'first', data_source=tiny['data'], clean_runs=[r['clean0'], r['clean1']], robust_runs=[r['robust0']])
    assert [(p['recipe'], p['seed']) for p in s1['per_run']] == [('clean', 0), ('clean', 1), ('robust', 0)]
    for p in s1['per_run']:  # every seed exported and scored through the Predictor
        assert (first / 'export' / Path(p['run']).name / 'model.onnx').is_file() and 0 <= p['test_accuracy'] <= 1
        assert set(p['mild']) and p['n_test'] > 0 and p['assessed'] == 'this run'
        assert 0 <= p['served_val'] <= 1 and len(p['untrained']) == 7 and p['n_served'] == 64, p
    best = max(s1['per_run'], key=lambda p: (p['served_val'], p['clean_val']))
    assert (s1['ship']['run'], s1['ship']['rule']) == (best['run'], SHIP_RULE), 'the rule ships the best served accuracy on validation'
    assert (first / 'tradeoff.png').is_file()
    assert s1['recipes']['clean']['test_accuracy'][1] is not None and s1['recipes']['robust']['test_accuracy'][1] is None
    folder = first / 'export' / Path(r['clean0']).name  # a served model folder joins as it is (the shipped model, in real use)
    later, s2 = _run(tmp, 'later', data_source=tiny['data'], clean_runs=[r['clean2']], robust_runs=[], prior=str(first / 'summary.json'),
                     model_dirs={'clean': [str(folder)]})
    seeds = [(p['recipe'], p['seed'], p['assessed'].split(' ')[0]) for p in s2['per_run']]
    assert seeds == [('clean', 0, 'this'), ('clean', 1, 'earlier'), ('clean', 2, 'this'), ('robust', 0, 'earlier')], seeds
    assert s2['ship']['run'] in {str(folder), r['clean2']}, 'only models assessed in this run are candidates'
    f0 = next(p for p in s2['per_run'] if p['seed'] == 0 and p['recipe'] == 'clean')
    assert f0['served_val'] == next(p for p in s1['per_run'] if p['run'] == r['clean0'])['served_val'], 'the folder is the same model: the same figures'

    accs = [p['test_accuracy'] for p in s2['per_run'] if p['recipe'] == 'clean']
    mean = sum(accs) / 3
    assert s2['recipes']['clean']['test_accuracy'][0] == pytest.approx(mean), 'the headline is the mean over all three seeds'
    with pytest.raises(pm.PapermillExecutionError, match='other test samples, not comparable'):
        _run(tmp, 'other', data_source=tiny['data'], clean_runs=[r['clean2']], robust_runs=[], prior=str(first / 'summary.json'), seed=1)
    assert not (tmp / 'other' / 'export').exists() and not list((tmp / 'other').glob('*.json')), 'refused before any checkpoint was assessed'
    publish_case(tmp, first, s1)


def publish_case(tmp, out, summary):
    "scripts/publish_recipes.py on that run, in a scratch project: the page and recipes.json, and the shipped model's numbers only when it is the run the rule ships."
    sys.path.insert(0, str(ROOT / 'scripts'))
    import publish_recipes
    from cifake_nb.core import ModelInfo
    root = tmp / 'proj'
    (root / 'nbs' / 'results').mkdir(parents=True)
    for f in ('settings.ini', 'nbs/sidebar.yml'): shutil.copy(ROOT / f, root / f)
    ship = next(p for p in summary['per_run'] if p['run'] == summary['ship']['run'])
    other = next(p for p in summary['per_run'] if p['run'] != ship['run'])
    model = root / 'cifake_nb' / 'assets' / 'default'
    shutil.copytree(out / 'export' / Path(other['run']).name, model)  # first, another run is the shipped model
    git = lambda *a: subprocess.run(['git', *a], cwd=root, check=True, capture_output=True)
    git('init', '-q'); git('add', '.'); git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'scratch')
    before = (model / 'model.json').read_text()
    d = publish_recipes.publish(out, root)
    assert not d['shipped_updated'] and (model / 'model.json').read_text() == before, 'not the shipped model: left alone'
    pub = json.loads((root / 'nbs' / 'results' / 'recipes.json').read_text())
    assert pub['recipes'] == json.loads(json.dumps(summary['recipes'])) and pub['page'] == 'results/evaluate_clean_vs_robust.ipynb'
    nb = json.loads((root / 'nbs' / 'results' / 'evaluate_clean_vs_robust.ipynb').read_text())
    assert nb['cells'][0]['cell_type'] == 'raw' and 'Recipes compared' in ''.join(nb['cells'][0]['source'])
    assert 'results/evaluate_clean_vs_robust.ipynb' in (root / 'nbs' / 'sidebar.yml').read_text()
    shutil.rmtree(model); shutil.copytree(out / 'export' / Path(ship['run']).name, model)
    git('add', '-A'); git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'ship the rule\'s run')
    d = publish_recipes.publish(out, root)
    info = ModelInfo.from_json(model / 'model.json')
    assert d['shipped_updated'] and info.robustness['mild'] == ship['mild'] and info.robustness['n'] == 16
    assert set(info.robustness['survives']) | set(info.robustness['fails']) == {f'{k}: {100 * v:.1f}%' for k, v in ship['mild'].items()}
    assert f"ships, seed {ship['seed']}" in info.ship_rule and 'Robustness (what it survives' in (model / 'MODEL_CARD.md').read_text()
    assert info.robustness['untrained'] == ship['untrained'] and info.robustness['served_val'] == ship['served_val']
    assert 'never makes' in (model / 'MODEL_CARD.md').read_text() and 'Served accuracy on validation' in (model / 'MODEL_CARD.md').read_text()
    (root / 'settings.ini').write_text('changed')  # uncommitted code: refused
    with pytest.raises(ValueError, match='uncommitted changes'): publish_recipes.publish(out, root)
