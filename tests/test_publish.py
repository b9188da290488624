"""cifake_nb.publish (scripts/publish_results.py is its command line) on made-up run folders: what a results page keeps,
what it refuses, and the records and pages it writes (into a scratch copy of the project's nbs/ layout); and the
acceptance test of issue 28: README, home page, model card and Results quote the results store's numbers."""
import copy, json, shutil, subprocess, sys, warnings
from pathlib import Path

import pytest
import yaml

from cifake_nb import publish as pr
from cifake_nb import report
from cifake_nb.results import ResultsStore, RunRecord, sidebar_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'scripts'))

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
    git = lambda *a: subprocess.run(['git', *a], cwd=root, check=True, capture_output=True)
    git('init', '-q')
    git('add', 'settings.ini', 'nbs/sidebar.yml')   # a clean checkout: publishing refuses uncommitted code
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'scratch project')
    tr = root / 'runs' / 'cpu-20261127-051500'
    tr.mkdir(parents=True)
    (tr / 'train.ipynb').write_text(json.dumps(executed_nb('Training run')))
    (tr / 'model.safetensors').write_bytes(b'weights')
    meta = dict(model='speednet', model_kwargs={'widths': [16, 48, 96, 192]}, label_names=['REAL', 'FAKE'], n_params=651922, hardware='CPU x2', sha256='ab' * 32,
                command='cifake-run train params/cpu.yaml', code_version='cifake_nb 0.1.0 (git abc)', data_fingerprint='f' * 16,
                config=dict(run_name='cpu', seed=0, epochs=16))
    (tr / 'model.json').write_text(json.dumps(meta))
    (tr / 'summary.json').write_text(json.dumps({'train_seconds': 1500.5}))
    ev = root / 'runs' / 'eval-cpu-20261127-051500-20261127-060000'
    ev.mkdir()
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
    assert sorted(p.name for p in res.iterdir()) == ['evaluate_cpu.ipynb', 'evaluate_cpu.json', 'figures', 'index.qmd', 'references.json', 'train_cpu.ipynb']
    nb = json.loads((res / 'train_cpu.ipynb').read_text())
    assert nb['cells'][0]['cell_type'] == 'raw'
    fm = yaml.safe_load(nb['cells'][0]['source'].strip('-\n'))
    assert fm['title'] == 'Training run: cpu' and 'runs/cpu-20261127-051500' in fm['description'] and 'CPU x2' in fm['description']
    assert pr.has_png(nb), 'the figure is kept'
    outs = [o for c in nb['cells'] for o in c.get('outputs', [])]
    assert not any(pr.WIDGET in o.get('data', {}) for o in outs), 'widget outputs dropped'
    stderr = next(''.join(o['text']) for o in outs if o.get('name') == 'stderr')
    assert stderr == 'epoch 1: 100%\ndone\n', 'progress collapsed to what a terminal shows'
    assert nb['cells'][2]['id'] == 'run-parameters', 'the parameters come first, as a table'
    assert nb['cells'][3]['metadata'] == {'tags': ['parameters']}, 'papermill cell tags kept, timings dropped (as nbdev_clean does)'
    assert 'papermill' not in nb['metadata'], 'papermill notebook metadata dropped (as nbdev_clean does)'
    assert pr.clean_like_nbdev(copy.deepcopy(nb), root) == nb, 'already clean: make sync-check stays clean'
    assert (res / 'train_cpu.ipynb').read_text().endswith('}\n')  # nbdev's own notebook format
    r = RunRecord.from_json(res / 'evaluate_cpu.json').to_dict()   # the run's record, beside its evaluation page
    assert {**r, 'shipped': False} == e and r['test_accuracy'] == 0.9612 and r['test_accuracy_ci95'] == [0.9585, 0.9638] and r['temperature'] == 1.2
    assert r['train_runs'] == ['runs/cpu-20261127-051500'] and r['eval_run'].startswith('runs/eval-cpu-')
    assert r['train_pages'] == ['results/train_cpu.ipynb'] and r['eval_page'] == 'results/evaluate_cpu.ipynb' and e['shipped'] is False
    assert r['eval_params'] == {'tta': False, 'checkpoints': ['runs/cpu-20261127-051500/model.safetensors'], 'out_dir': 'runs/eval-cpu'}
    assert r['train_seconds'] == [1500.5] and r['train_hardware'] == 'CPU x2'
    assert ResultsStore.load(res).references[0].test_accuracy == 0.9298
    sb = yaml.safe_load((root / 'nbs' / 'sidebar.yml').read_text())
    results = next(s for s in sb['website']['sidebar']['contents'] if isinstance(s, dict) and s.get('section') == 'Results')
    assert results['contents'] == ['results/index.qmd', {'section': 'Other runs', 'contents': [
        {'href': 'results/train_cpu.ipynb', 'text': 'cpu: training'}, {'href': 'results/evaluate_cpu.ipynb', 'text': 'cpu: evaluation'}]}]
    before = yaml.safe_load((ROOT / 'nbs' / 'sidebar.yml').read_text())
    others = lambda d: [s for s in d['website']['sidebar']['contents'] if not (isinstance(s, dict) and s.get('section') == 'Results')]
    assert others(sb) == others(before), 'the rest of the sidebar is untouched'


