#!/usr/bin/env python
"""Load-test a fleet of demo replicas with locust (scripts/locustfile.py) and print its figures.

Starts `--replicas` N copies of cifake-demo from this checkout on loopback ports (each with its own SQLite log, or all
on `--log-db`), or takes `--url` of replicas already running here, then runs locust headless against them (users
spread round-robin over the replicas, each a client of Gradio's HTTP API as in scripts/bench_app.py) and prints
- per replica and for the fleet: predictions, requests/s, p50/p99 (from locust's response-time histogram), errors;
- peak RSS per replica (its process tree, sampled every 0.5 s; for `--url`, the process listening on that port when it
  is on this machine);
- when it knows the log: rows written against predictions answered (the replicas' own /metrics count and the
  clients' count), after the load has settled and again after the replicas it started have stopped (a replica that
  batches its writes flushes on shutdown).
The clients run on the same machine as the replicas, so on a small machine the figures include locust's CPU.

    python scripts/bench_fleet.py --replicas 1 --users 2 --duration 20           # the smallest run
    python scripts/bench_fleet.py --replicas 2 --users 8 --duration 60
    python scripts/bench_fleet.py --replicas 2 --log-db postgresql://cifake:...@127.0.0.1:5432/cifake   # one shared store
    python scripts/bench_fleet.py --url http://127.0.0.1:7861 --url http://127.0.0.1:7862 --log-db <its log>

Exit status: 0 when the run completed (whatever its figures), 2 for a bad option, a replica that would not start or a
load test locust refused."""
import argparse, json, os, platform, signal, subprocess, sys, tempfile, threading, time
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
os.environ.setdefault('HF_HUB_OFFLINE', '1')

import httpx, psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_app import free_port, rss_mb  # noqa: E402  (scripts/, not a package)

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = ROOT / 'scripts' / 'locustfile.py'


def fail(msg: str):
    print(f'bench_fleet: {msg}', file=sys.stderr, flush=True)
    raise SystemExit(2)


def is_postgres(db: str) -> bool: return db.startswith(('postgresql://', 'postgres://'))


def shown(db: str) -> str:
    "A log's name for printing: a PostgreSQL URL without its password."
    if not is_postgres(db): return db
    u = urlsplit(db)
    return u._replace(netloc=f'{u.username}:***@{u.hostname}:{u.port}' if u.password else u.netloc).geturl()


def tail(path: Path, n: int = 15) -> str:
    try: return '\n'.join(path.read_text(errors='replace').splitlines()[-n:])
    except OSError: return '(no log)'


# ---------------------------------------------------------------- replicas
class Replica:
    "One demo server: one we started (`proc`, its log) or one already running at `url`."
    def __init__(self, url: str, proc: subprocess.Popen | None = None, log: Path | None = None, db: str | None = None):
        self.url, self.proc, self.log, self.db = url.rstrip('/'), proc, log, db
        self.netloc, self.peak_rss = urlsplit(self.url).netloc, 0.0
        self.pid = proc.pid if proc else listening_pid(self.url)

    def rss(self) -> float:
        try: return rss_mb(self.pid) if self.pid else float('nan')
        except psutil.Error: return float('nan')

    def answered(self) -> float | None:
        "Predictions this replica answered, from its /metrics (None without monitoring)."
        from prometheus_client.parser import text_string_to_metric_families
        try: r = httpx.get(f'{self.url}/metrics', timeout=10)
        except httpx.HTTPError: return None
        if r.status_code != 200: return None
        return sum(s.value for f in text_string_to_metric_families(r.text) for s in f.samples
                   if s.name == 'cifake_requests_total' and s.labels.get('outcome') == 'answered')

    def stop(self):
        "SIGTERM to its process group (the demo flushes and exits), SIGKILL after 30 s."
        if self.proc is None or self.proc.poll() is not None: return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try: self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def listening_pid(url: str) -> int | None:
    "The process listening on `url`'s loopback port, when it is on this machine and we may see it."
    port = urlsplit(url).port
    try: conns = psutil.net_connections(kind='tcp')
    except psutil.Error: return None
    return next((c.pid for c in conns if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid), None)


