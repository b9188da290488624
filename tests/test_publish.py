"""scripts/publish_results.py on made-up run folders: what a results page keeps, what it refuses, and
the headline entry and sidebar it writes (into a scratch copy of the project's nbs/ layout)."""
import copy, json, shutil, sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'scripts'))
import publish_results as pr  # noqa: E402

PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='


def cell(source, outputs=(), status='completed', tags=()):
    return {'cell_type': 'code', 'execution_count': 3, 'id': 'x', 'source': source, 'outputs': list(outputs),
            'metadata': {'tags': list(tags), 'papermill': {'status': status, 'duration': 1.0}, 'execution': {'iopub.status.busy': 't'}}}


def executed_nb(title, png=True, error=False, status='completed'):
    outs = [{'output_type': 'stream', 'name': 'stdout', 'text': ['run folder: runs/x\n']}]
    cells = [{'cell_type': 'markdown', 'id': 'm', 'metadata': {}, 'source': f'# {title}\n> summary'},
             cell('epochs = 2', tags=['parameters']), cell('print(1)', outs),
             cell('train()', [{'output_type': 'display_data', 'metadata': {}, 'data': {'application/vnd.jupyter.widget-view+json': {'model_id': 'a'}, 'text/plain': ['HBox()']}},
                              {'output_type': 'stream', 'name': 'stderr', 'text': ['epoch 1:  10%\repoch 1:  50%\repoch 1: 100%\ndone\n']}], status=status)]
    if png: cells.append(cell('plot()', [{'output_type': 'display_data', 'metadata': {}, 'data': {'image/png': PNG + '\n', 'text/plain': ['<Figure at 0x7f00aa>']}}]))
    if error: cells.append(cell('1/0', [{'output_type': 'error', 'ename': 'ZeroDivisionError', 'evalue': '', 'traceback': []}]))
    return {'cells': cells, 'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'},
                                         'papermill': {'parameters': {'epochs': 2}, 'exception': error}}, 'nbformat': 4, 'nbformat_minor': 5}


@pytest.fixture
def project(tmp_path):
    "A scratch project root (settings.ini, nbs/sidebar.yml) with a finished train run and its evaluation."
    root = tmp_path / 'proj'
    (root / 'nbs' / 'results').mkdir(parents=True)
    shutil.copy(ROOT / 'settings.ini', root / 'settings.ini')
    shutil.copy(ROOT / 'nbs' / 'sidebar.yml', root / 'nbs' / 'sidebar.yml')
    tr = root / 'runs' / 'cpu-20261127-051500'; tr.mkdir(parents=True)
    (tr / 'train.ipynb').write_text(json.dumps(executed_nb('Training run')))
    (tr / 'model.safetensors').write_bytes(b'weights')
    meta = dict(model='speednet', model_kwargs={'widths': [16, 48, 96, 192]}, n_params=651922, hardware='CPU x2', sha256='ab' * 32,
                command='cifake-run train params/cpu.yaml', code_version='cifake_nb 0.1.0 (git abc)', data_fingerprint='f' * 16,
                config=dict(run_name='cpu', seed=0, epochs=16))
    (tr / 'model.json').write_text(json.dumps(meta))
    (tr / 'summary.json').write_text(json.dumps({'train_seconds': 1500.5}))
    ev = root / 'runs' / 'eval-cpu-20261127-051500-20261127-060000'; ev.mkdir()
    (ev / 'evaluate.ipynb').write_text(json.dumps(executed_nb('Evaluation run')))
    metrics = dict(kind='cifake_nb evaluation', created_utc='2026-11-27T06:00:00Z', code_version='cifake_nb 0.1.0 (git abc)',
                   params={'tta': False, 'checkpoints': [str(tr / 'model.safetensors')], 'out_dir': str(root / 'runs' / 'eval-cpu')},
                   environment={'device_name': 'CPU (2 cores)'}, data={'n_test': 20000, 'n_test_total': 20000},
                   checkpoints={'cpu-20261127-051500': dict(sha256='ab' * 32, temperature=1.2, threshold=0.48,
                                                             test={'accuracy': 0.9612, 'accuracy_ci': [0.9585, 0.9638], 'roc_auc': 0.9931})},
                   summary={'accuracy': {'mean': 0.9612, 'std': None, 'n': 1}, 'roc_auc': {'mean': 0.9931, 'std': None, 'n': 1}},
                   published=[{'model': 'CNN', 'test_accuracy': 0.9298, 'source': 'Bird & Lotfi 2024'}])
    (ev / 'metrics.json').write_text(json.dumps(metrics))
    return root, tr, ev