def test_refuses_uncommitted_code_but_not_its_own_writes(project):
    root, tr, ev = project
    pr.publish([tr], ev, root=root)   # writes nbs/results/ and nbs/sidebar.yml: they do not count as uncommitted code
    (root / 'settings.ini').write_text((root / 'settings.ini').read_text() + '\n# edited\n')
    with pytest.raises(pr.PublishError, match=r'uncommitted changes \(1 file\(s\), e.g. settings.ini\)'): pr.publish([tr], ev, root=root)
    shutil.rmtree(root / '.git')
    with pytest.raises(pr.PublishError, match='not a git checkout'): pr.publish([tr], ev, root=root)


def test_refuses_a_report_that_does_not_fit_its_schema(project):
    root, tr, ev = project
    m = json.loads((ev / 'metrics.json').read_text())
    m['checkpoints']['cpu-20261127-051500']['test']['test_acc'] = 0.96   # a metric name outside core.METRICS
    (ev / 'metrics.json').write_text(json.dumps(m))
    with pytest.raises(pr.PublishError, match=r"metrics.json \(EvalReport\).*unknown metric name\(s\) \['test_acc'\]"): pr.publish([tr], ev, root=root)


def test_ship_exports_with_the_reports_rule_and_portable_paths(project):
    "--ship on a real (tiny) checkpoint and its evaluation: model.json's rule is the report's entry for these weights."
    import torch
    from cifake_nb.core import LABEL_NAMES, ModelInfo
    from cifake_nb.data import tiny_cifake
    from cifake_nb.evaluate import EvalConfig, evaluate
    from cifake_nb.models import create_model
    from cifake_nb.train import save_checkpoint
    root, _, _ = project
    ds = tiny_cifake()
    torch.manual_seed(0)
    tr = root / 'runs' / 'tiny-20261201-000000'
    save_checkpoint(create_model('speednet', widths=[8, 8, 8, 8]).eval(), tr / 'model.safetensors',
                    dict(model='speednet', model_kwargs={'widths': [8, 8, 8, 8]}, label_names=list(LABEL_NAMES), data_fingerprint=ds.fingerprint,
                         data_source='/home/someone/data/cifake', config=dict(run_name='tiny', n_val=64, val_seed=0, seed=0), hardware='AMD EPYC (2 cores)'))
    (tr / 'train.ipynb').write_text(json.dumps(executed_nb('Training run')))
    ev = root / 'runs' / 'eval-tiny'
    report = evaluate(EvalConfig(checkpoints=[str(tr)], robustness=False, postproc=False, cam=False, n_boot=0, run_dir=str(ev)), data=ds)
    (ev / 'evaluate.ipynb').write_text(json.dumps(executed_nb('Evaluation run')))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # no training data for the reference profile here: recorded in model.json
        e = pr.publish([tr], ev, root=root, ship=True, recipe='clean')
    info = ModelInfo.from_json(root / 'cifake_nb' / 'assets' / 'default' / 'model.json')
    (ce,) = report.checkpoints.values()
    assert (info.temperature, info.threshold, info.checkpoint_sha256) == (ce.temperature, ce.threshold, ce.sha256) == (e['temperature'], e['threshold'], ce.sha256)
    assert (info.exported_from, info.evaluation['report'], info.data_source) == ('runs/tiny-20261201-000000', 'runs/eval-tiny/metrics.json', '…/cifake')
    assert info.hardware == 'AMD EPYC (2 cores)' and e['train_hardware'] == 'AMD EPYC (2 cores)' and e['eval_hardware'] == report.environment['hardware']
    assert e['shipped'] is True and 'runs/eval-tiny/metrics.json' in (root / 'cifake_nb' / 'assets' / 'default' / 'MODEL_CARD.md').read_text()
    sh = ResultsStore.load(root / 'nbs' / 'results').shipped
    assert (sh.version, sh.recipe, sh.seed, sh.evaluation) == (info.version, 'clean', 0, 'tiny')


