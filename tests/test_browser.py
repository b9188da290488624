"""The demo in a real browser: headless Chromium (the system's /usr/bin/chromium, driven by Playwright)
uploads images and checks that the verdict, the heatmap, the error pop-up and the batch table appear.
It serves the app as `cifake-demo` does (`create_app`: the request guard in front of Gradio). Screenshots go to
tests/artifacts/ (the demo with an example clicked is committed there, to be looked at, and rewritten only when the page
looks different, so a test run leaves git clean). Skipped when /usr/bin/chromium is missing:
install it with `apt-get install -y chromium` (never `playwright install`).

The rendered docs site (_proc/_docs, built by `make docs`) is looked at the same way: the home and Results pages at
desktop (1280 px) and phone (390 px) widths, kept as tests/artifacts/site_{home,results}_{1280,390}.png when they look
different; skipped, with one line, when the site is not built.
"""
import io, os, re, socket
from pathlib import Path

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np
import pytest
from PIL import Image

CHROMIUM = Path('/usr/bin/chromium')
ARTIFACTS = Path(__file__).resolve().parent / 'artifacts'
SITE = Path(__file__).resolve().parents[1] / '_proc' / '_docs'   # make docs renders the site here (settings.ini doc_path)
CIFAKE_TEST = Path(__file__).resolve().parents[2] / 'shared' / 'cifake' / 'data' / 'test-00000-of-00001.parquet'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-sync', '--no-first-run']

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f'{CHROMIUM} is missing: `apt-get install -y chromium` to run browser tests')
sync_api = pytest.importorskip('playwright.sync_api', reason='the playwright Python package is not installed')


def screenshot_changed(png: bytes, path: Path, tol: int = 24, frac: float = 1e-4) -> bool:
    """Whether `png` shows something other than the image at `path`: another size, or over `frac` of its pixels off by more than
    `tol` levels. Two runs of the demo's screenshot (1280×1100) differed in 50 pixels by at most 8 levels: not a change."""
    if not path.exists(): return True
    a, b = (np.asarray(Image.open(io.BytesIO(x)).convert('RGB'), dtype=np.int16) for x in (png, path.read_bytes()))
    return a.shape != b.shape or float((np.abs(a - b).max(-1) > tol).mean()) > frac


def keep_screenshot(png: bytes, path: Path) -> None:
    """Write a committed screenshot only when the page looks different: a re-run that differs by anti-aliasing and font
    rendering leaves the committed file (and so git) as it was."""
    path.parent.mkdir(exist_ok=True)
    if screenshot_changed(png, path): path.write_bytes(png)


def cifake_images(n: int) -> list[bytes]:
    "The first `n` CIFAKE test images (JPEG bytes), or generated 32×32 JPEGs without the data."
    if CIFAKE_TEST.exists():
        import pyarrow.parquet as pq
        batch = next(pq.ParquetFile(CIFAKE_TEST).iter_batches(batch_size=n, columns=['image']))
        return [x['bytes'] for x in batch.column('image').to_pylist()]
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, 'JPEG')
        out.append(buf.getvalue())
    return out


@pytest.fixture(scope='module')
def demo_url(tmp_path_factory):
    from cifake_nb.app import build_demo
    from cifake_nb.inference import Predictor
    import threading, time, uvicorn
    from cifake_nb.app import create_app
    demo = build_demo(Predictor(), log_path=tmp_path_factory.mktemp('browser') / 'log.sqlite')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(demo), host='127.0.0.1', port=port, log_level='warning'))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    for _ in range(400):
        if srv.started: break
        time.sleep(0.05)
    yield f'http://127.0.0.1:{port}/', demo
    srv.should_exit = True
    t.join(10)


@pytest.fixture(scope='module')
def page(demo_url):
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={'width': 1280, 'height': 1100})
        pg.set_default_timeout(30_000)
        pg.goto(demo_url[0])
        pg.wait_for_selector('#verdict')
        yield pg
        browser.close()


def test_upload_shows_verdict_and_heatmap(page, demo_url, tmp_path):
    good = cifake_images(1)[0]
    f = tmp_path / 'cifake_test_0.jpg'
    f.write_bytes(good)
    expected = demo_url[1].service.predictor.predict(good)
    page.locator('input[type=file]').first.set_input_files(str(f))
    heat = page.locator('#heatmap img')
    heat.wait_for(state='visible')
    sync_api.expect(page.locator('#verdict')).to_contain_text(expected.label)
    sync_api.expect(page.locator('#seen img')).to_be_visible()
    box = heat.bounding_box()
    assert box['width'] >= 200 and box['height'] >= 200, box  # shown large
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / 'demo_one_image.png'), full_page=True, animations='disabled')


def test_bad_upload_shows_error(page, demo_url, tmp_path):
    page.goto(demo_url[0])
    page.wait_for_selector('#verdict')  # a fresh page: the upload box is empty again
    f = tmp_path / 'notes.png'
    f.write_bytes(b'this is text, not a PNG')
    page.locator('input[type=file]').first.set_input_files(str(f))
    sync_api.expect(page.get_by_text(re.compile('not a recognised image format'))).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / 'demo_bad_upload.png'), full_page=True, animations='disabled')