def test_publish_writes_pages_headline_and_sidebar(project):
    root, tr, ev = project
    e = pr.publish([tr], ev, root=root)
    res = root / 'nbs' / 'results'
    assert sorted(p.name for p in res.iterdir()) == ['evaluate_cpu.ipynb', 'headline.json', 'train_cpu.ipynb']
    nb = json.loads((res / 'train_cpu.ipynb').read_text())
    assert nb['cells'][0]['cell_type'] == 'raw'
    fm = yaml.safe_load(nb['cells'][0]['source'].strip('-\n'))
    assert fm['title'] == 'Training run: cpu' and 'runs/cpu-20261127-051500' in fm['description'] and 'CPU x2' in fm['description']
    assert pr.has_png(nb), 'the figure is kept'
    outs = [o for c in nb['cells'] for o in c.get('outputs', [])]
    assert not any(pr.WIDGET in o.get('data', {}) for o in outs), 'widget outputs dropped'
    stderr = next(''.join(o['text']) for o in outs if o.get('name') == 'stderr')
    assert stderr == 'epoch 1: 100%\ndone\n', 'progress collapsed to what a terminal shows'
    assert nb['cells'][2]['metadata'] == {'tags': ['parameters']}, 'papermill cell tags kept, timings dropped (as nbdev_clean does)'
    assert 'papermill' not in nb['metadata'], 'papermill notebook metadata dropped (as nbdev_clean does)'
    assert pr.clean_like_nbdev(copy.deepcopy(nb), root) == nb, 'already clean: make sync-check stays clean'
    assert (res / 'train_cpu.ipynb').read_text().endswith('}\n')  # nbdev's own notebook format
    h = json.loads((res / 'headline.json').read_text())
    r = h['runs']['cpu']
    assert r == e and r['test_accuracy'] == 0.9612 and r['test_accuracy_ci95'] == [0.9585, 0.9638] and r['temperature'] == 1.2
    assert r['train_runs'] == ['runs/cpu-20261127-051500'] and r['eval_run'].startswith('runs/eval-cpu-')
    assert r['train_pages'] == ['results/train_cpu.ipynb'] and r['eval_page'] == 'results/evaluate_cpu.ipynb' and r['shipped'] is False
    assert r['eval_params'] == {'tta': False, 'checkpoints': ['runs/cpu-20261127-051500/model.safetensors'], 'out_dir': 'runs/eval-cpu'}
    assert r['train_seconds'] == [1500.5] and r['train_hardware'] == 'CPU x2' and h['published'][0]['test_accuracy'] == 0.9298
    sb = yaml.safe_load((root / 'nbs' / 'sidebar.yml').read_text())
    results = next(s for s in sb['website']['sidebar']['contents'] if isinstance(s, dict) and s.get('section') == 'Results')
    assert results['contents'] == ['results/index.qmd', {'href': 'results/train_cpu.ipynb', 'text': 'cpu: training'},
                                   {'href': 'results/evaluate_cpu.ipynb', 'text': 'cpu: evaluation'}]
    before = yaml.safe_load((ROOT / 'nbs' / 'sidebar.yml').read_text())
    others = lambda d: [s for s in d['website']['sidebar']['contents'] if not (isinstance(s, dict) and s.get('section') == 'Results')]
    assert others(sb) == others(before), 'the rest of the sidebar is untouched'


def test_publish_again_replaces_the_entry(project):
    root, tr, ev = project
    pr.publish([tr], ev, root=root)
    first = (root / 'nbs' / 'results' / 'train_cpu.ipynb').read_text()
    pr.publish([tr], ev, name='cpu', root=root)
    assert (root / 'nbs' / 'results' / 'train_cpu.ipynb').read_text() == first
    assert list(json.loads((root / 'nbs' / 'results' / 'headline.json').read_text())['runs']) == ['cpu']