def test_publish_again_replaces_the_entry(project):
    root, tr, ev = project
    pr.publish([tr], ev, root=root)
    first = (root / 'nbs' / 'results' / 'train_cpu.ipynb').read_text()
    pr.publish([tr], ev, name='cpu', root=root)
    assert (root / 'nbs' / 'results' / 'train_cpu.ipynb').read_text() == first
    assert list(ResultsStore.load(root / 'nbs' / 'results').runs) == ['cpu']


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
    import publish_results as cli   # scripts/publish_results.py: the command line
    with pytest.raises(SystemExit) as e: cli.main(['--train', str(root / 'runs' / 'nope'), '--eval', str(ev)])
    assert e.value.code == 2 and 'does not exist' in capsys.readouterr().err


def test_several_seeds_get_one_page_each(project):
    root, tr, ev = project
    tr2 = tr.with_name('cpu-20261127-071500')
    shutil.copytree(tr, tr2)
    meta = json.loads((tr2 / 'model.json').read_text())
    meta['sha256'] = 'ef' * 32
    meta['config']['seed'] = 1
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
    items = sidebar_results(ResultsStore.load(root / 'nbs' / 'results'))
    assert [i['href'] for i in items[1]['contents']] == ['results/train_cpu_seed0.ipynb', 'results/train_cpu_seed1.ipynb', 'results/evaluate_cpu.ipynb']
    with pytest.raises(pr.PublishError, match='exactly one'): pr.publish([tr, tr2], ev, root=root, ship=True)


# ---------------------------------------------------------------- what a results page shows

def test_rounding_rule_is_half_up_on_the_stored_value():
    assert report.pct(0.97675) == '97.68%' and f'{0.97675:.2%}' == '97.67%', 'binary rounding would say 97.67'
    assert report.pct(0.97455) == '97.46%' and report.pct(0.9789) == '97.89%' and report.pct(0.949, 1) == '94.9%'
    assert report.rounded(0.97675, 4) == '0.9768' and report.rounded(0.9967683900000001, 4) == '0.9968' and report.rounded(0.005802, 3) == '0.006'


def noisy_run_nb():
    "An executed notebook whose outputs carry what a web page should not: W&B chatter, ANSI codes, machine paths, +dirty, a repeated figure."
    nb = executed_nb('Training run')
    nb['cells'].insert(2, cell('# Parameters\nepochs = 16\nrun_dir = "/work/main/runs/cpu-1"\n', tags=['injected-parameters']))
    nb['cells'][1]['source'] = 'epochs = 2  # passes over the training images  [smoke size]\nrun_dir = ""  # explicit run folder'
    log = ('cifake_nb 0.1.0 (git 9dd5e8c+dirty) | CPU\nrun folder: /work/main/runs/cpu-1\n\x1b[34m\x1b[1mwandb\x1b[0m: Tracking run\n'
           'wandb: Run data is saved locally in /work/main/runs/cpu-1/wandb/offline-run\nepoch 1/16 acc 90.00%\n')
    nb['cells'].append(cell('train()', [{'output_type': 'stream', 'name': 'stdout', 'text': log},
                                        {'output_type': 'stream', 'name': 'stdout', 'text': 'wandb: Find logs at: ./runs/cpu-1/wandb\n'},
                                        {'output_type': 'display_data', 'metadata': {}, 'data': {'image/png': PNG, 'text/plain': ['<Figure>']}}]))
    return nb


