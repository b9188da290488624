"""The served demo under hostile input: a live `cifake-demo` process on a loopback port, attacked as one
unauthenticated client would (issue 9).

Every request that names a file the server did not receive (a device, a FIFO, a folder, a missing path,
/etc/passwd, /proc, a 300 MB file, a symlink planted in the upload folder) gets one generic refusal within
2 s on every endpoint, named or not; nothing reaches Gradio's cache and /healthz keeps answering. The
worst in-limit images keep the server's memory under 500 MB; oversized and many-file uploads are refused;
every refusal is a log row.
"""
import io, json, os, socket, sqlite3, subprocess, sys, threading, time
from pathlib import Path

import httpx
import numpy as np
import psutil
import pytest
from PIL import Image

from cifake_nb.app import REFUSAL

MAX_FILE_MB = 20  # the demo's default


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def serve(argv: list[str], env: dict, port: int) -> tuple[subprocess.Popen, str]:
    "Start a demo server process from the repository root (no $PORT) and wait until /healthz answers: `(process, url)`."
    env = {k: v for k, v in env.items() if k != 'PORT'}
    proc = subprocess.Popen(argv, cwd=Path(__file__).resolve().parents[1], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f'http://127.0.0.1:{port}'
    for _ in range(240):
        assert proc.poll() is None, proc.stdout.read()
        try:
            if httpx.get(f'{url}/healthz', timeout=1).status_code == 200: return proc, url
        except httpx.TransportError: time.sleep(0.25)
    proc.kill()
    raise AssertionError(f'{argv} did not answer /healthz within a minute')


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    "A `cifake-demo` subprocess with its own upload folder and log; yields (url, process, upload folder, log path)."
    d = tmp_path_factory.mktemp('sec')
    uploads, log = d / 'gradio', d / 'log.sqlite'
    env = {**os.environ, 'GRADIO_TEMP_DIR': str(uploads), 'CIFAKE_LOG_DB': str(log), 'GRADIO_ANALYTICS_ENABLED': 'False'}
    port = free_port()
    proc, url = serve([sys.executable, '-c', 'from cifake_nb.app import main; main()', '--port', str(port)], env, port)
    try:
        yield url, proc, uploads, log
    finally:
        proc.terminate()
        try: proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail('cifake-demo ignored SIGTERM')


def cache_listing(uploads: Path) -> set:
    return {str(p.relative_to(uploads)) for p in uploads.rglob('*')} if uploads.exists() else set()


def upload(url: str, name: str, data: bytes) -> str:
    r = httpx.post(f'{url}/gradio_api/upload', files={'files': (name, data)}, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r.json()[0]


def file_data(path) -> dict: return {'path': path, 'meta': {'_type': 'gradio.FileData'}}


def predict(url: str, path: str, timeout: float = 60) -> tuple[str, dict | str]:
    "Call /predict through Gradio's HTTP API: ('complete', result) or ('error', message)."
    r = httpx.post(f'{url}/gradio_api/call/predict', json={'data': [file_data(path)]}, timeout=timeout)
    if r.status_code != 200: return 'refused', r.json().get('error')
    text = httpx.get(f'{url}/gradio_api/call/predict/{r.json()["event_id"]}', timeout=timeout).text
    event = [l for l in text.splitlines() if l.startswith('event:')][-1].split(':', 1)[1].strip()
    data = json.loads([l for l in text.splitlines() if l.startswith('data:')][-1].split(':', 1)[1])
    return event, (data[0] if event == 'complete' else data)


@pytest.fixture(scope='module')
def hostile_paths(demo, tmp_path_factory):
    "Paths the server must never read: outside the upload folder, and planted inside it."
    url, proc, uploads, log = demo
    d = tmp_path_factory.mktemp('hostile')
    big = d / 'big.bin'
    with open(big, 'wb') as f: f.truncate(300 * 2**20)  # 300 MB (sparse)
    fifo = d / 'pipe'
    os.mkfifo(fifo)
    upload(url, 'seed.png', b'not even an image')  # make sure the upload folder exists
    planted = uploads / 'planted'
    planted.mkdir(exist_ok=True)
    (planted / 'link.png').symlink_to('/etc/passwd')
    os.mkfifo(planted / 'fifo.png')
    with open(planted / 'big.png', 'wb') as f: f.truncate((MAX_FILE_MB + 1) * 2**20)
    return {'dev_zero': '/dev/zero', 'etc_passwd': '/etc/passwd', 'proc_environ': '/proc/self/environ',
            'folder': str(d), 'missing': str(d / 'missing.png'), 'file_300mb': str(big), 'fifo': str(fifo),
            'log_db': str(log), 'traversal': f'{uploads}/../../../../etc/passwd', 'planted_symlink': str(planted / 'link.png'),
            'planted_fifo': str(planted / 'fifo.png'), 'planted_oversize': str(planted / 'big.png'),
            'upload_folder': str(uploads), 'url': 'http://127.0.0.1:1/x.png', 'not_a_string': 42}


def endpoints(url: str) -> list[tuple[str, dict]]:
    "Every way to call a function: the named API (/call, /run) and each event by fn_index through the queue."
    config = httpx.get(f'{url}/config', timeout=10).json()
    fns = [dep['id'] for dep in config['dependencies']]
    out = [('/gradio_api/call/predict', {}), ('/gradio_api/run/predict', {})]
    out += [('/gradio_api/queue/join', {'fn_index': i, 'session_hash': 'attacker', 'trigger_id': None}) for i in fns]
    return out


@pytest.mark.parametrize('kind', ['dev_zero', 'etc_passwd', 'proc_environ', 'folder', 'missing', 'file_300mb', 'fifo',
                                  'log_db', 'traversal', 'planted_symlink', 'planted_fifo', 'planted_oversize',
                                  'upload_folder', 'url', 'not_a_string'])
def test_hostile_path_refused_everywhere(demo, hostile_paths, kind):
    url, proc, uploads, log = demo
    before = cache_listing(uploads)
    for route, extra in endpoints(url):
        t0 = time.perf_counter()
        payload = {'data': [file_data(hostile_paths[kind])], **extra}
        if route.endswith('/queue/join'):  # UI events take the file in the position of their first input
            payload['data'] = [file_data(hostile_paths[kind])]
        r = httpx.post(f'{url}{route}', json=payload, timeout=5)
        assert time.perf_counter() - t0 < 2, (kind, route)
        assert (r.status_code, r.json().get('error')) == (400, REFUSAL), (kind, route, r.status_code, r.text[:200])
        assert httpx.get(f'{url}/healthz', timeout=2).status_code == 200
    assert cache_listing(uploads) == before, f'{kind}: something was copied into the cache'
    assert proc.poll() is None


def rss_peak_during(proc, fn) -> float:
    "Run `fn()` while sampling the server's RSS every 20 ms; the peak, MiB."
    p, peak, done = psutil.Process(proc.pid), [0], threading.Event()
    def sample():
        while not done.is_set():
            try: peak[0] = max(peak[0], p.memory_info().rss)
            except psutil.Error: return
            time.sleep(0.02)
    t = threading.Thread(target=sample)
    t.start()
    try: fn()
    finally:
        done.set()
        t.join()
    return peak[0] / 2**20


def _png(img: Image.Image, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, 'PNG', **kw)
    return b.getvalue()


def worst_images() -> dict[str, bytes]:
    "The costliest images within the demo's limits (4096² pixels, 20 MB), plus the two from the issue (refused or answered)."
    side = 4096
    p = Image.new('P', (side, side), 3)
    p.putpalette([i % 256 for i in range(768)])
    rng = np.random.default_rng(0)
    return {
        'strip_1x1000000': _png(Image.new('RGB', (1, 1_000_000), (200, 30, 30))),
        'rgba_6300': _png(Image.new('RGBA', (6300, 6300), (10, 200, 30, 128))),
        'rgba_4096': _png(Image.new('RGBA', (side, side), (10, 200, 30, 128))),
        'palette_transparent_4096': _png(p, transparency=3),
        'grey16_4096': _png(Image.new('I;16', (side, side), 3000)),
        'noise_rgb_2300': _png(Image.fromarray(rng.integers(0, 256, (2300, 2300, 3), dtype=np.uint8))),  # ~16 MB of entropy
        'strip_wide_rgba': _png(Image.new('RGBA', (4096 * 4096, 1), (1, 2, 3, 4))),
        'strip_16384x1': _png(Image.new('RGBA', (16384, 1), (1, 2, 3, 4))),
        'wide_rgba_16384x1024': _png(Image.new('RGBA', (16384, 1024), (1, 2, 3, 4))),
    }


def test_worst_in_limit_images_keep_memory_bounded(demo):
    url, proc, uploads, log = demo
    images = worst_images()
    paths = {k: upload(url, f'{k}.png', v) for k, v in images.items()}
    answers = {}
    def run_all():
        for k, path in paths.items():  # each alone, then four at once
            answers[k] = predict(url, path)
        threads = [threading.Thread(target=lambda k=k: answers.__setitem__(f'{k} ×4', predict(url, paths[k])))
                   for k in ('rgba_4096', 'palette_transparent_4096', 'grey16_4096', 'wide_rgba_16384x1024')]
        for t in threads: t.start()
        for t in threads: t.join()
    peak = rss_peak_during(proc, run_all)
    print(f'server RSS peak over the worst in-limit images: {peak:.0f} MiB')
    assert peak < 500, f'server RSS peaked at {peak:.0f} MiB'
    for k, (event, res) in answers.items():
        assert event in ('complete', 'error'), (k, event, res)
        if event == 'complete': assert res['label'] in ('REAL', 'FAKE'), (k, res)
    assert answers['rgba_6300'][0] == 'error' and "above this demo's limit" in str(answers['rgba_6300'][1])
    for k in ('strip_1x1000000', 'strip_wide_rgba'):  # a side above 16,384 px: refused, with the reason
        assert answers[k][0] == 'error' and 'a side above the limit' in str(answers[k][1]), answers[k]
    assert answers['strip_16384x1'][0] == 'complete' and answers['wide_rgba_16384x1024'][0] == 'complete'
    assert httpx.get(f'{url}/healthz', timeout=2).status_code == 200


def test_upload_bounds(demo):
    url, proc, uploads, log = demo
    r = httpx.post(f'{url}/gradio_api/upload', files=[('files', (f'{i}.png', b'x' * 100)) for i in range(50)], timeout=10)
    assert r.status_code == 413 and 'at most 32' in r.json()['error'], (r.status_code, r.text[:200])
    r = httpx.post(f'{url}/gradio_api/upload', files={'files': ('', b'x' * 100)}, timeout=10)
    assert r.status_code == 400, (r.status_code, r.text[:200])  # was a 500
    r = httpx.post(f'{url}/gradio_api/upload', files={'files': ('big.png', b'\0' * (MAX_FILE_MB * 2**20 + 1))}, timeout=30)
    assert r.status_code == 413, r.status_code
    r = httpx.post(f'{url}/gradio_api/upload', content=b'x' * 1000, headers={'content-type': 'text/plain'}, timeout=10)
    assert r.status_code == 400
    assert httpx.get(f'{url}/healthz', timeout=2).json()['status'] == 'ok'


def test_every_refusal_is_logged(demo, hostile_paths):
    url, proc, uploads, log = demo
    con = sqlite3.connect(log)
    n0 = con.execute('SELECT COUNT(*) FROM predictions').fetchone()[0]
    httpx.post(f'{url}/gradio_api/call/predict', json={'data': [file_data('/etc/passwd')]}, timeout=5)
    httpx.post(f'{url}/gradio_api/upload', files=[('files', (f'{i}.png', b'x')) for i in range(40)], timeout=10)
    httpx.post(f'{url}/gradio_api/upload', files={'files': ('big.png', b'\0' * (MAX_FILE_MB * 2**20 + 1))}, timeout=30)
    rows = con.execute('SELECT error FROM predictions ORDER BY id').fetchall()[n0:]
    assert [r[0] for r in rows] == ['refused: path_not_uploaded', 'refused: too_many_files', 'refused: file_too_large'], rows
    # Nothing read from a client path ever shows up as a hashed, classified row.
    assert con.execute("SELECT COUNT(*) FROM predictions WHERE error IS NULL AND n_bytes > ?", (MAX_FILE_MB * 2**20,)).fetchone()[0] == 0


def test_space_entry_point_serves_behind_the_guard(tmp_path):
    "`python app.py` (the Hugging Face Space) serves the same guarded app as `cifake-demo`, on $GRADIO_SERVER_PORT."
    port = free_port()
    env = {**os.environ, 'GRADIO_SERVER_PORT': str(port), 'GRADIO_TEMP_DIR': str(tmp_path / 'g'), 'CIFAKE_LOG_DB': str(tmp_path / 'l.sqlite')}
    proc, url = serve([sys.executable, 'app.py'], env, port)
    try:
        r = httpx.post(f'{url}/gradio_api/call/predict', json={'data': [file_data('/dev/zero')]}, timeout=5)
        assert (r.status_code, r.json()['error']) == (400, REFUSAL)
    finally:
        proc.terminate()
        proc.wait(15)