def test_several_images_tab(page, demo_url, tmp_path):
    page.goto(demo_url[0])
    page.wait_for_selector('#verdict')
    page.get_by_role('tab', name='Several images').click()
    paths = []
    for i, b in enumerate(cifake_images(4) + [b'GIF89a truncated']):
        p = tmp_path / f'img_{i}.{"gif" if i == 4 else "jpg"}'
        p.write_bytes(b)
        paths.append(str(p))
    page.locator('input[type=file][multiple]').set_input_files(paths)
    sync_api.expect(page.get_by_test_id('cell-4-0')).to_contain_text('img_4.gif')  # the bad file's row in the table
    sync_api.expect(page.get_by_test_id('cell-4-1')).to_contain_text('error')
    sync_api.expect(page.get_by_test_id('cell-4-4')).to_contain_text('its GIF header cannot be read')  # a truncated GIF: named as such
    for i in range(4): sync_api.expect(page.get_by_text(re.compile(rf'img_{i}\.jpg: (REAL|FAKE) '))).to_be_visible()  # gallery captions
    page.screenshot(path=str(ARTIFACTS / 'demo_several_images.png'), full_page=True, animations='disabled')


def test_about_tab(page, demo_url):
    page.goto(demo_url[0])
    page.wait_for_selector('#verdict')
    page.get_by_role('tab', name='About the model').click()
    version = demo_url[1].service.predictor.version
    sync_api.expect(page.get_by_text(version).first).to_be_visible()
    sync_api.expect(page.get_by_text('Model card')).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / 'demo_about.png'), full_page=True, animations='disabled')


def test_example_click_and_upload_another(page, demo_url, tmp_path):
    "A visitor without an image clicks an example; then uploads another image without clearing the first."
    from cifake_nb.app import EXAMPLES_DIR, example_label, load_examples
    page.goto(demo_url[0])
    page.wait_for_selector('#verdict')
    examples = load_examples()
    assert examples, 'no examples shipped'
    first = next(e for e in examples if e['label'] == 'FAKE' and not e.get('edit'))
    expected = demo_url[1].service.predictor.predict(EXAMPLES_DIR / first['file'])
    page.get_by_text(example_label(first), exact=True).click()
    sync_api.expect(page.locator('#verdict')).to_contain_text(expected.label)
    sync_api.expect(page.locator('#warnings')).to_contain_text(f"True label of this example: {first['label']}")
    sync_api.expect(page.locator('#upload_preview img')).to_be_visible()
    keep_screenshot(page.screenshot(full_page=True, animations='disabled'), ARTIFACTS / 'demo_example_clicked.png')
    other = next(e for e in examples if e['label'] == 'REAL')
    want = demo_url[1].service.predictor.predict(EXAMPLES_DIR / other['file'])
    f = tmp_path / 'another.jpg'
    f.write_bytes((EXAMPLES_DIR / other['file']).read_bytes())
    page.get_by_test_id('Upload another image-upload-button').set_input_files(str(f))   # the box still holds the example
    sync_api.expect(page.locator('#verdict')).to_contain_text(want.label)
    sync_api.expect(page.locator('#warnings')).not_to_contain_text('True label')   # a visitor's own file has no known label


def test_screenshot_kept_unless_the_page_looks_different(tmp_path):
    "keep_screenshot: rendering noise leaves the committed file as it was; a changed region, a new size or no file rewrites it."
    def png(a):
        b = io.BytesIO(); Image.fromarray(a).save(b, format='PNG'); return b.getvalue()
    base = np.random.default_rng(0).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    path = tmp_path / 'shot.png'
    assert screenshot_changed(png(base), path)   # no file yet
    keep_screenshot(png(base), path)
    before = path.read_bytes()
    noisy = base.copy(); noisy[::10, ::10] ^= 0x07   # 1% of the pixels off by up to 7 levels: anti-aliasing
    noisy[100, 100] ^= 0xFF   # and one pixel fully (a caret)
    shaded = np.clip(base.astype(int) + 10, 0, 255).astype(np.uint8)   # every pixel off by a few levels: font smoothing
    for other in (noisy, shaded):
        keep_screenshot(png(other), path)
        assert path.read_bytes() == before
    changed = base.copy(); changed[50:56, 50:54] = 0   # 24 pixels (0.04%) are different: a digit of a verdict
    assert screenshot_changed(png(changed), path) and screenshot_changed(png(base[:150]), path)
    keep_screenshot(png(changed), path)
    assert path.read_bytes() == png(changed)


@pytest.fixture(scope='module')
def site_browser():
    "The rendered docs site served over HTTP (as a reader gets it) and a headless Chromium; skipped when the site is not built."
    if not (SITE / 'index.html').exists(): pytest.skip(f'the docs site is not built ({SITE.relative_to(SITE.parents[1])}): `make docs` builds it')
    import functools, threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    quiet = type('Quiet', (SimpleHTTPRequestHandler,), {'log_message': lambda *a: None})
    srv = ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(quiet, directory=str(SITE)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield f'http://127.0.0.1:{srv.server_address[1]}/', browser
        browser.close()
    srv.shutdown()


@pytest.mark.parametrize('width', [1280, 390])
@pytest.mark.parametrize('name, path, heading', [('home', 'index.html', 'cifake_nb'), ('results', 'results/index.html', 'Results')])
def test_site_pages_on_desktop_and_phone(site_browser, name, path, heading, width):
    "The home and Results pages as a reader sees them: the title shows and nothing is wider than the screen; screenshots kept."
    url, browser = site_browser
    pg = browser.new_page(viewport={'width': width, 'height': 900})
    try:
        pg.goto(url + path, wait_until='load')
        sync_api.expect(pg.locator('h1').first).to_contain_text(heading)
        # text and figures only: a wide table scrolls sideways in its own box (Quarto's tables are display: block, overflow-x: auto)
        wide = pg.evaluate('''() => [...document.querySelectorAll('main p, main h1, main h2, main h3, main figure, main img')]
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map(e => e.tagName + ': ' + e.textContent.slice(0, 60))''')
        assert not wide, f'{path} at {width} px: text or figures run off the screen: {wide[:5]}'
        keep_screenshot(pg.screenshot(full_page=True, animations='disabled'), ARTIFACTS / f'site_{name}_{width}.png')
    finally:
        pg.close()