def test_tidy_page_keeps_logs_and_machine_details_off_the_page(tmp_path):
    shutil.copy(ROOT / 'settings.ini', tmp_path / 'settings.ini')
    nb = pr.tidy_page(noisy_run_nb(), 'Training run: cpu', 'the run', tmp_path)
    text = json.dumps(nb)
    stream = ''.join(''.join(o['text']) for c in nb['cells'] for o in c.get('outputs', []) if o.get('output_type') == 'stream')
    assert 'wandb' not in stream and '\x1b' not in stream and '/work/' not in stream and '+dirty' not in text
    assert 'git 9dd5e8c, uncommitted changes' in stream and 'run folder: runs/cpu-1' in stream and 'epoch 1/16 acc 90.00%' in stream
    assert sum('image/png' in o.get('data', {}) for c in nb['cells'] for o in c.get('outputs', [])) == 1, 'the repeated figure is dropped'
    fm = yaml.safe_load(nb['cells'][0]['source'].strip('-\n'))
    assert fm['code-fold'] is True and fm['title'] == 'Training run: cpu'
    table = nb['cells'][2]
    assert table['id'] == 'run-parameters' and ''.join(nb['cells'][1]['source']).startswith('# Training run')
    table = {**table, 'source': ''.join(table['source'])}
    assert '| `epochs` | `16` (set by the run) | passes over the training images |' in table['source']
    assert '| `run_dir` | `runs/cpu-1` (set by the run) | explicit run folder |' in table['source']
    params = [c for c in nb['cells'] if set(c['metadata'].get('tags', [])) & {'parameters', 'injected-parameters'}]
    assert len(params) == 2 and all(''.join(c['source']).startswith('#| include: false') for c in params), 'the raw parameters cells leave the page'
    again = pr.tidy_page(copy.deepcopy(nb), 'Training run: cpu', 'the run', tmp_path)
    assert again == nb, 'tidying a published page again changes nothing (publish_results.py --refresh)'


def test_publish_writes_the_results_page_and_its_figures(project):
    root, tr, ev = project
    m = json.loads((ev / 'metrics.json').read_text())
    ck = m['checkpoints']['cpu-20261127-051500']
    ck.update(figures={'reliability': 'x_reliability.png', 'robustness': 'x_robustness.png'}, test_uncalibrated={'ece': 0.0475},
              robustness=[dict(corruption='jpeg_compression', severity=s, accuracy=a) for s, a in enumerate([0.979, 0.975, 0.968])])
    ck['test'].update(ece=0.005802, tpr_at_fpr_1pct=0.949, accuracy_argmax=0.97625,
                      per_category={'bird': {'n': 2000, 'accuracy': 0.9455, 'accuracy_REAL': 0.946, 'accuracy_FAKE': 0.945}})
    (ev / 'metrics.json').write_text(json.dumps(m))
    (ev / 'x_reliability.png').write_bytes(b'png1')
    (ev / 'x_robustness.png').write_bytes(b'png2')
    e = pr.publish([tr], ev, root=root, ship=False)
    res = root / 'nbs' / 'results'
    assert e['figures'] == {'reliability': 'results/figures/cpu_reliability.png', 'robustness': 'results/figures/cpu_robustness.png'}
    assert (res / 'figures' / 'cpu_reliability.png').read_bytes() == b'png1'
    assert e['metrics']['ece'] == 0.005802 and e['metrics']['ece_before_T'] == 0.0475 and e['robustness_accuracy'] == {'jpeg_compression': [0.979, 0.975, 0.968]}
    page = (res / 'index.qmd').read_text()
    assert '| `cpu`: `speednet`, seed 0 | 96.12% [95.85, 96.38] | 0.9931 | [training](train_cpu.ipynb) · [evaluation](evaluate_cpu.ipynb) |' in page
    assert '### Calibration' not in page, 'a run that is not shipped gets one row; its figures are on its evaluation page'
    from cifake_nb.results import SHIPPED, ShippedRecord, write_pages   # the same run, shipped: its section in full
    ShippedRecord(version='speednet-x', recipe='clean', seed=0, evaluation='cpu').to_json(res / SHIPPED)
    write_pages(root)
    page = (res / 'index.qmd').read_text()
    assert '**96.12% [95.85, 96.38]** 95% CI | 0.9931 |' in page, 'headline row: accuracy [CI] and AUC under the one rounding rule'
    assert '| accuracy at argmax (threshold 0.5, T = 1) | 97.63% |' in page and '| TPR at 1% FPR | 94.9% |' in page and '| ECE after temperature scaling | 0.006 |' in page
    assert '![Reliability diagrams before and after temperature scaling](figures/cpu_reliability.png)' in page
    assert '| jpeg compression | 97.9% | 97.5% | 96.8% |' in page and '92.98%' in page
    assert '| bird | 94.6% | 94.6% | 94.5% | 2,000 |' in page, 'per-category accuracy as a table when metrics.json has it'


