#!/usr/bin/env python
"""Benchmark the served demo: API round trip through gradio_client, then a load test, and the server's RSS.

Starts `cifake-demo` (the same code path as the Docker image: uvicorn, /healthz, SQLite log on) in a
subprocess on a loopback port, then
1. sequential round trips `Client.predict(handle_file(img), api_name='/predict')`: p50/p90/p99 (target p50 ≤ 100 ms),
   with gradio_client's defaults and with `ssl_verify=False`. gradio_client 2.7 opens a new httpx client per
   call, which loads the CA certificates each time (~55 ms of CPU on the 2-core dev box) even for a plain
   http:// URL that never uses them; `ssl_verify=False` skips that (harmless without TLS). It also polls for
   results every 50 ms, which sets a floor under its latency;
2. the same call over Gradio's plain HTTP API (`/gradio_api/upload`, `/gradio_api/call/predict`, its SSE
   result) with one persistent httpx client: the protocol's cost without gradio_client's own CPU;
3. `--clients` concurrent clients for `--duration` s, each a thread with its own persistent httpx client
   speaking that HTTP API (upload, call, result: a full prediction each): requests/s, p50/p99, errors (target 0).
   (gradio_client spends ~60 ms of client CPU per call here, so 20 of them in one process measure the
   client, not the server);
4. the server's resident memory (RSS, its process tree) at start, after (1) and at the peak of (3) (target < 500 MB).
The clients share the machine with the server, so on a small machine the figures include their CPU use.

    python scripts/bench_app.py                      # 200 round trips, 20 clients × 60 s
    python scripts/bench_app.py --duration 10 --n-seq 50
    python scripts/bench_app.py --no-monitoring      # the same without /metrics, /drift and per-request features
    python scripts/bench_app.py --scrape-every 1     # with a Prometheus-like scrape of /metrics every second
"""
import argparse, os, platform, socket, statistics, subprocess, sys, tempfile, threading, time
from pathlib import Path

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
os.environ.setdefault('HF_HUB_OFFLINE', '1')

import httpx, numpy as np, psutil
from gradio_client import Client, handle_file

ROOT = Path(__file__).resolve().parents[1]
CIFAKE_TEST = ROOT.parent / 'shared' / 'cifake' / 'data' / 'test-00000-of-00001.parquet'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def sample_image(path: Path) -> Path:
    "Write the first CIFAKE test image (or a generated 32×32 JPEG without the data) to `path`."
    if CIFAKE_TEST.exists():
        import pyarrow.parquet as pq
        b = next(pq.ParquetFile(CIFAKE_TEST).iter_batches(batch_size=1, columns=['image'])).column('image')[0]['bytes'].as_py()
    else:
        import io
        from PIL import Image
        buf = io.BytesIO()
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(buf, 'JPEG')
        b = buf.getvalue()
    path.write_bytes(b)
    return path


def rss_mb(pid: int) -> float:
    "Resident memory of a process and its children, MiB."
    p = psutil.Process(pid)
    return sum(q.memory_info().rss for q in [p, *p.children(recursive=True)]) / 2**20


def pct(xs, q) -> float: return float(np.percentile(np.asarray(xs), q)) if xs else float('nan')


def start_server(port: int, args, log_db: Path) -> subprocess.Popen:
    cmd = [sys.executable, '-c', 'from cifake_nb.app import main; main()', '--host', '127.0.0.1', '--port', str(port),
           '--log-db', str(log_db), '--concurrency', str(args.concurrency)]
    if args.model_dir: cmd += ['--model-dir', args.model_dir]
    if args.no_monitoring: cmd += ['--no-monitoring']
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.time()
    while time.time() - t0 < 120:
        if proc.poll() is not None: sys.exit(f'server exited: {proc.stderr.read()}')
        try:
            if httpx.get(f'http://127.0.0.1:{port}/healthz', timeout=1).status_code == 200: return proc
        except httpx.TransportError: pass
        time.sleep(0.2)
    proc.kill()
    sys.exit('server did not answer /healthz within 120 s')


def round_trips(url: str, img: Path, n: int, **client_kw) -> list[float]:
    c = Client(url, verbose=False, **client_kw)
    for _ in range(5): c.predict(handle_file(str(img)), api_name='/predict')  # warm-up
    out = []
    for _ in range(n):
        t = time.perf_counter()
        c.predict(handle_file(str(img)), api_name='/predict')
        out.append((time.perf_counter() - t) * 1e3)
    return out


class HttpPredictor:
    "One client of Gradio's HTTP API: upload the file, call /predict, read the SSE result (a persistent connection)."
    def __init__(self, url: str, data: bytes):
        self.base, self.data, self.http = url.rstrip('/') + '/gradio_api', data, httpx.Client(timeout=60)

    def __call__(self) -> dict:
        import json
        paths = self.http.post(f'{self.base}/upload', files={'files': ('cifake.jpg', self.data, 'image/jpeg')})
        paths.raise_for_status()
        r = self.http.post(f'{self.base}/call/predict', json={'data': [{'path': paths.json()[0], 'meta': {'_type': 'gradio.FileData'}}]})
        r.raise_for_status()
        sse = self.http.get(f'{self.base}/call/predict/{r.json()["event_id"]}').text
        event = next((l[7:] for l in sse.splitlines() if l.startswith('event: ')), None)
        payload = next((l[6:] for l in sse.splitlines() if l.startswith('data: ')), 'null')
        if event != 'complete': raise RuntimeError(f'event {event!r}: {payload[:200]}')
        return json.loads(payload)[0]


