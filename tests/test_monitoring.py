"""Monitoring (issue 13): the Prometheus configuration and alert rules (promtool), `cifake-drift` on small logs of
real CIFAKE traffic (clean: exit 0; shifted: exit 1 naming the features; unusable input: exit 2 with one line),
and the papermill drift report. Every request goes through the serving path (Predictor on the file bytes)."""
import io, json, shutil, sqlite3, subprocess, sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from cifake_nb.features import predict_with_features
from cifake_nb.predlog import write_feature_log

ROOT = Path(__file__).resolve().parents[1]
MON = ROOT / 'monitoring'
PROMTOOL = shutil.which('promtool')
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus; .ci/run installs it)")


# ---------------------------------------------------------------- promtool

@needs_promtool
@pytest.mark.parametrize('args', [('check', 'config', 'prometheus.yml'), ('check', 'rules', 'alerts.yml'), ('test', 'rules', 'alerts_test.yml')],
                         ids=lambda a: ' '.join(a[:2]))
def test_promtool(args):
    r = subprocess.run([PROMTOOL, *args], cwd=MON, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'SUCCESS' in r.stdout + r.stderr


def test_every_alert_has_firing_and_quiet_tests():
    import yaml
    alerts = [r['alert'] for g in yaml.safe_load((MON / 'alerts.yml').read_text())['groups'] for r in g['rules'] if 'alert' in r]
    cases = [c for t in yaml.safe_load((MON / 'alerts_test.yml').read_text())['tests'] for c in t.get('alert_rule_test', [])]
    for a in alerts:
        mine = [c for c in cases if c['alertname'] == a]
        assert any(c.get('exp_alerts') for c in mine), f'{a}: no test where it fires'
        assert any(not c.get('exp_alerts') for c in mine), f'{a}: no test where it stays quiet'
    assert len(alerts) >= 6


# ---------------------------------------------------------------- cifake-drift on small logs

def drift_cli() -> list[str]:
    exe = Path(sys.executable).with_name('cifake-drift')
    return [str(exe)] if exe.exists() else [sys.executable, '-c', 'import sys; from cifake_nb.monitor import main; sys.exit(main())']


def run_drift(*args):
    return subprocess.run([*drift_cli(), *map(str, args)], capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.fixture(scope='module')
def traffic(cifake_test_parquet):
    "The shipped predictor and 200 seeded-random CIFAKE test files (original bytes)."
    import pyarrow.parquet as pq
    from cifake_nb.inference import Predictor
    blobs = pq.read_table(cifake_test_parquet, columns=['image']).column('image').combine_chunks().field('bytes').to_pylist()
    idx = np.random.default_rng(0).choice(len(blobs), 200, replace=False)
    return Predictor(), [blobs[i] for i in idx]


def blur(b: bytes) -> bytes:
    src = Image.open(io.BytesIO(b))
    buf = io.BytesIO()
    src.convert('RGB').filter(ImageFilter.GaussianBlur(1.0)).save(buf, 'JPEG', qtables=src.quantization, subsampling=2)
    return buf.getvalue()


def upscale(b: bytes) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(b)).convert('RGB').resize((128, 128), Image.BICUBIC).save(buf, 'JPEG', quality=75)
    return buf.getvalue()


def make_log(path, predictor, blobs, version=None) -> Path:
    return write_feature_log(path, [predict_with_features(predictor, b)[1] for b in blobs], version or predictor.version)


def test_clean_traffic_exits_0(traffic, tmp_path):
    predictor, blobs = traffic
    log = make_log(tmp_path / 'clean.sqlite', predictor, blobs)
    r = run_drift(log, '--html', tmp_path / 'r.html', '--json', tmp_path / 'r.json')
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith('no drift: model ' + predictor.version) and '200 compared' in r.stdout
    rep = json.loads((tmp_path / 'r.json').read_text())[0]
    assert rep['drift'] is False and rep['n_window'] == 200 and rep['score'] < rep['threshold']
    assert 'data:image/png;base64,' in (tmp_path / 'r.html').read_text()


@pytest.mark.parametrize('shift, expected', [(blur, {'laplacian_var'}), (upscale, {'width', 'height'})], ids=['blur', 'upscale'])
def test_shifted_traffic_exits_1_naming_features(traffic, tmp_path, shift, expected):
    predictor, blobs = traffic
    log = make_log(tmp_path / 'shifted.sqlite', predictor, [shift(b) for b in blobs])
    r = run_drift(log, '--last', 200)
    assert r.returncode == 1, r.stdout + r.stderr
    named = set(r.stdout.strip().splitlines()[-1].removeprefix('drift detected in: ').split(', '))
    assert expected <= named, r.stdout


def test_a_window_of_shifted_requests_after_clean_ones(traffic, tmp_path):
    "The window is the last N requests: 200 clean ones, then 100 upscaled; --last 100 sees only the shift, the whole log both."
    predictor, blobs = traffic
    log = make_log(tmp_path / 'mixed.sqlite', predictor, blobs)
    make_log(log, predictor, [upscale(b) for b in blobs[:100]])
    assert run_drift(log, '--last', 100).returncode == 1
    assert run_drift(log, '--last', 200).returncode == 1   # half the window upscaled
    r = run_drift(log, '--last', 300, '--alpha', 1e-300)   # an alarm threshold nothing reaches
    assert r.returncode == 0, r.stdout


def test_unusable_input_exits_2_with_one_line(traffic, tmp_path):
    predictor, blobs = traffic
    log = make_log(tmp_path / 'log.sqlite', predictor, blobs[:50])
    other = make_log(tmp_path / 'other.sqlite', predictor, blobs[:50], version='speednet-0123456789ab')
    (tmp_path / 'corrupt.sqlite').write_bytes(b'SQLite format 3\x00' + bytes(range(256)) * 20)
    (tmp_path / 'text.sqlite').write_text('not a database')
    old = tmp_path / 'old.sqlite'
    with sqlite3.connect(old) as c: c.execute('CREATE TABLE predictions (id INTEGER PRIMARY KEY, time_utc TEXT, p_fake REAL, model_version TEXT, error TEXT)')
    (tmp_path / 'model').mkdir()
    cases = [((tmp_path / 'missing.sqlite',), 'no prediction log at'),
             ((tmp_path / 'corrupt.sqlite',), 'cannot read the prediction log'),
             ((tmp_path / 'text.sqlite',), 'cannot read the prediction log'),
             ((old,), 'no monitoring columns'),
             ((log, '--hours', 1, '--last', 0), None),   # rows were just written: a non-empty window (checked below)
             ((log, '--last', 10), 'at least 30 are needed'),
             ((other,), "answered by model 'speednet-0123456789ab' (50 requests)"),
             ((log, '--reference', tmp_path / 'model'), 'no reference profile at'),
             ((log, '--reference', tmp_path / 'corrupt.sqlite'), 'no reference profile at'),
             ((log, '--last', 0), '--last 0 needs --hours'),
             ((), 'give the prediction log')]
    for args, msg in cases:
        r = run_drift(*args)
        if msg is None:
            assert r.returncode in (0, 1), r.stderr
            continue
        assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
        assert msg in r.stderr and r.stderr.startswith('cifake-drift: ') and 'Traceback' not in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    # a window with no rows: a log written long ago, checked over the last hour
    past = write_feature_log(tmp_path / 'past.sqlite', [predict_with_features(predictor, b)[1] for b in blobs[:40]], predictor.version,
                             start=datetime(2020, 1, 1, tzinfo=timezone.utc))
    r = run_drift(past, '--hours', 1)
    assert r.returncode == 2 and 'no answered requests with monitoring features in the window' in r.stderr, r.stderr


def test_version_specific_reference(traffic, tmp_path):
    "A log of another model version is compared with that version's profile when it is given."
    predictor, blobs = traffic
    other = make_log(tmp_path / 'other.sqlite', predictor, blobs[:60], version='speednet-0123456789ab')
    prof = json.loads((Path(predictor.model_dir) / 'reference_profile.json').read_text())
    prof['model_version'] = 'speednet-0123456789ab'
    (tmp_path / 'other_ref.json').write_text(json.dumps(prof))
    r = run_drift(other, '--reference', Path(predictor.model_dir), '--reference', tmp_path / 'other_ref.json')
    assert r.returncode == 0 and 'model speednet-0123456789ab' in r.stdout, r.stdout + r.stderr


def test_default_reference_follows_the_model_that_answered(traffic, tmp_path, int8_copy):
    """Issue 31 #8: a demo serves a model's int8 copy on a CPU with VNNI; cifake-drift given the model folder checks a log of it against
    the int8 profile by itself (the shipped model has no int8 copy since issue 27 refused it: a copy quantized here stands in)."""
    from cifake_nb.inference import Predictor
    predictor, blobs = traffic
    int8 = Predictor(int8_copy / 'int8')
    r = run_drift(make_log(tmp_path / 'int8.sqlite', int8, blobs[:60]), '--reference', int8_copy)
    assert r.returncode == 0 and f'model {int8.version}' in r.stdout, r.stdout + r.stderr


def test_shipped_model_has_a_reference_profile():
    from cifake_nb.inference import Predictor
    from cifake_nb.features import load_profile
    p = Predictor()
    prof = load_profile(p.model_dir)
    assert prof['model_version'] == p.version and prof['n'] == 5000 and prof['data']['split'] == 'val'
    assert prof['data']['fingerprint'] == p.info['data_fingerprint']


# ---------------------------------------------------------------- the papermill report

def test_report_notebook(tmp_path, cifake_test_parquet):
    pm = pytest.importorskip('papermill')
    out = tmp_path / 'report.ipynb'
    pm.execute_notebook(str(ROOT / 'nbs' / 'monitor_report.ipynb'), str(out), parameters={'demo_requests': 60, 'demo_blurred': 40, 'out_dir': str(tmp_path)},
                        cwd=str(ROOT), progress_bar=False, kernel_name='python3')
    run = next(tmp_path.glob('monitor-*'))
    rep = json.loads((run / 'report.json').read_text())[0]
    assert rep['n_window'] == 100 and rep['drift'] and 'laplacian_var' in rep['drifting_features'], rep['drifting_features']
    assert (run / 'report.html').exists() and list(run.glob('drift_*.png'))
    nb = json.loads(out.read_text())
    assert any('image/png' in o.get('data', {}) for c in nb['cells'] for o in c.get('outputs', []))


@pytest.mark.parametrize('params, msg', [({'lgo': 'x.sqlite'}, 'unknown parameter'), ({'log': '/nonexistent/log.sqlite'}, 'no prediction log at')],
                         ids=['unknown key', 'missing log'])
def test_report_notebook_bad_params(tmp_path, params, msg):
    pm = pytest.importorskip('papermill')
    with pytest.raises(pm.PapermillExecutionError) as e:
        pm.execute_notebook(str(ROOT / 'nbs' / 'monitor_report.ipynb'), str(tmp_path / 'o.ipynb'), parameters={**params, 'out_dir': str(tmp_path)},
                            cwd=str(ROOT), progress_bar=False, kernel_name='python3')
    assert msg in str(e.value)