def test_results_pages_link_their_sibling_pages_from_results(tmp_path):
    "A run notebook's link to an nbs/ page (`](05b_evaluate.ipynb)`) points there from nbs/results/ (`../`), once."
    (tmp_path / 'nbs' / 'results').mkdir(parents=True)
    (tmp_path / 'nbs' / '05b_evaluate.ipynb').write_text('{}')
    nb = {'cells': [{'cell_type': 'markdown', 'metadata': {}, 'source': 'See [the API](05b_evaluate.ipynb), [its rule](05b_evaluate.ipynb#fit) '
                     'and [elsewhere](other.ipynb), [up](../05b_evaluate.ipynb).'}]}
    once = pr.relink(copy.deepcopy(nb), tmp_path)
    text = ''.join(once['cells'][0]['source'])
    assert text == ('See [the API](../05b_evaluate.ipynb), [its rule](../05b_evaluate.ipynb#fit) and [elsewhere](other.ipynb), '
                    '[up](../05b_evaluate.ipynb).'), text
    assert pr.relink(copy.deepcopy(once), tmp_path) == once


def test_sweep_report_is_published_with_its_summary(project):
    root, _, _ = project
    sw = root / 'runs' / 'sweeps'
    sw.mkdir(parents=True)
    (sw / 'cpu-sweep.json').write_text(json.dumps({'study': 'cpu-sweep', 'best': {'trial': 3, 'val_score': 0.97}, 'storage': str(sw / 'cpu-sweep.sqlite'), 'trials': []}))
    nb = executed_nb('Sweep report')
    nb['metadata']['papermill']['parameters'] = {'storage': str(sw / 'cpu-sweep.sqlite')}
    (sw / 'report.ipynb').write_text(json.dumps(nb))
    d = pr.publish_sweep(sw / 'report.ipynb', 'cpu', root)
    assert d == {'page': 'results/sweep_cpu.ipynb', 'summary': 'results/sweep_cpu.json'}
    assert json.loads((root / 'nbs' / 'results' / 'sweep_cpu.json').read_text())['best']['trial'] == 3
    assert '/tmp' not in (root / 'nbs' / 'results' / 'sweep_cpu.json').read_text(), 'machine paths are made portable'
    assert "text: cpu" in (root / 'nbs' / 'sidebar.yml').read_text() and '- section: Sweeps' in (root / 'nbs' / 'sidebar.yml').read_text()
    page = json.loads((root / 'nbs' / 'results' / 'sweep_cpu.ipynb').read_text())
    assert page['cells'][0]['cell_type'] == 'raw' and 'Sweep: cpu' in ''.join(page['cells'][0]['source'])


def test_bench_budget_ours_recipe_follows_the_epochs_a_budget_buys():
    "speednet's params files in bench_budget: batch 128 (budget.yaml) below 2 epochs at this machine's measured pace, batch 256 (cpu.yaml) from 2 on."
    import bench_budget as bb
    row = dict(arch='speednet', budget_min=3, used_min=3.0, epochs_done=0.75)   # measured here: 0.25 epochs a minute
    assert bb.ours_recipe(1, [row]) == bb.ours_recipe(7.9, [row]) == bb.OURS_SHORT == ['params/cpu.yaml', 'params/budget.yaml']
    assert bb.ours_recipe(8, [row]) == bb.ours_recipe(30, [row]) == bb.OURS_LONG == 'params/cpu.yaml'
    assert bb.ours_recipe(15, [row, dict(row, used_min=10.0, epochs_done=1.0)]) == bb.OURS_SHORT   # the longest run's pace counts (0.1 a minute: 1.5 epochs)
    assert bb.ours_recipe(30, [], probe=lambda: 0.25) == bb.OURS_LONG and bb.ours_recipe(3, [], probe=lambda: 0.25) == bb.OURS_SHORT
    assert bb.ours_recipe(30, [dict(row, arch='seed_cnn', epochs_done=60)]) == bb.OURS_SHORT   # another model's pace says nothing; no probe: short
    assert bb.ours_recipe(1, [], probe=lambda: 5.0) == bb.OURS_LONG   # a fast machine (a GPU): batch 256 from the first minute