def start_replicas(n: int, args, out: Path) -> list[Replica]:
    "Start `n` cifake-demo servers (this checkout's code) on free loopback ports; wait for every /healthz."
    reps = []
    for i in range(n):
        port = free_port()
        db = args.log_db or str(out / f'replica{i}.sqlite')
        cmd = [sys.executable, '-c', 'from cifake_nb.app import main; main()', '--host', '127.0.0.1', '--port', str(port),
               '--log-db', db, '--concurrency', str(args.concurrency)]
        if args.model_dir: cmd += ['--model-dir', args.model_dir]
        env = {**os.environ, 'GRADIO_TEMP_DIR': str(out / f'gradio{i}'), 'PYTHONPATH': os.pathsep.join(filter(None, [str(ROOT), os.environ.get('PYTHONPATH')]))}
        log = out / f'replica{i}.log'
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log.open('w'), stderr=subprocess.STDOUT, start_new_session=True)
        reps.append(Replica(f'http://127.0.0.1:{port}', proc, log, db))
    t0, waiting = time.monotonic(), list(reps)
    while waiting:
        for r in list(waiting):
            if r.proc.poll() is not None:
                for q in reps: q.stop()
                fail(f'replica {r.netloc} exited ({r.proc.returncode}) before answering /healthz:\n{tail(r.log)}')
            try:
                if httpx.get(f'{r.url}/healthz', timeout=2).status_code == 200: waiting.remove(r)
            except httpx.TransportError: pass
        if waiting and time.monotonic() - t0 > args.start_timeout:
            for q in reps: q.stop()
            fail(f'{len(waiting)} replica(s) did not answer /healthz within {args.start_timeout:g} s: {tail(waiting[0].log)}')
        time.sleep(0.3)
    return reps


# ---------------------------------------------------------------- the log
def count_rows(dbs: list[str]) -> int | None:
    "Rows in the `predictions` table over the distinct logs (SQLite paths or PostgreSQL URLs); None when one cannot be read."
    total = 0
    for db in dict.fromkeys(dbs):
        try:
            if is_postgres(db):
                import psycopg
                with psycopg.connect(db, connect_timeout=10) as c: total += c.execute('SELECT count(*) FROM predictions').fetchone()[0]
            else:
                import sqlite3
                if not Path(db).exists(): continue
                with sqlite3.connect(f'file:{db}?mode=ro', uri=True, timeout=10) as c: total += c.execute('SELECT COUNT(*) FROM predictions').fetchone()[0]
        except Exception as e:
            print(f'  cannot count the rows of {shown(db)}: {type(e).__name__}: {" ".join(str(e).split())[:200]}')
            return None
    return total


def settle(dbs: list[str], before: int, expect: float, timeout: float = 30) -> int | None:
    "Rows written since `before`, once they reach `expect` or stop changing for 5 s (bounded by `timeout`)."
    t0, last, since = time.monotonic(), None, time.monotonic()
    while True:
        n = count_rows(dbs)
        if n is None: return None
        n -= before
        if n != last: last, since = n, time.monotonic()
        if n >= expect or time.monotonic() - since > 5 or time.monotonic() - t0 > timeout: return n
        time.sleep(0.5)


# ---------------------------------------------------------------- locust
def run_locust(reps: list[Replica], args, out: Path) -> int:
    "Run scripts/locustfile.py headless against the replicas while sampling their RSS; locust's exit status."
    cmd = [sys.executable, '-m', 'locust', '-f', str(LOCUSTFILE), '--headless', '-u', str(args.users), '-r', str(args.spawn_rate or args.users),
           '-t', f'{args.duration:g}s', '-H', reps[0].url, '--targets', ','.join(r.url for r in reps), '--max-requests', str(args.max_requests),
           '--summary', str(out / 'locust.json'), '--only-summary', '--stop-timeout', '10']
    if args.image: cmd += ['--image', args.image]
    done = threading.Event()
    def sample():
        while not done.wait(0.5):
            for r in reps: r.peak_rss = max(r.peak_rss, r.rss())
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with (out / 'locust.log').open('w') as log:
        try: rc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=args.duration + args.start_timeout).returncode
        except subprocess.TimeoutExpired: rc = 124   # its start (imports) and its stop share --start-timeout's bound
    done.set()
    sampler.join()
    if rc not in (0, 1):   # 1: the run completed with failed requests, reported below
        fail(f'locust exited with {rc}:\n{tail(out / "locust.log")}')
    return rc


