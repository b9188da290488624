"""nbs/evaluate.ipynb through papermill, on a tiny CIFAKE written as an image folder (no real data needed):
its parameters cell mirrors EvalConfig, a run writes its report into the run folder, and bad input stops it
early with a message naming the problem. (The library itself is tested in nbs/05b_evaluate.ipynb.)"""
import ast, dataclasses, json
from pathlib import Path
import numpy as np, pytest, yaml
from PIL import Image

pm = pytest.importorskip('papermill')
ROOT = Path(__file__).resolve().parent.parent
NB = ROOT / 'nbs' / 'evaluate.ipynb'


def _run(tmp_path, **params):
    pm.execute_notebook(str(NB), str(tmp_path / 'out.ipynb'), parameters=params, cwd=str(ROOT), progress_bar=False, kernel_name='python3')


@pytest.fixture(scope='module')
def tiny(tmp_path_factory, tiny_folder, sgd_checkpoint):
    "tiny_cifake() as a Kaggle-style image folder (conftest's tiny_folder), and a checkpoint given a few SGD steps on it (the sidecar training writes)."
    from cifake_nb.data import load_cifake
    d = tmp_path_factory.mktemp('tiny')
    ds = load_cifake(tiny_folder, cache_dir=d / 'cache', progress=False)
    sgd_checkpoint(ds, d / 'run' / 'model.safetensors', seed=0, steps=30)
    return dict(data=str(tiny_folder), ckpt=d / 'run', cache=str(d / 'cache'))


def test_parameters_cell_mirrors_evalconfig():
    from cifake_nb.evaluate import EvalConfig
    nb = json.loads(NB.read_text())
    cells = [c for c in nb['cells'] if 'parameters' in c.get('metadata', {}).get('tags', [])]
    assert len(cells) == 1, 'evaluate.ipynb needs exactly one cell tagged parameters'
    tree = ast.parse(''.join(cells[0]['source']))
    assert all(isinstance(n, ast.Assign) for n in tree.body), 'the parameters cell holds literal assignments only'
    given = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body}
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory() for f in dataclasses.fields(EvalConfig)}
    assert given == defaults, 'the parameters cell must list every EvalConfig field with its dataclass default, in any order'
    for f in ('eval.yaml', 'eval_smoke.yaml'):
        d = yaml.safe_load((ROOT / 'params' / f).read_text()) or {}
        assert not set(d) - set(defaults), f'params/{f} sets unknown parameters {set(d) - set(defaults)}'
        assert not {k for k, v in d.items() if v == defaults[k]}, f'params/{f} restates defaults: YAML files state only differences'
        EvalConfig.from_dict({**d, 'checkpoints': ['x']})  # and their values pass the config's checks


def test_a_run_writes_its_report(tmp_path, tiny, monkeypatch):
    monkeypatch.setenv('CIFAKE_CACHE', tiny['cache'])
    _run(tmp_path, checkpoints=[str(tiny['ckpt'])], data_source=tiny['data'], robustness_limit=20, postproc_limit=20, n_boot=20,
         run_dir=str(tmp_path / 'eval'))
    from cifake_nb.core import EvalReport
    rep = EvalReport.from_json(tmp_path / 'eval' / 'metrics.json')
    (ce,) = rep.checkpoints.values()
    assert ce.sha256 == json.loads((tiny['ckpt'] / 'model.json').read_text())['sha256'] and rep.data['n_test'] == 256
    assert ce.val_split['fitted_on'] == 'clean validation' and 0 < ce.threshold < 1 and ce.test['accuracy'] > 0.6
    assert {'summary.csv', 'run_postproc.csv', 'run_robustness.csv', *ce.figures.values()} <= {p.name for p in (tmp_path / 'eval').iterdir()}
    out = json.loads((tmp_path / 'out.ipynb').read_text())
    assert not any(o.get('output_type') == 'error' for c in out['cells'] for o in c.get('outputs', []))
    with pytest.raises(pm.PapermillExecutionError, match='runs never overwrite each other'):   # the same run folder again
        _run(tmp_path, checkpoints=[str(tiny['ckpt'])], data_source=tiny['data'], run_dir=str(tmp_path / 'eval'))


def test_unknown_and_bad_parameters_are_named(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match=r"unknown evaluation parameter\(s\) \['robustnes'\]"):
        _run(tmp_path, checkpoints=['x'], robustnes=False)
    with pytest.raises(pm.PapermillExecutionError, match=r"threshold_method='f1'.*test_limit=1"):
        _run(tmp_path, checkpoints=['x'], threshold_method='f1', test_limit=1)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match=r'checkpoint\(s\) not found'):
        _run(tmp_path, checkpoints=[str(tmp_path / 'no-such-run')], run_dir=str(tmp_path / 'eval'))
    assert not (tmp_path / 'eval').exists(), 'a run that cannot start creates nothing'


def test_label_names_that_do_not_match(tmp_path, tiny, monkeypatch):
    monkeypatch.setenv('CIFAKE_CACHE', tiny['cache'])
    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / 'model.safetensors').write_bytes((tiny['ckpt'] / 'model.safetensors').read_bytes())
    meta = json.loads((tiny['ckpt'] / 'model.json').read_text())
    (bad / 'model.json').write_text(json.dumps({**meta, 'label_names': ['FAKE', 'REAL']}))
    with pytest.raises(pm.PapermillExecutionError, match=r"wrong logit"):
        _run(tmp_path, checkpoints=[str(bad)], data_source=tiny['data'], robustness=False, postproc=False, cam=False, n_boot=0,
             run_dir=str(tmp_path / 'eval'))


def test_empty_test_split(tmp_path, tiny, monkeypatch):
    monkeypatch.setenv('CIFAKE_CACHE', str(tmp_path / 'cache'))
    root = tmp_path / 'kaggle'
    for c in ('REAL', 'FAKE'):
        (root / 'train' / c).mkdir(parents=True)
        (root / 'test' / c).mkdir(parents=True)
        for i in range(3): Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(root / 'train' / c / f'{i}.png')
    with pytest.raises(pm.PapermillExecutionError, match="split 'test' of .* holds no images"):
        _run(tmp_path, checkpoints=[str(tiny['ckpt'])], data_source=str(root), run_dir=str(tmp_path / 'eval'))