def test_bench_budget_gpu_recipes_are_valid_runs_of_their_model():
    "Each GPU recipe of bench_budget (--device cuda) reads as a valid TrainConfig of its model; paper_cnn's lr is its own (gpu.yaml's 0.4 kills it)."
    import bench_budget as bb
    from cifake_nb.train import TrainConfig, read_params
    cfgs = {}
    for m, (path, extra) in bb.GPU_MODELS.items():
        files = [path] if isinstance(path, str) else path
        cfgs[m] = TrainConfig.from_dict({**read_params([str(ROOT / f) for f in files]), **extra})
        assert cfgs[m].model == m and not cfgs[m].problems(), (m, cfgs[m].problems())
    gpu = TrainConfig.from_dict(read_params(str(ROOT / 'params' / 'gpu.yaml')))
    assert cfgs['paper_cnn'].lr < gpu.lr and cfgs['paper_cnn'].batch_size == gpu.batch_size and cfgs['paper_cnn'].model_kwargs == {}


def test_budget_and_precision_benchmarks_are_published_on_the_benchmarks_page(project, tmp_path):
    "scripts/bench_budget.py --smoke for real (seconds), then its folder published: a smoke run is refused as a result, rows merge."
    root, _, _ = project
    env = {**__import__('os').environ, 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, str(ROOT / 'scripts' / 'bench_budget.py'), '--smoke', '--models', 'seed_cnn', 'speednet', '--runs-dir', str(tmp_path)],
                       capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    (out,) = tmp_path.glob('bench_budget-*')
    res = json.loads((out / 'results.json').read_text())
    assert {x['model'] for x in res['rows']} == {'seed_cnn', 'speednet'} and (out / 'accuracy_vs_minutes.png').is_file()
    assert all(0 <= x['test_acc'] <= 1 and x['used_min'] > 0 for x in res['rows']) and res['code_version'].startswith('cifake_nb')
    assert all(x['scored'] == 'selected checkpoint' for x in res['rows']), 'judged on the epoch validation picked'
    with pytest.raises(pr.PublishError, match='--smoke run'): pr.publish_budget([out], root)
    old = tmp_path / 'old'   # a folder scored on the last step's weights (before --rescore existed): re-scored from its checkpoints
    old.mkdir()
    (old / 'results.json').write_text(json.dumps({**res, 'rows': [{k: v for k, v in x.items() if k != 'scored'} | {'test_acc': 0.123} for x in res['rows']]}))
    r = subprocess.run([sys.executable, str(ROOT / 'scripts' / 'bench_budget.py'), '--smoke', '--rescore', str(old)], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    again = json.loads((old / 'results.json').read_text())['rows']
    assert [x['test_acc'] for x in again] == [x['test_acc'] for x in res['rows']] and {x['test_acc_final'] for x in again} == {0.123}
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'results.json').write_text(json.dumps({**res, 'smoke': False}))
    redo = tmp_path / 'redo'   # a later folder that redid one run: its row wins
    redo.mkdir()
    row = {**res['rows'][0], 'test_acc': 0.5}
    (redo / 'results.json').write_text(json.dumps({**res, 'smoke': False, 'rows': [row]}))
    b = pr.publish_budget([real, redo], root)
    assert len(b['rows']) == len(res['rows']) and [x['test_acc'] for x in b['rows'] if x['source'] == 'redo'] == [0.5]
    assert (root / 'nbs' / 'results' / 'figures' / 'budget_accuracy_vs_minutes.png').is_file()
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'results.json').write_text(json.dumps({**res, 'smoke': False, 'hardware': 'NVIDIA H200'}))
    with pytest.raises(pr.PublishError, match='one table is one machine'): pr.publish_budget([real, other], root)
    more = tmp_path / 'more'   # --extend: rows added to the published table after its folders are gone; a new seed joins, another machine is refused
    more.mkdir()
    (more / 'results.json').write_text(json.dumps({**res, 'smoke': False, 'rows': [{**res['rows'][0], 'seed': 7, 'test_acc': 0.25}]}))
    e = pr.publish_budget([more], root, extend=True)
    assert len(e['rows']) == len(res['rows']) + 1 and [x['test_acc'] for x in e['rows'] if x['seed'] == 7] == [0.25]
    assert [x['test_acc'] for x in e['rows'] if x['source'] == 'redo'] == [0.5] and [x['folder'] for x in e['sources']] == ['real', 'redo', 'more']
    assert '(3 seeds)' in e['table'] and json.loads((root / 'nbs' / 'results' / 'budget.json').read_text())['rows'] == e['rows']
    with pytest.raises(pr.PublishError, match='the published budget.json on'): pr.publish_budget([other], root, extend=True)
    (other / 'results.json').write_text(json.dumps({**res, 'smoke': False, 'rows': [{**row, 'scored': 'last step'}]}))
    with pytest.raises(pr.PublishError, match='--rescore'): pr.publish_budget([other], root)
    prec = tmp_path / 'precision.json'
    prec.write_text(json.dumps(dict(hardware='AMD EPYC (2 cores)', torch='2.x', threads=2, bf16_supported=True, steps=30, command='scripts/bench_precision.py',
                                    code_version='cifake_nb 0.1.0', rows=[dict(model='speednet', mode='fp32', img_s=800.0, warmup_s=1.0),
                                                                          dict(model='speednet', mode='bf16', img_s=1600.0, warmup_s=1.0)])))
    pr.publish_precision(prec, root)
    assert '[Benchmarks](../benchmarks.qmd)' in (root / 'nbs' / 'results' / 'index.qmd').read_text()  # linked from Results
    page = (root / 'nbs' / 'benchmarks.qmd').read_text()
    assert '## Accuracy per training minute, side by side' in page and '(figures/budget_accuracy_vs_minutes.png)' not in page
    assert 'results/figures/budget_accuracy_vs_minutes.png' in page and '| `seed_cnn` |' in page and '| `speednet` |' in page
    assert '`speednet`: `params/cpu.yaml` + `params/budget.yaml`' in page  # the recipe each line ran, from its rows
    assert '## Training speed by precision' in page and '1,600 (2.00×)' in page and page.index('## Accuracy per') < page.index('## Training speed')
    gpu = tmp_path / 'gpu'   # a GPU folder (--device cuda --unit s): its own table in budget_gpu.json, headed in seconds; the CPU table stays
    gpu.mkdir()
    grows = [{**x, 'budget_min': x['budget_min'] * 5, 'unit': 's', 'params_file': 'params/gpu.yaml'} for x in res['rows']]
    (gpu / 'results.json').write_text(json.dumps({**res, 'smoke': False, 'hardware': 'NVIDIA H200', 'isa': 'CUDA 13.0, bf16 autocast', 'device': 'cuda', 'rows': grows}))
    g = pr.publish_budget([gpu], root, note='`paper_cnn` has no line here.')
    assert '| model | 6 s | 15 s |' in g['table'] and json.loads((root / 'nbs' / 'results' / 'budget.json').read_text())['rows'] == e['rows']
    assert (root / 'nbs' / 'results' / 'figures' / 'budget_gpu_accuracy_vs_seconds.png').is_file()
    page = (root / 'nbs' / 'benchmarks.qmd').read_text()
    assert page.index('## Accuracy per training minute') < page.index('## Accuracy per training second on a GPU') and 'NVIDIA H200, CUDA 13.0' in page
    assert page.index('| `seed_cnn` |', page.index('on a GPU')) < page.index('`paper_cnn` has no line here.') < page.index('budget_gpu_accuracy_vs_seconds.png')
    with pytest.raises(pr.PublishError, match='one table is one machine'): pr.publish_budget([gpu, real], root)


