#!/usr/bin/env python
"""Peak memory of the served demo per allowed image format, at the size limits (issue 31).

Starts `cifake-demo` (uvicorn, the request guard, SQLite log on; `--concurrency 4`, the default) on a loopback port,
then for each allowed format (`cifake_nb.images.ALLOWED_FORMATS`) sends the costliest images it accepts: the
largest side within the format's pixel limit (`pixel_limit(fmt, DEMO_MAX_PIXELS)`: 4096² for most, lower for WebP)
and within the 20 MB file limit, in the modes that cost its decoder most (RGBA, 16-bit, palette with transparency,
lossless). Before each request the server's peak-RSS mark is reset (`/proc/PID/clear_refs`), so each row is
the server's own peak RSS (VmHWM) while it answered (or refused) that one image. Then the worst image is sent 8
times at once, then the 8 costliest images at once, and the peaks printed. The promise is < 500 MB for every figure; this script prints, it asserts nothing.

    python scripts/bench_decode_memory.py
"""
import io, json, os, platform, sys, tempfile, threading, time
from argparse import Namespace
from pathlib import Path

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
os.environ.setdefault('HF_HUB_OFFLINE', '1')
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx, numpy as np
from PIL import Image
from bench_app import free_port, start_server
from cifake_nb.app import DEMO_MAX_PIXELS
from cifake_nb.images import ALLOWED_FORMATS, pixel_limit

MAX_FILE = 20 * 2**20  # cifake-demo's default --max-file-mb


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def noisy(side: int, mode: str) -> Image.Image:
    "Random pixels (incompressible: the worst for every decoder's data path) in `mode`."
    a = np.random.default_rng(0).integers(0, 256, (side, side, 4), dtype=np.uint8)
    return Image.fromarray(a, 'RGBA').convert(mode)


def cases() -> dict[str, tuple[str, bytes]]:
    "`{name: (format, bytes)}`: per allowed format, its costliest in-limit images."
    side = {f: int(pixel_limit(f, DEMO_MAX_PIXELS) ** 0.5) for f in ALLOWED_FORMATS}
    pal = Image.new('P', (side['PNG'],) * 2, 3)
    pal.putpalette([i % 256 for i in range(768)])
    out = {
        'JPEG RGB q95 (noise)': ('JPEG', encode(noisy(side['JPEG'], 'RGB'), 'JPEG', quality=95)),
        'JPEG CMYK': ('JPEG', encode(Image.new('CMYK', (side['JPEG'],) * 2, (10, 20, 30, 40)), 'JPEG')),
        'JPEG progressive': ('JPEG', encode(Image.new('RGB', (side['JPEG'],) * 2, (10, 20, 30)), 'JPEG', progressive=True)),
        'PNG RGBA': ('PNG', encode(Image.new('RGBA', (side['PNG'],) * 2, (10, 200, 30, 128)), 'PNG')),
        'PNG 16-bit grey': ('PNG', encode(Image.new('I;16', (side['PNG'],) * 2, 3000), 'PNG')),
        'PNG palette + transparency': ('PNG', encode(pal, 'PNG', transparency=3)),
        'PNG RGBA 16384x1024': ('PNG', encode(Image.new('RGBA', (16384, 1024), (1, 2, 3, 4)), 'PNG')),
        'WEBP lossy RGB': ('WEBP', encode(noisy(side['WEBP'], 'RGB'), 'WEBP', quality=90)),
        'WEBP lossless RGBA': ('WEBP', encode(Image.new('RGBA', (side['WEBP'],) * 2, (10, 200, 30, 128)), 'WEBP', lossless=True)),
        'WEBP lossy RGBA (alpha)': ('WEBP', encode(Image.new('RGBA', (side['WEBP'],) * 2, (10, 200, 30, 128)), 'WEBP')),
        'GIF palette': ('GIF', encode(pal, 'GIF')),
        'BMP 8-bit grey': ('BMP', encode(Image.new('L', (side['BMP'],) * 2, 7), 'BMP')),
        'BMP 32-bit RGBA (20 MB)': ('BMP', encode(Image.new('RGBA', (2280, 2280), (1, 2, 3, 4)), 'BMP')),
    }
    return {k: v for k, v in out.items() if len(v[1]) <= MAX_FILE}


def peak_mb(pid: int) -> float:
    "The process's peak RSS since the last reset (VmHWM), MiB."
    return int(Path(f'/proc/{pid}/status').read_text().split('VmHWM:')[1].split()[0]) / 1024


