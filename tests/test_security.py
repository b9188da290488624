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

from cifake_nb.guard import REFUSAL

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


def refusals_counted(url: str) -> dict:
    "The server's refusal counters by reason, from /metrics."
    out = {}
    for line in httpx.get(f'{url}/metrics', timeout=5).text.splitlines():
        if line.startswith('cifake_requests_total{') and 'outcome="refused"' in line:
            reason = line.split('reason="')[1].split('"')[0]
            out[reason] = out.get(reason, 0) + float(line.rsplit(' ', 1)[1])
    return out


def test_every_refusal_is_counted_and_a_flood_is_summarised(demo, hostile_paths):
    "Every refusal is counted in /metrics at once; the log gets a row for the first of a reason in a minute, the rest as one summary row (issue 31: 809 rows/s before)."
    url, proc, uploads, log = demo
    con = sqlite3.connect(log)
    n0, c0 = con.execute('SELECT COUNT(*) FROM predictions').fetchone()[0], refusals_counted(url)
    with httpx.Client(timeout=5) as c:
        for _ in range(100): c.post(f'{url}/gradio_api/call/predict', json={'data': [file_data('/etc/passwd')]})
    httpx.post(f'{url}/gradio_api/upload', files=[('files', (f'{i}.png', b'x')) for i in range(40)], timeout=10)
    httpx.post(f'{url}/gradio_api/upload', files={'files': ('big.png', b'\0' * (MAX_FILE_MB * 2**20 + 1))}, timeout=30)
    c1 = refusals_counted(url)
    assert c1['path_not_uploaded'] - c0.get('path_not_uploaded', 0) == 100, (c0, c1)
    assert c1['too_many_files'] - c0.get('too_many_files', 0) == 1 and c1['too_large'] - c0.get('too_large', 0) == 1, (c0, c1)
    rows = [r[0] for r in con.execute('SELECT error FROM predictions ORDER BY id').fetchall()[n0:]]
    assert len(rows) <= 3 and all(r.startswith('refused: ') for r in rows), rows   # at most one row per reason, not 202
    # Nothing read from a client path ever shows up as a hashed, classified row.
    assert con.execute("SELECT COUNT(*) FROM predictions WHERE error IS NULL AND n_bytes > ?", (MAX_FILE_MB * 2**20,)).fetchone()[0] == 0


def raw(port: int, data: bytes, source: str = '127.0.0.1') -> socket.socket:
    "A TCP connection from `source` (any 127.x address is this machine) that has sent `data` and waits."
    s = socket.create_connection(('127.0.0.1', port), timeout=20, source_address=(source, 0))
    s.sendall(data)
    return s


def answer(s: socket.socket) -> tuple[bytes, float]:
    "What the server sends before it closes the connection (b'' if nothing), and when, seconds from now."
    t0, got = time.perf_counter(), b''
    try:
        while chunk := s.recv(65536): got += chunk
    except (ConnectionResetError, TimeoutError): pass
    s.close()
    return got, time.perf_counter() - t0


