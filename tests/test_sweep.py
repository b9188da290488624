"""`cifake-run sweep` from the command line on a tiny image folder (no real data needed): trials are recorded runs, a
second call continues the study, a bad search space is one clear line; then nbs/sweep_report.ipynb through papermill
on that study (the library itself is tested in nbs/11_sweep.ipynb)."""
import json
from pathlib import Path
import pytest
import yaml

pm = pytest.importorskip('papermill')
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope='module')
def sweep_files(tmp_path_factory, tiny_folder):
    d = tmp_path_factory.mktemp('sweep')
    (d / 'toy.yaml').write_text(yaml.safe_dump(dict(data_source=str(tiny_folder), n_val=200, epochs=2, batch_size=50, threads=1,
                                                    model_kwargs={'widths': [8, 8, 8, 8]}, wandb='disabled', progress=False, progress_every_s=0.0)))
    (d / 'sweep.yaml').write_text(yaml.safe_dump(dict(params=[str(d / 'toy.yaml')], space={'lr': {'float': [0.01, 0.3], 'log': True}},
                                                      n_trials=2, study_name='toy', prune_startup_trials=1)))
    return d


def test_sweep_cli_runs_continues_and_reports(sweep_files, tmp_path, monkeypatch, capsys):
    from cifake_nb.runs import main
    d = sweep_files
    monkeypatch.setenv('CIFAKE_CACHE', str(d / 'cache'))
    main(['sweep', str(d / 'sweep.yaml'), '--runs-dir', str(tmp_path / 'runs')])
    out = capsys.readouterr().out
    assert 'study toy' in out and '0 trial(s) finished, 2 to run' in out and 'best trial' in out, out
    main(['sweep', str(d / 'sweep.yaml'), '-p', 'n_trials', '3', '--runs-dir', str(tmp_path / 'runs')])  # continues: one more trial
    assert '2 trial(s) finished, 1 to run' in capsys.readouterr().out
    summ = json.loads((tmp_path / 'runs' / 'sweeps' / 'toy.json').read_text())
    assert len(summ['trials']) == 3 and summ['best']['val_score'] == max(t['val_score'] for t in summ['trials'] if t['state'] == 'COMPLETE')
    for t in summ['trials']:
        assert Path(t['run_dir']).is_dir() and (Path(t['run_dir']) / 'metrics.jsonl').is_file(), t   # each trial a recorded run
    nb = tmp_path / 'report.ipynb'
    pm.execute_notebook(str(ROOT / 'nbs' / 'sweep_report.ipynb'), str(nb), cwd=str(ROOT), progress_bar=False, kernel_name='python3',
                        parameters=dict(storage=str(tmp_path / 'runs' / 'sweeps' / 'toy.sqlite')))
    outs = [o for c in json.loads(nb.read_text())['cells'] for o in c.get('outputs', [])]
    assert sum('image/png' in o.get('data', {}) for o in outs) >= 2, 'the study plots are in the report'
    assert any('validation score' in ''.join(o.get('text', '')) for o in outs)


def test_bad_search_space_is_one_clear_line(sweep_files, tmp_path, capsys):
    from cifake_nb.runs import main
    bad = tmp_path / 'bad.yaml'
    bad.write_text(yaml.safe_dump(dict(params=[str(sweep_files / 'toy.yaml')], space={'lr': {'float': [0.0, 0.3], 'log': True}, 'lrr': {'choices': [1]}})))
    with pytest.raises(SystemExit) as e: main(['sweep', str(bad), '--runs-dir', str(tmp_path / 'runs')])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert 'space.lr: a log range needs low > 0' in err and 'space.lrr: not a TrainConfig field' in err
    assert not (tmp_path / 'runs').exists(), 'nothing created'