def test_a_runs_folder_that_is_a_symbolic_link_is_published_as_runs(project, tmp_path):
    "A worktree whose runs/ links to another checkout's runs/: records and pages say runs/<run>, never the link's target."
    root, tr, ev = project
    elsewhere = tmp_path / 'other-checkout'
    elsewhere.mkdir()
    shutil.move(str(root / 'runs'), elsewhere / 'runs')
    (root / 'runs').symlink_to(elsewhere / 'runs')
    e = pr.publish([Path('runs') / tr.name], Path('runs') / ev.name, root=root)
    assert e['train_runs'] == ['runs/cpu-20261127-051500'] and e['eval_run'] == 'runs/eval-cpu-20261127-051500-20261127-060000'
    assert e['eval_params']['checkpoints'] == ['runs/cpu-20261127-051500/model.safetensors']
    written = ''.join(p.read_text() for p in (root / 'nbs' / 'results').glob('*.*') if p.suffix in ('.json', '.ipynb', '.qmd'))
    assert str(tmp_path) not in written and 'other-checkout' not in written
    assert report.repo_relative(elsewhere / 'runs' / tr.name, root) == 'runs/cpu-20261127-051500', 'the link target itself: still runs/'


# ---------------------------------------------------------------- issue 28's acceptance: one store, quoted everywhere

