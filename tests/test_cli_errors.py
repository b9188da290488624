"""Bad input to the console scripts reads as an error: one clear line on stderr, a non-zero exit status, no
traceback, no folder left behind; success exits 0 (issue 9). Each script runs as a user runs it, in a subprocess."""
import json, os, shutil, sqlite3, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(script: str, *args, cwd=ROOT, timeout=180):
    exe = BIN / script
    if not exe.exists(): pytest.skip(f'{script} is not installed in this environment (pip install -e .)')
    env = {**os.environ, 'PORT': ''}
    return subprocess.run([str(exe), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def one_line_error(r, rc: int, *needles):
    err = r.stderr.strip().splitlines()
    assert r.returncode == rc, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    assert 'Traceback' not in r.stderr, r.stderr[-2000:]
    last = err[-1] if err else ''
    for n in needles: assert n in last, (n, r.stderr[-1000:])
    return last


@pytest.mark.parametrize('args, needle', [
    (['-p', 'lr', '.nan'], 'lr=nan'), (['-p', 'lr', '.inf'], 'lr=inf'), (['-p', 'train_limit', '-10'], 'train_limit=-10'),
    (['-p', 'momentum', '5'], 'momentum=5'), (['-p', 'epochs', '[3'], 'not valid YAML'), (['-p', 'epoch', '3'], "unknown training parameter(s) ['epoch']")])
def test_cifake_run_refuses_bad_parameters_before_making_anything(tmp_path, args, needle):
    r = run('cifake-run', 'train', 'params/smoke.yaml', *args, '--runs-dir', tmp_path / 'runs')
    one_line_error(r, 2, 'cifake-run: error:', needle)
    assert not (tmp_path / 'runs').exists() or not any((tmp_path / 'runs').iterdir()), 'no run folder for a run that never started'


def test_pipeline_checks_eval_params_before_training(tmp_path):
    bad = tmp_path / 'eval_bad.yaml'
    bad.write_text('limit_tets: 100\n')
    r = run('cifake-run', 'pipeline', 'params/smoke.yaml', bad, '--runs-dir', tmp_path / 'runs')
    one_line_error(r, 2, "unknown evaluation parameter(s) ['limit_tets']")
    assert not (tmp_path / 'runs').exists() or not any((tmp_path / 'runs').iterdir())


def test_cifake_train_bad_override():
    one_line_error(run('cifake-train', 'params/smoke.yaml', '-p', 'epochs', '[3'), 2, 'not valid YAML')
    one_line_error(run('cifake-train', 'params/smoke.yaml', '-p', 'lr', '-1'), 2, 'lr=-1.0')


def test_old_option_names_point_to_the_new_ones(tmp_path):
    "One override syntax (-p KEY VALUE) and one name for the parent of run folders (--runs-dir): the old spellings say so in one line."
    for script in ('cifake-run', 'cifake-train'):
        args = ['train'] if script == 'cifake-run' else []
        one_line_error(run(script, *args, 'params/smoke.yaml', '--set', 'epochs=1'), 2, '--set KEY=VALUE was replaced by -p KEY VALUE')
    one_line_error(run('cifake-run', 'train', 'params/smoke.yaml', '--out-dir', tmp_path), 2, '--out-dir was renamed --runs-dir')
    one_line_error(run('cifake-train', 'params/smoke.yaml', '-p', 'out_dir', tmp_path), 2, 'out_dir is now called runs_dir')
    assert not any(tmp_path.iterdir())


def test_cifake_export_errors(tmp_path):
    one_line_error(run('cifake-export', tmp_path / 'nope', tmp_path / 'out'), 1, 'cifake-export: error:', 'does not exist')
    one_line_error(run('cifake-export', tmp_path / 'nope', tmp_path / 'out', '--report', tmp_path / 'nope.json'), 1, 'cifake-export: error:')  # --metrics is gone: the rule comes from the report


def test_cifake_demo_cannot_start_cleanly(tmp_path):
    one_line_error(run('cifake-demo', '--model-dir', tmp_path / 'nope', '--no-log'), 1, 'cifake-demo: cannot start', 'does not exist')
    foreign = tmp_path / 'foreign.sqlite'
    c = sqlite3.connect(foreign); c.execute('CREATE TABLE predictions (x TEXT)'); c.commit(); c.close()
    one_line_error(run('cifake-demo', '--log-db', foreign), 1, 'cifake-demo: cannot start', 'not this demo')
    model = tmp_path / 'model'; shutil.copytree(ROOT / 'cifake_nb' / 'assets' / 'default', model)
    for field, value in [('temperature', float('nan')), ('threshold', 7), ('onnx_sha256', None)]:
        info = json.loads((ROOT / 'cifake_nb' / 'assets' / 'default' / 'model.json').read_text()); info[field] = value
        (model / 'model.json').write_text(json.dumps(info))
        one_line_error(run('cifake-demo', '--model-dir', model, '--no-log'), 1, 'cifake-demo: cannot start', field)


def test_int8_errors(tmp_path):
    "scripts/ship_int8.py on a folder without a model, and cifake-demo --int8 on a model without an int8 sibling: one line each, nothing written."
    r = subprocess.run([sys.executable, str(ROOT / 'scripts' / 'ship_int8.py'), '--model', str(tmp_path)], capture_output=True, text=True, timeout=180)
    one_line_error(r, 1, 'ship_int8: error:', 'no model.json')
    assert not (tmp_path / 'int8').exists()
    model = tmp_path / 'model'; shutil.copytree(ROOT / 'cifake_nb' / 'assets' / 'default', model, ignore=shutil.ignore_patterns('int8'))
    info = json.loads((model / 'model.json').read_text()); info['int8'] = {}; (model / 'model.json').write_text(json.dumps(info))   # no sibling, none refused
    one_line_error(run('cifake-demo', '--model-dir', model, '--int8', '--no-log'), 1, 'cifake-demo: cannot start', 'has no int8 model', 'ship_int8.py')


@pytest.mark.parametrize('args, env, needle', [
    (['--port', '99999'], {}, "--port: '99999': expected a port number from 1 to 65535"),
    ([], {'PORT': 'notanumber'}, "PORT='notanumber': expected a port number"),
    (['--concurrency', '0'], {}, "--concurrency: '0': expected a whole number of predictions from 1 to 64")])
def test_cifake_demo_refuses_bad_options_before_loading(args, env, needle):
    "Issue 31 #6 and #9: every option is checked by argparse, in one line, before a model or log is opened (nbs/08_app checks the rest in-process)."
    exe = BIN / 'cifake-demo'
    if not exe.exists(): pytest.skip('cifake-demo is not installed in this environment (pip install -e .)')
    r = subprocess.run([str(exe), *args], cwd=ROOT, env={**os.environ, 'PORT': '', **env}, capture_output=True, text=True, timeout=180)
    one_line_error(r, 2, 'cifake-demo: error:', needle)


@pytest.mark.parametrize('kind', ['fifo', 'dev_zero'])
def test_cifake_demo_refuses_a_model_file_that_is_not_a_regular_file(tmp_path, kind):
    "Issue 31 #10: a FIFO, or a link to /dev/zero, as model.onnx: one line at once (it used to hang silently)."
    model = tmp_path / 'model'; shutil.copytree(ROOT / 'cifake_nb' / 'assets' / 'default', model, ignore=shutil.ignore_patterns('int8'))
    (model / 'model.onnx').unlink()
    os.mkfifo(model / 'model.onnx') if kind == 'fifo' else (model / 'model.onnx').symlink_to('/dev/zero')
    one_line_error(run('cifake-demo', '--model-dir', model, '--no-log'), 1, 'cifake-demo: cannot start', 'not a regular file')


def test_cifake_run_evaluate_checks_the_checkpoint_before_anything(tmp_path):
    "Issue 31 #9: a file that is not a checkpoint is refused in one line, before a kernel starts or a folder is made."
    for bad in ('/etc/passwd', tmp_path / 'missing.safetensors', tmp_path):
        one_line_error(run('cifake-run', 'evaluate', 'params/eval_smoke.yaml', '--checkpoint', bad, '--runs-dir', tmp_path / 'runs'),
                       2, 'cifake-run: error: checkpoint')
    assert not (tmp_path / 'runs').exists()


def test_cifake_run_sweep_bad_yaml_is_one_line(tmp_path):
    "Issue 31 #9: `sweep` on a file that is not YAML says so in one line, as `train` does."
    (tmp_path / 'bad.yaml').write_text('n_trials: [3\n')
    one_line_error(run('cifake-run', 'sweep', tmp_path / 'bad.yaml', '--runs-dir', tmp_path / 'runs'), 2,
                   'cifake-run: error:', "is not valid YAML: expected ',' or ']'")
