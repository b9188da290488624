"""The demo served for real: a live Gradio server on a loopback port, called with `gradio_client`.

A good CIFAKE image, then more than ten kinds of bad upload; each gets a readable error or a sane
answer, the server keeps answering, and every request that reached it is in the SQLite log.
Also: the served app (`create_app`, what `cifake-demo` and Docker run) answers `/healthz`, the
upload route itself refuses oversize files, and the console script starts and serves.
"""
import io, os, socket, struct, subprocess, sys, threading, time, zlib
from pathlib import Path

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
os.environ.setdefault('HF_HUB_OFFLINE', '1')

import httpx
import numpy as np
import pytest
from PIL import Image
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from cifake_nb.app import build_demo, create_app, served_model_dir
from cifake_nb.predlog import PredictionLog
from cifake_nb.inference import Predictor, default_model_dir

ROOT = Path(__file__).resolve().parents[1]
CIFAKE_TEST = ROOT.parent / 'shared' / 'cifake' / 'data' / 'test-00000-of-00001.parquet'
MAX_FILE_MB = 2  # a small limit keeps the oversize case cheap


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def cifake_jpeg() -> bytes:
    "The first image of the CIFAKE test split (original JPEG bytes), or a generated 32×32 JPEG without the data."
    if CIFAKE_TEST.exists():
        import pyarrow.parquet as pq
        batch = next(pq.ParquetFile(CIFAKE_TEST).iter_batches(batch_size=1, columns=['image']))
        return batch.column('image')[0]['bytes'].as_py()
    yy, xx = np.mgrid[0:32, 0:32]
    return _save(Image.fromarray(np.stack([yy * 8, xx * 8, (yy + xx) * 4], -1).astype(np.uint8)), 'JPEG', quality=95)


def png_declaring(w: int, h: int) -> bytes:
    "A PNG whose header declares w×h 1-bit pixels, with one row of data: a decompression bomb in ~100 bytes."
    def chunk(tag, data): return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 1, 0, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(b'\0' * (1 + (w + 7) // 8))) + chunk(b'IEND', b''))


def bad_uploads(good: bytes) -> dict[str, tuple[str, bytes, str]]:
    "name → (file name, bytes, expectation): 'ok' for a sane answer, else a substring of the error message."
    rgb = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    frames = [Image.fromarray(np.full((32, 32, 3), c, np.uint8)) for c in (0, 128, 255)]
    gif = io.BytesIO()
    frames[0].save(gif, 'GIF', save_all=True, append_images=frames[1:], duration=100, loop=0)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32"><rect width="32" height="32" fill="red"/></svg>'
    zip_ = b'PK\x03\x04' + b'\0' * 200
    return {
        'non_image_text':  ('notes.txt', b'hello, this is not an image\n' * 10, 'not a recognised image format'),
        'truncated_jpeg':  ('cut.jpg', good[:len(good) // 2], 'truncated'),
        'empty_file':      ('empty.jpg', b'', 'empty'),
        'bomb_png':        ('bomb.png', png_declaring(20_000, 20_000), 'too many pixels'),
        'too_many_pixels': ('large.png', png_declaring(8_000, 6_000), "above this demo's limit"),
        'svg_text':        ('vector.svg', svg, 'not a recognised image format'),
        'zip_archive':     ('images.jpg', zip_, 'not a recognised image format'),
        'one_pixel':       ('dot.png', _save(Image.new('RGB', (1, 1), (200, 10, 10)), 'PNG'), 'ok'),
        'png_16bit':       ('deep.png', _save(Image.fromarray(np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)), 'PNG'), 'ok'),
        'cmyk_jpeg':       ('print.jpg', _save(Image.fromarray(rgb).convert('CMYK'), 'JPEG'), 'ok'),
        'animated_gif':    ('anim.gif', gif.getvalue(), 'ok'),
        'rgba_png':        ('alpha.png', _save(Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])), 'PNG'), 'ok'),
        'png_named_jpg':   ('really_png.jpg', _save(Image.fromarray(rgb), 'PNG'), 'ok'),
    }


@pytest.fixture(scope='module')
def predictor():
    from cifake_nb.inference import Predictor
    return Predictor()


@pytest.fixture(scope='module')
def good() -> bytes: return cifake_jpeg()


@pytest.fixture(scope='module')
def server(predictor, tmp_path_factory):
    "The demo launched as `demo.launch(prevent_thread_lock=True)` on a free loopback port."
    d = tmp_path_factory.mktemp('app')
    demo = build_demo(predictor, log_path=d / 'log.sqlite', max_file_mb=MAX_FILE_MB)
    port = free_port()
    demo.launch(server_name='127.0.0.1', server_port=port, prevent_thread_lock=True, quiet=True,
                max_file_size=demo.service.max_bytes)
    client = Client(f'http://127.0.0.1:{port}/', verbose=False)
    yield demo, client, d
    demo.close()


def call(server, name: str, data: bytes):
    demo, client, d = server
    p = d / name
    p.write_bytes(data)
    return client.predict(handle_file(str(p)), api_name='/predict')


def check_result(res: dict, w: int, h: int):
    assert set(res) >= {'label', 'p_fake', 'uncertain', 'warnings', 'model_version', 'width', 'height', 'latency_ms', 'sha256'}, res
    assert res['label'] in ('REAL', 'FAKE') and 0.0 <= res['p_fake'] <= 1.0, res
    assert (res['width'], res['height']) == (w, h), res
    assert isinstance(res['warnings'], list) and res['latency_ms'] > 0