class Figures:
    "Predictions, failures, requests/s over the load's `wall` s and percentiles of locust entries (one replica's, or all merged)."
    def __init__(self, entries: list[dict], wall: float):
        self.n, self.errors = sum(e['num_requests'] for e in entries), sum(e['num_failures'] for e in entries)
        self.hist = sorted((int(ms), k) for e in entries for ms, k in e['response_times'].items())   # locust's rounded ms: count
        self.rps = self.n / wall if wall > 0 else float('nan')

    def pct(self, q: float) -> float:
        "The response time below which `q`% of predictions fell, ms (locust's rounding: 2 significant digits above 100 ms)."
        seen, need = 0, q / 100 * sum(k for _, k in self.hist)
        for ms, k in self.hist:
            seen += k
            if seen >= need: return ms
        return float('nan')

    def __str__(self):
        if not self.n: return 'no predictions'
        return f'{self.n} predictions, {self.rps:.1f} req/s, p50 {self.pct(50):.0f} ms, p99 {self.pct(99):.0f} ms, errors {self.errors}'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--replicas', type=int, default=1, help='demo replicas to start here (default 1; ignored with --url)')
    ap.add_argument('--url', action='append', default=[], help='a replica already running on this machine (repeat for more)')
    ap.add_argument('--users', type=int, default=2, help='locust users, spread over the replicas (default 2, at most 64)')
    ap.add_argument('--spawn-rate', type=float, default=0, help='users started per second (default: all at once)')
    ap.add_argument('--duration', type=float, default=20, help='load test length, s (default 20, at most 600)')
    ap.add_argument('--max-requests', type=int, default=2000, help='stop after this many predictions (default 2000)')
    ap.add_argument('--log-db', default=None, help='the prediction log: every started replica writes it (a SQLite path, or a PostgreSQL URL '
                                                    'once the demo takes one); with --url, the log to count rows in')
    ap.add_argument('--concurrency', type=int, default=4, help="each started replica's --concurrency (default 4)")
    ap.add_argument('--model-dir', default=None, help='model folder for the started replicas (default: the shipped model)')
    ap.add_argument('--start-timeout', type=float, default=300, help='s for every started replica to answer /healthz (default 300)')
    ap.add_argument('--image', default=None, help='the image every prediction sends (default: as scripts/bench_app.py)')
    ap.add_argument('--out', default=None, help="keep locust's figures and log and the replicas' logs in this folder (default: a temporary one)")
    args = ap.parse_args()
    if not 1 <= args.replicas <= 8: fail('--replicas must be 1 to 8 on one machine')
    if not 0 < args.duration <= 600: fail('--duration must be more than 0 and at most 600 s')
    for u in args.url:   # scripts/locustfile.py refuses them too; refused here before /metrics is read from them
        if urlsplit(u).scheme not in ('http', 'https') or urlsplit(u).hostname not in ('127.0.0.1', 'localhost', '::1'):
            fail(f'--url {u}: only replicas on this machine (http://127.0.0.1, localhost or [::1] with a port)')
    from importlib.metadata import version   # not `import locust`: it would monkey-patch this process for gevent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        reps = [Replica(u, db=args.log_db) for u in args.url] or start_replicas(args.replicas, args, out)
        who = 'given' if args.url else f'started (cifake-demo from this checkout, --concurrency {args.concurrency})'
        log = (f'one shared log {shown(args.log_db)}' if args.log_db else 'a SQLite log each' if not args.url else 'log not given: rows not counted')
        print(f'fleet: {len(reps)} replica(s) {who}, {log}; locust {version("locust")}: {args.users} users × {args.duration:g} s, '
              f'at most {args.max_requests} predictions', flush=True)
        print(f'machine: {platform.machine()}, {psutil.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.1f} before the run; '
              f'python {platform.python_version()}', flush=True)
        dbs, rows0 = [r.db for r in reps if r.db], None
        try:
            rows0, answered0 = count_rows(dbs) if dbs else None, [r.answered() for r in reps]
            run_locust(reps, args, out)
            summary = json.loads((out / 'locust.json').read_text())
            wall = summary['stopped'] - summary['started']
            for r in reps:
                print(f'replica {r.netloc}: {Figures([e for e in summary["entries"] if e["name"] == f"predict {r.netloc}"], wall)}, '
                      f'peak RSS {r.peak_rss:.0f} MiB (target < 500 MB)')
            fleet = Figures(summary['entries'], wall)
            print(f'fleet: {fleet} in {wall:.0f} s of load (target 0 errors)')
            for e in sorted(summary['errors'], key=lambda e: -e['occurrences'])[:3]: print(f'  {e["occurrences"]}× {e["name"]}: {e["error"][:200]}')
            clients = fleet.n - fleet.errors
            answered1 = [r.answered() for r in reps]
            served = (sum(b - a for a, b in zip(answered0, answered1)) if None not in answered0 + answered1 else None)
            said = f'{served:.0f} by the replicas\' /metrics, ' if served is not None else ''
            if rows0 is not None:
                rows = settle(dbs, rows0, served if served is not None else clients)
                print(f'log rows written: {rows} against predictions answered: {said}{clients} by the clients (after the load settled)')
        finally:
            for r in reps: r.stop()
        if rows0 is not None and any(r.proc for r in reps):
            rows = count_rows(dbs)
            print(f'log rows written after the replicas stopped: {None if rows is None else rows - rows0}')
        if args.out: print(f"locust's figures (locust.json, locust.log) and the replicas' logs: {out}")


if __name__ == '__main__': main()
