"""End to end with a real Prometheus: Debian's `prometheus` binary scrapes a live `cifake-demo` on loopback (1 s scrape
interval, the project's alert rules loaded); we send traffic through the demo's API and read the counters back through
Prometheus's HTTP API (/api/v1/query). Every wait is bounded; both processes are always killed."""
import io, json, os, shutil, signal, socket, subprocess, sys, time, urllib.parse, urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = shutil.which('prometheus')
pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason='the prometheus binary is not installed (Debian: apt-get install prometheus; .ci/run installs it)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r: return r.status, r.read()
    except urllib.error.HTTPError as e: return e.code, e.read()


def wait_for(fn, timeout: float, what: str, proc=None):
    "Call `fn` until it returns something truthy (bounded); fail with `what` and the process output otherwise."
    t0, last = time.monotonic(), None
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None: pytest.fail(f'{what}: the process exited ({proc.returncode})')
        try:
            if (v := fn()): return v
        except OSError as e: last = e
        time.sleep(0.3)
    pytest.fail(f'{what}: not within {timeout:.0f} s (last error: {last})')


def stop(proc):
    if proc is None or proc.poll() is not None: return
    try: os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError: return
    try: proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def query(prom: str, q: str) -> list:
    code, body = get(f'{prom}/api/v1/query?' + urllib.parse.urlencode({'query': q}))
    assert code == 200, body[:300]
    return json.loads(body)['data']['result']


def value(prom: str, q: str) -> float | None:
    r = query(prom, q)
    return float(r[0]['value'][1]) if r else None


def test_prometheus_scrapes_the_demo(tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError
    demo_port, prom_port = free_port(), free_port()
    env = {**os.environ, 'GRADIO_ANALYTICS_ENABLED': 'False', 'HF_HUB_OFFLINE': '1', 'GRADIO_TEMP_DIR': str(tmp_path / 'gradio')}
    demo_cmd = [str(Path(sys.executable).with_name('cifake-demo')), '--host', '127.0.0.1', '--port', str(demo_port), '--log-db', str(tmp_path / 'log.sqlite')]
    cfg = tmp_path / 'prometheus.yml'
    cfg.write_text(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ['{ROOT / 'monitoring' / 'alerts.yml'}']
scrape_configs:
  - job_name: cifake-demo
    static_configs: [{{targets: ['127.0.0.1:{demo_port}']}}]
""")
    prom_cmd = [PROMETHEUS, f'--config.file={cfg}', f'--storage.tsdb.path={tmp_path / "tsdb"}', f'--web.listen-address=127.0.0.1:{prom_port}']
    demo = prom = None
    try:
        demo = subprocess.Popen(demo_cmd, env=env, stdout=(tmp_path / 'demo.log').open('w'), stderr=subprocess.STDOUT, start_new_session=True)
        prom = subprocess.Popen(prom_cmd, stdout=(tmp_path / 'prom.log').open('w'), stderr=subprocess.STDOUT, start_new_session=True)
        url, purl = f'http://127.0.0.1:{demo_port}', f'http://127.0.0.1:{prom_port}'
        wait_for(lambda: get(f'{url}/healthz')[0] == 200, 90, 'cifake-demo /healthz', demo)
        wait_for(lambda: get(f'{purl}/-/ready')[0] == 200, 60, 'prometheus /-/ready', prom)
        rules = json.loads(get(f'{purl}/api/v1/rules')[1])['data']['groups']
        assert {r['name'] for g in rules for r in g['rules']} >= {'CifakeDemoDown', 'CifakeHighErrorRate', 'CifakeInputDrift', 'CifakeLogWriteFailures'}
        wait_for(lambda: value(purl, 'up{job="cifake-demo"}') == 1, 30, 'the demo target up in Prometheus', prom)
        version = json.loads(get(f'{url}/healthz')[1])['model_version']

        # traffic: 6 answers (JPEG and PNG, one upscaled) and 2 refusals (not an image) through the public API
        client = Client(url + '/', verbose=False, ssl_verify=False)
        rng = np.random.default_rng(0)
        for i in range(6):
            buf = io.BytesIO()
            a = rng.integers(0, 256, (64 if i == 5 else 32,) * 2 + (3,), dtype=np.uint8)
            Image.fromarray(a).save(buf, 'PNG' if i % 2 else 'JPEG')
            p = tmp_path / f'img{i}.{"png" if i % 2 else "jpg"}'
            p.write_bytes(buf.getvalue())
            out = client.predict(handle_file(str(p)), api_name='/predict')
            assert out['label'] in ('REAL', 'FAKE'), out
        (tmp_path / 'bad.jpg').write_bytes(b'not an image at all')
        for _ in range(2):
            with pytest.raises(AppError): client.predict(handle_file(str(tmp_path / 'bad.jpg')), api_name='/predict')

        refused = 'sum(cifake_requests_total{job="cifake-demo", outcome="refused", reason="not_an_image", source="api"})'
        wait_for(lambda: value(purl, refused) == 2, 30, 'Prometheus to see the 2 refused requests (the last ones sent)', prom)
        assert value(purl, 'sum(cifake_requests_total{job="cifake-demo", outcome="answered"})') == 6
        assert value(purl, 'sum(cifake_requests_total{job="cifake-demo", outcome="error"})') in (None, 0.0)
        assert value(purl, f'cifake_model_info{{job="cifake-demo", version="{version}"}}') == 1
        assert value(purl, 'sum(cifake_request_latency_seconds_count{job="cifake-demo", source="api"})') == 8
        assert value(purl, 'cifake_p_fake_count{job="cifake-demo"}') == 6
        assert value(purl, 'cifake_input_pixels_bucket{job="cifake-demo", le="1024.0"}') == 5   # five 32×32, one 64×64
        assert value(purl, 'cifake_log_write_failures_total{job="cifake-demo"}') == 0
        # the drift check runs on scrapes: NaN (too few requests) is stored as NaN, so the series exists
        wait_for(lambda: query(purl, 'cifake_drift_window_requests{job="cifake-demo"}'), 10, 'the drift gauges scraped', prom)
        status, body = get(f'{url}/drift')
        assert status == 200 and json.loads(body)['status'] == 'insufficient_data', body[:300]
    finally:
        stop(demo)
        stop(prom)
    assert demo.poll() is not None and prom.poll() is not None