def http_round_trips(url: str, img: Path, n: int) -> list[float]:
    call = HttpPredictor(url, img.read_bytes())
    for _ in range(5): call()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def load_test(url: str, img: Path, clients: int, duration: float, pid: int, scrape_every: float = 0) -> dict:
    lat, errors, lock, scrapes = [], [], threading.Lock(), []
    start = threading.Barrier(clients + 1 + bool(scrape_every))
    stop = threading.Event()
    def worker():
        call = HttpPredictor(url, img.read_bytes())
        start.wait()
        while not stop.is_set():
            t = time.perf_counter()
            try:
                res = call()
                assert res['label'] in ('REAL', 'FAKE'), res
            except Exception as e:
                with lock: errors.append(f'{type(e).__name__}: {e}')
            else:
                with lock: lat.append((time.perf_counter() - t) * 1e3)
    def scraper():  # what Prometheus does: GET /metrics every `scrape_every` s (a scrape also refreshes a stale drift check)
        http = httpx.Client(timeout=30)
        start.wait()
        while not stop.wait(scrape_every):
            t = time.perf_counter()
            r = http.get(url.rstrip('/') + '/metrics')
            if r.status_code == 200 and 'cifake_requests_total' in r.text: scrapes.append((time.perf_counter() - t) * 1e3)
            else: errors.append(f'/metrics answered {r.status_code}')
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    if scrape_every: threads.append(threading.Thread(target=scraper, daemon=True))
    for t in threads: t.start()
    start.wait()
    t0 = time.perf_counter()
    peak = 0.0
    while time.perf_counter() - t0 < duration:
        peak = max(peak, rss_mb(pid))
        time.sleep(0.5)
    stop.set()
    for t in threads: t.join(60)
    wall = time.perf_counter() - t0
    return dict(requests=len(lat), errors=len(errors), first_errors=errors[:3], rps=len(lat) / wall,
                p50=pct(lat, 50), p99=pct(lat, 99), peak_rss=peak, wall=wall, scrapes=len(scrapes), scrape_p50=pct(scrapes, 50))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--n-seq', type=int, default=200, help='sequential round trips (default 200)')
    ap.add_argument('--clients', type=int, default=20, help='concurrent clients in the load test (default 20)')
    ap.add_argument('--duration', type=float, default=60, help='load test length, s (default 60)')
    ap.add_argument('--concurrency', type=int, default=4, help="server's --concurrency (default 4)")
    ap.add_argument('--model-dir', default=None, help='model folder (default: the shipped model)')
    ap.add_argument('--no-monitoring', action='store_true', help='serve with cifake-demo --no-monitoring (no /metrics, /drift, features)')
    ap.add_argument('--scrape-every', type=float, default=0, help='scrape /metrics every S seconds during the load test (default 0: never)')
    args = ap.parse_args()
    print(f'monitoring {"off" if args.no_monitoring else "on"}, /metrics scraped {"every %g s" % args.scrape_every if args.scrape_every else "never"}')
    print(f'machine: {platform.machine()}, {psutil.cpu_count()} logical CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, '
          f'load average {os.getloadavg()[0]:.1f} before the run; python {platform.python_version()}', flush=True)
    with tempfile.TemporaryDirectory() as d:
        port, img = free_port(), sample_image(Path(d) / 'cifake.jpg')
        proc = start_server(port, args, Path(d) / 'log.sqlite')
        url = f'http://127.0.0.1:{port}/'
        try:
            rss0 = rss_mb(proc.pid)
            seq = round_trips(url, img, args.n_seq)
            rss1 = rss_mb(proc.pid)
            print(f'round trip via gradio_client, {args.n_seq} sequential calls: p50 {pct(seq, 50):.1f} ms, '
                  f'p90 {pct(seq, 90):.1f} ms, p99 {pct(seq, 99):.1f} ms, mean {statistics.mean(seq):.1f} ms (target p50 ≤ 100 ms)', flush=True)
            nov = round_trips(url, img, args.n_seq, ssl_verify=False)
            print(f'round trip via gradio_client(ssl_verify=False), {args.n_seq} sequential calls: p50 {pct(nov, 50):.1f} ms, '
                  f'p90 {pct(nov, 90):.1f} ms, p99 {pct(nov, 99):.1f} ms', flush=True)
            raw = http_round_trips(url, img, args.n_seq)
            print(f'round trip via the HTTP API (httpx), {args.n_seq} sequential calls: p50 {pct(raw, 50):.1f} ms, '
                  f'p90 {pct(raw, 90):.1f} ms, p99 {pct(raw, 99):.1f} ms', flush=True)
            r = load_test(url, img, args.clients, args.duration, proc.pid, args.scrape_every)
            print(f'load (HTTP API): {args.clients} clients × {r["wall"]:.0f} s: {r["requests"]} requests, {r["rps"]:.1f} req/s, '
                  f'p50 {r["p50"]:.0f} ms, p99 {r["p99"]:.0f} ms, errors {r["errors"]} (target 0)', flush=True)
            if r['errors']: print('  first errors:', *r['first_errors'], sep='\n    ')
            if args.scrape_every: print(f'  /metrics scraped {r["scrapes"]} times during the load, p50 {r["scrape_p50"]:.1f} ms')
            rss2 = rss_mb(proc.pid)
            print(f'server RSS: {rss0:.0f} MiB at start, {rss1:.0f} MiB after the round trips, peak {max(r["peak_rss"], rss2):.0f} MiB '
                  f'under load (target < 500 MB)')
            import sqlite3
            n_log = sqlite3.connect(Path(d) / 'log.sqlite').execute('SELECT COUNT(*) FROM predictions').fetchone()[0]
            print(f'log rows written: {n_log}')
        finally:
            proc.terminate()
            try: proc.wait(15)
            except subprocess.TimeoutExpired: proc.kill()


if __name__ == '__main__': main()