def _run_hidden_cells(nb_path: Path) -> dict:
    "The namespace of a page notebook's hidden helper cells (not its displays or tests), as the docs build runs them."
    import nbformat
    ns = {}
    for c in nbformat.read(nb_path, as_version=4).cells:
        s = c.source
        if c.cell_type == 'code' and 'display(' not in s and 'TemporaryDirectory' not in s: exec(s, ns)
    return ns


def test_readme_home_page_model_card_and_results_quote_the_store():
    "The shipped model's accuracy [CI] and AUC, and each recipe's mean ± std, read the same in README, home page, model card and Results."
    from cifake_nb.core import ModelInfo
    from cifake_nb.results import shipped_accuracy, show, stale_pages
    store = ResultsStore.load(ROOT / 'nbs' / 'results')
    run = store.shipped_run
    assert run is not None and store.recipes, 'the project publishes a shipped model and its recipes'
    info = ModelInfo.from_json(ROOT / 'cifake_nb' / 'assets' / 'default' / 'model.json')
    assert store.problems(info) == [], 'the store agrees with the served model.json'
    assert stale_pages(ROOT) == [], 'a page does not say what the store says: python scripts/publish_results.py --refresh'
    shipped = [shipped_accuracy(run), show(run.test_roc_auc, 4)]
    recipes = [report.pm(*r.summary['test_accuracy'][:2]) for r in store.recipes.values()]
    assert shipped[0] == '97.55% [97.34, 97.75]' and {'97.46 ± 0.15%', '97.69 ± 0.08%'} <= set(recipes)   # today's store (clean and robust, 3 seeds each), as a reader sees it
    home = _run_hidden_cells(ROOT / 'nbs' / 'index.ipynb')
    card = _run_hidden_cells(ROOT / 'nbs' / 'model_cards' / 'default.ipynb')
    pages = {'README.md': (ROOT / 'README.md').read_text(encoding='utf-8'),
             'home page': home['results_markdown'](home['RESULTS']) + home['recipes_markdown'](home['RESULTS']),
             'Results page': (ROOT / 'nbs' / 'results' / 'index.qmd').read_text(encoding='utf-8')}
    for where, text in pages.items():
        for x in shipped + recipes: assert x in text, f'{where} does not quote {x} from the results store'
    card_md = card['store_markdown'](card['SHIPPED'], card['RESULTS'])
    assert shipped[0] in card_md and shipped[1] in card_md and store.shipped.version in card_md
    card_text = (ROOT / 'cifake_nb' / 'assets' / 'default' / 'MODEL_CARD.md').read_text(encoding='utf-8')
    assert f'| test: accuracy | {report.rounded(run.test_accuracy, 4)} |' in card_text and f'| test: roc_auc | {report.rounded(run.test_roc_auc, 4)} |' in card_text