def upload_head(declared: int, boundary: bytes = b'b') -> bytes:
    "An upload's request head declaring `declared` body bytes, and the first part's header."
    return (b'POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=' + boundary +
            b'\r\nContent-Length: %d\r\n\r\n--' % declared + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n')


def test_idle_and_slow_senders_hold_no_budget_and_are_cut_off(demo):
    "Issue 31 #1: two idle uploads declaring the per-request limit no longer block everyone: another client uploads at once, and the idle, trickling and half-headed connections are cut within the deadlines (10 s)."
    url, proc, uploads, log = demo
    port, declared = int(url.rsplit(':', 1)[1]), 129 * 2**20   # the per-request limit, 32 × 20 MB capped at 128 MiB + 1 MiB
    idle = [raw(port, upload_head(declared), src) for src in ('127.0.0.2', '127.0.0.4')]
    half_headed = raw(port, b'POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\n', '127.0.0.5')
    trickle = raw(port, upload_head(declared), '127.0.0.6')
    stop = threading.Event()
    def drip():
        while not stop.wait(1):
            try: trickle.send(b'x')
            except OSError: return
    threading.Thread(target=drip, daemon=True).start()
    time.sleep(0.5)
    t0 = time.perf_counter()
    with httpx.Client(transport=httpx.HTTPTransport(local_address='127.0.0.3'), timeout=10) as other:
        r = other.post(f'{url}/gradio_api/upload', files={'files': ('ok.png', b'x' * 1000)})
    assert r.status_code == 200 and time.perf_counter() - t0 < 3, (r.status_code, r.text[:200])
    try:
        for s in idle:
            got, dt = answer(s)
            assert got.startswith(b'HTTP/1.1 408') and dt < 14, (got[:200], dt)
        got, dt = answer(trickle)
        assert got.startswith(b'HTTP/1.1 408') and dt < 14, (got[:200], dt)   # ~1 B/s: under the minimum rate once the grace is over
        got, dt = answer(half_headed)
        assert got == b'' and dt < 14, (got[:200], dt)   # headers never completed: closed
    finally: stop.set()
    assert refusals_counted(url).get('too_slow', 0) >= 4
    assert httpx.get(f'{url}/healthz', timeout=2).status_code == 200


def test_one_client_cannot_take_every_uploads_budget(demo):
    "Issue 31 #1: the bytes in flight are bounded per client address too: two 100 MiB uploads at once from one address cannot both go on, and another client is served meanwhile."
    url, proc, uploads, log = demo
    port = int(url.rsplit(':', 1)[1])
    conns = [raw(port, upload_head(129 * 2**20), '127.0.0.7') for _ in range(2)]
    part = b'x' * (10 * 2**20) + b'\r\n--b\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n\r\n'
    def send(s):  # ten files of 10 MiB each: within the per-file limit
        try: s.sendall(part * 10)
        except OSError: pass   # refused: the server closed the connection
    threads = [threading.Thread(target=send, args=(s,)) for s in conns]
    for t in threads: t.start()
    with httpx.Client(transport=httpx.HTTPTransport(local_address='127.0.0.8'), timeout=10) as other:
        assert other.post(f'{url}/gradio_api/upload', files={'files': ('ok.png', b'x' * 1000)}).status_code == 200
    for t in threads: t.join(60)
    for s in conns: s.settimeout(2)
    got = [answer(s)[0] for s in conns]
    assert any(g.startswith(b'HTTP/1.1 503') for g in got), [g[:40] for g in got]


@pytest.mark.parametrize('case', ['two_content_types', 'two_content_lengths', 'long_boundary', 'boundary_with_bad_characters', 'garbage'])
def test_malformed_requests_get_one_generic_400_and_are_counted(demo, case):
    "Issue 31 #5 and #7: duplicated headers, a boundary outside RFC 2046, or anything the HTTP parser rejects: one 400, counted, never a 500."
    url, proc, uploads, log = demo
    port = int(url.rsplit(':', 1)[1])
    body = b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: application/json\r\n\r\n{"x": 1}\r\n--b--\r\n'
    head = {'two_content_types': b'POST /gradio_api/process_recording HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n'
                                 b'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n' % len(body),
            'two_content_lengths': b'POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n'
                                   b'Content-Length: %d\r\nContent-Length: 5\r\n\r\n' % len(body),
            'long_boundary': upload_head(len(body), b'q' * 300).split(b'\r\n\r\n')[0] + b'\r\n\r\n',
            'boundary_with_bad_characters': upload_head(len(body), b'a\x01b;c').split(b'\r\n\r\n')[0] + b'\r\n\r\n',
            'garbage': b'POST /gradio_api/upload HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n'}[case]
    before = sum(refusals_counted(url).values())
    got, _ = answer(raw(port, head + body))
    assert got.startswith(b'HTTP/1.1 400'), got[:300]
    assert b'Traceback' not in got and b'"x": 1' not in got, got[:300]   # nothing echoed
    for _ in range(20):  # uvicorn's own 400s are counted from a worker thread
        if sum(refusals_counted(url).values()) == before + 1: break
        time.sleep(0.1)
    assert sum(refusals_counted(url).values()) == before + 1
    assert proc.poll() is None


def test_container_bombs_and_costly_formats_are_refused_before_decoding(demo):
    "Issue 31 #2 and #3: an ICO/CUR holding a large PNG is refused from its signature, never decoded; a WebP above its format's pixel limit is refused with the reason."
    from test_images import ico_holding   # tests/ is on sys.path (pytest's rootdir-relative import)
    url, proc, uploads, log = demo
    b = io.BytesIO(); Image.new('RGBA', (6000, 6000)).save(b, 'PNG')
    w = io.BytesIO(); Image.new('RGB', (4096, 4096), (20, 30, 40)).save(w, 'WEBP')
    paths = {'ico': upload(url, 'bomb.ico', ico_holding(b.getvalue())), 'cur': upload(url, 'bomb.cur', ico_holding(b.getvalue(), 2)),
             'webp_4096': upload(url, 'big.webp', w.getvalue())}
    answers = {}
    peak = rss_peak_during(proc, lambda: answers.update({k: predict(url, p) for k, p in paths.items()}))
    assert peak < 500, peak
    assert answers['ico'][0] == 'error' and 'ICO files are not accepted' in str(answers['ico'][1]), answers['ico']
    assert answers['cur'][0] == 'error' and 'CUR files are not accepted' in str(answers['cur'][1]), answers['cur']
    assert answers['webp_4096'][0] == 'error' and 'for WEBP' in str(answers['webp_4096'][1]), answers['webp_4096']


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


def test_a_full_upload_folder_refuses_then_frees_itself_oldest_first(tmp_path, monkeypatch):
    "Issue 31 #4: the folder's bytes are reserved as they are written (never above the cap); a full folder refuses uploads (503) and its sweeper deletes the oldest files within seconds, not minutes."
    from fastapi.testclient import TestClient
    from cifake_nb.app import build_demo, create_app
    monkeypatch.setenv('GRADIO_TEMP_DIR', str(tmp_path / 'g'))
    demo = build_demo(log_path=False, monitoring=False, show_examples=False)
    with TestClient(create_app(demo, max_folder_mb=1)) as tc:
        codes = [tc.post('/gradio_api/upload', files={'files': (f'{i}.png', os.urandom(300_000))}).status_code for i in range(4)]
        assert codes == [200, 200, 200, 503], codes   # 3 × 300 kB fit in 1 MiB, a 4th does not
        files = sorted((p for p in (tmp_path / 'g').rglob('*.png')), key=lambda p: p.name)
        assert [p.name for p in files] == ['0.png', '1.png', '2.png'] and sum(p.stat().st_size for p in files) <= 2**20
        for i, p in enumerate(files): os.utime(p, (time.time() - 60 + i,) * 2)   # a minute old, 0.png the oldest
        t0 = time.monotonic()
        while (code := tc.post('/gradio_api/upload', files={'files': ('new.png', os.urandom(300_000))}).status_code) != 200 and time.monotonic() - t0 < 20:
            time.sleep(0.5)
        assert code == 200 and time.monotonic() - t0 < 15, (code, time.monotonic() - t0)
        left = sorted(p.name for p in (tmp_path / 'g').rglob('*.png'))
        assert '0.png' not in left and 'new.png' in left, left   # the oldest went first