def test_refuses_what_is_not_a_finished_matching_run(project):
    root, tr, ev = project
    m = json.loads((ev / 'metrics.json').read_text())
    (ev / 'metrics.json').write_text(json.dumps({**m, 'checkpoints': {'other': {**m['checkpoints']['cpu-20261127-051500'], 'sha256': 'cd' * 32}}}))
    with pytest.raises(pr.PublishError, match='did not evaluate the checkpoint'): pr.publish([tr], ev, root=root)
    (ev / 'metrics.json').write_text(json.dumps({**m, 'data': {'n_test': 2000, 'n_test_total': 20000}}))
    with pytest.raises(pr.PublishError, match='a subset is not a headline result'): pr.publish([tr], ev, root=root)
    (ev / 'metrics.json').write_text(json.dumps(m))
    (tr / 'train.ipynb').write_text(json.dumps(executed_nb('Training run', error=True)))
    with pytest.raises(pr.PublishError, match='exception'): pr.publish([tr], ev, root=root)
    (tr / 'train.ipynb').write_text(json.dumps(executed_nb('Training run', status='running')))
    with pytest.raises(pr.PublishError, match="status 'running'"): pr.publish([tr], ev, root=root)
    (tr / 'train.ipynb').write_text(json.dumps(executed_nb('Training run', png=False)))
    with pytest.raises(pr.PublishError, match='no image/png output'): pr.publish([tr], ev, root=root)
    assert not list((root / 'nbs' / 'results').iterdir()), 'nothing written when refused'
    with pytest.raises(pr.PublishError, match='must be letters'): pr.publish([tr], ev, name='a b/c', root=root)


def test_subset_allowed_on_request_and_cli_errors(project, capsys):
    root, tr, ev = project
    m = json.loads((ev / 'metrics.json').read_text())
    (ev / 'metrics.json').write_text(json.dumps({**m, 'data': {'n_test': 2000, 'n_test_total': 20000}}))
    assert pr.publish([tr], ev, root=root, allow_subset=True)['n_test'] == 2000
    with pytest.raises(SystemExit) as e: pr.main(['--train', str(root / 'runs' / 'nope'), '--eval', str(ev)])
    assert e.value.code == 2 and 'does not exist' in capsys.readouterr().err


def test_several_seeds_get_one_page_each(project):
    root, tr, ev = project
    tr2 = tr.with_name('cpu-20261127-071500'); shutil.copytree(tr, tr2)
    meta = json.loads((tr2 / 'model.json').read_text()); meta['sha256'] = 'ef' * 32; meta['config']['seed'] = 1
    (tr2 / 'model.json').write_text(json.dumps(meta))
    m = json.loads((ev / 'metrics.json').read_text())
    m['checkpoints']['cpu-20261127-071500'] = {**m['checkpoints']['cpu-20261127-051500'], 'sha256': 'ef' * 32}
    m['summary']['accuracy'] = {'mean': 0.96, 'std': 0.002, 'n': 2}
    (ev / 'metrics.json').write_text(json.dumps(m))
    pr.publish([tr], ev, root=root)  # published first as one run: its page goes when the seeds are published
    e = pr.publish([tr, tr2], ev, root=root)
    assert not (root / 'nbs' / 'results' / 'train_cpu.ipynb').exists()
    assert e['train_pages'] == ['results/train_cpu_seed0.ipynb', 'results/train_cpu_seed1.ipynb'] and e['seeds'] == [0, 1]
    assert e['test_accuracy_std'] == 0.002 and e['test_accuracy_ci95'] is None
    items = pr.results_entries(root / 'nbs' / 'results')
    assert [i['href'] for i in items[1:]] == ['results/train_cpu_seed0.ipynb', 'results/train_cpu_seed1.ipynb', 'results/evaluate_cpu.ipynb']
    with pytest.raises(pr.PublishError, match='exactly one'): pr.publish([tr, tr2], ev, root=root, ship=True)