def rss_now_mb(pid: int) -> float:
    return int(Path(f'/proc/{pid}/status').read_text().split('VmRSS:')[1].split()[0]) / 1024


def reset_peak(pid: int) -> None:
    Path(f'/proc/{pid}/clear_refs').write_text('5')  # resets VmHWM to the current RSS


def predict(http: httpx.Client, base: str, name: str, data: bytes) -> str:
    "Upload and predict one file; 'answered' or the refusal's message."
    path = http.post(f'{base}/upload', files={'files': (name, data)}).json()[0]
    r = http.post(f'{base}/call/predict', json={'data': [{'path': path, 'meta': {'_type': 'gradio.FileData'}}]})
    sse = http.get(f'{base}/call/predict/{r.json()["event_id"]}').text
    event = [l[7:] for l in sse.splitlines() if l.startswith('event: ')][-1]   # the last: heartbeats come first on a long wait
    payload = [l[6:] for l in sse.splitlines() if l.startswith('data: ')][-1]
    return 'answered' if event == 'complete' else f'refused: {str(json.loads(payload))[:90]}'


def at_once(pid: int, base: str, what: str, rows: list) -> float:
    "Send the images of `rows` (`(peak, name, bytes)`) at once, each from its own client; print and return the server's peak RSS, MiB."
    reset_peak(pid)
    outs = []
    def one(name, data):
        with httpx.Client(timeout=300) as h: outs.append(predict(h, base, f'{len(outs)}.bin', data))
    threads = [threading.Thread(target=one, args=(name, data)) for _, name, data in rows]
    t0 = time.perf_counter()
    for t in threads: t.start()
    for t in threads: t.join()
    peak = peak_mb(pid)
    print(f'{what}: peak RSS {peak:.0f} MiB in {time.perf_counter() - t0:.1f} s; {sum(o == "answered" for o in outs)} answered'
          + ''.join(f'; {o}' for o in sorted(set(outs) - {'answered'})))
    return peak


def main():
    with tempfile.TemporaryDirectory() as d:
        os.environ['GRADIO_TEMP_DIR'] = str(Path(d) / 'uploads')
        port = free_port()
        proc = start_server(port, Namespace(concurrency=4, model_dir=None, no_monitoring=False), Path(d) / 'log.sqlite')
        base = f'http://127.0.0.1:{port}/gradio_api'
        try:
            with httpx.Client(timeout=120) as http:
                predict(http, base, 'warm.png', encode(Image.new('RGB', (32, 32)), 'PNG'))
                print(f'# cifake-demo peak RSS per image (VmHWM of the server process), {platform.processor() or platform.machine()}, '
                      f'{os.cpu_count()} CPUs, Python {platform.python_version()}')
                print(f'server RSS after one warm-up prediction: {rss_now_mb(proc.pid):.0f} MiB (its peak while starting: {peak_mb(proc.pid):.0f} MiB)')
                print('| image | format | side (px) | file MB | outcome | RSS before MiB | peak RSS MiB |\n|---|---|---|---|---|---|---|')
                rows = []
                for name, (fmt, data) in cases().items():
                    size = Image.open(io.BytesIO(data)).size
                    reset_peak(proc.pid)
                    before = rss_now_mb(proc.pid)
                    outcome = predict(http, base, f'x.{fmt.lower()}', data)
                    rows.append((peak_mb(proc.pid), name, data))
                    print(f'| {name} | {fmt} | {size[0]}×{size[1]} | {len(data) / 1e6:.1f} | {outcome} | {before:.0f} | {rows[-1][0]:.0f} |', flush=True)
            worst = max(rows, key=lambda r: r[0])
            costliest = sorted(rows, key=lambda r: -r[0])[:8]
            eights = [at_once(proc.pid, base, f'8 at once of the worst ({worst[1]})', [worst] * 8),
                      at_once(proc.pid, base, '8 at once, the 8 costliest images', costliest)]
            figures = [r[0] for r in rows] + eights
            limit = 500e6 / 2**20  # 500 MB in MiB
            print(f'largest figure {max(figures):.0f} MiB: {"every figure under" if max(figures) < limit else "ABOVE"} the 500 MB ({limit:.0f} MiB) promise')
        finally:
            proc.terminate()
            proc.wait(15)


if __name__ == '__main__': main()