def test_good_image(server, good):
    res = call(server, 'cifake.jpg', good)
    check_result(res, 32, 32)
    assert res['model_version'] == server[0].service.predictor.version


@pytest.mark.parametrize('kind', list(bad_uploads(b'\xff\xd8' + b'\0' * 100)))
def test_bad_upload_then_good(server, good, kind):
    name, data, expect = bad_uploads(good)[kind]
    if expect == 'ok':
        res = call(server, name, data)
        w, h = Image.open(io.BytesIO(data)).size
        check_result(res, w, h)
        if kind == 'one_pixel': assert res['warnings'], 'a 1×1 image must be flagged as off-distribution'
    else:
        with pytest.raises(AppError) as e: call(server, name, data)
        assert expect in str(e.value), f'{kind}: {e.value}'
    check_result(call(server, 'again.jpg', good), 32, 32)  # the app keeps serving


def test_oversize_file_refused(server, good):
    "Above the limit the client refuses to upload (it reads the server's limit), and so does the server."
    demo, client, d = server
    big = d / 'huge.jpg'
    big.write_bytes(os.urandom(MAX_FILE_MB * 2**20 + 1000))
    with pytest.raises(ValueError, match='exceeds the maximum file size'):
        client.predict(handle_file(str(big)), api_name='/predict')
    r = httpx.post(f'{client.src.rstrip("/")}/gradio_api/upload', files={'files': ('huge.jpg', big.read_bytes())})
    assert r.status_code == 413, (r.status_code, r.text[:200])
    check_result(call(server, 'again.jpg', good), 32, 32)


def test_log_has_rows(server, good):
    demo, client, d = server
    n0 = len(demo.service.log)
    call(server, 'logged.jpg', good)
    with pytest.raises(AppError): call(server, 'logged.txt', b'not an image')
    rows = PredictionLog(d / 'log.sqlite').rows(last=2)  # a second connection sees the server's rows
    assert len(demo.service.log) == n0 + 2
    ok, bad = rows
    assert ok['error'] is None and ok['label'] in ('REAL', 'FAKE') and ok['width'] == 32 and ok['n_bytes'] == len(good)
    assert len(ok['sha256']) == 64 and ok['latency_ms'] > 0 and ok['model_version'] and ok['source'] == 'api'
    assert 'not a recognised image format' in bad['error'] and bad['label'] is None
    assert len(PredictionLog(d / 'log.sqlite').rows()) >= 2 * len(bad_uploads(good))


@pytest.fixture(scope='module')
def served_app(predictor, tmp_path_factory):
    "The FastAPI app of `create_app` (what `cifake-demo` serves) under uvicorn in a thread."
    import uvicorn
    demo = build_demo(predictor, log_path=tmp_path_factory.mktemp('served') / 'log.sqlite', max_file_mb=MAX_FILE_MB)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(demo), host='127.0.0.1', port=port, log_level='warning'))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    for _ in range(200):
        if srv.started: break
        time.sleep(0.05)
    yield f'http://127.0.0.1:{port}'
    srv.should_exit = True
    t.join(10)


def test_healthz_and_api_on_served_app(served_app, predictor, good, tmp_path):
    r = httpx.get(f'{served_app}/healthz')
    assert r.status_code == 200, r.text
    h = r.json()
    assert h['status'] == 'ok' and h['model_version'] == predictor.version and h['log']['ok'], h
    assert httpx.get(f'{served_app}/').status_code == 200
    p = tmp_path / 'a.jpg'
    p.write_bytes(good)
    check_result(Client(served_app, verbose=False).predict(handle_file(str(p)), api_name='/predict'), 32, 32)
    r = httpx.post(f'{served_app}/gradio_api/upload', files={'files': ('big.jpg', b'\0' * (MAX_FILE_MB * 2**20 + 1))})
    assert r.status_code == 413, r.status_code


def test_console_script_serves(tmp_path):
    "`cifake-demo` (the `main` entry point) honours $PORT, binds 0.0.0.0 then, answers /healthz, and serves the copy `served_model_dir` picks for this CPU, saying which."
    port = free_port()
    env = {**os.environ, 'PORT': str(port), 'CIFAKE_LOG_DB': str(tmp_path / 'log.sqlite')}
    proc = subprocess.Popen([sys.executable, '-c', 'from cifake_nb.app import main; main()'], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(240):
            if proc.poll() is not None: break
            try:
                r = httpx.get(f'http://127.0.0.1:{port}/healthz', timeout=1)
                if r.status_code == 200: break
            except httpx.TransportError: time.sleep(0.25)
        assert proc.poll() is None, proc.stdout.read()
        assert r.status_code == 200 and r.json()['status'] == 'ok'
        served, why = served_model_dir()   # the shipped int8 sibling on a CPU with VNNI, float32 elsewhere
        want = Predictor(served).version
        assert r.json()['model_version'] == want and ('int8' in want) == (served == default_model_dir() / 'int8'), (r.json(), want)
    finally:
        proc.terminate()
        try: out = proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0]
    assert 'serving on http://0.0.0.0:' in out and f'cifake-demo: model {want} ({why})' in out, out
