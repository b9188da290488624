"""Locust load test of the demo's prediction API, bounded and local only.

Each simulated user is one client of Gradio's HTTP API exactly as scripts/bench_app.py's load test drives it (its
`HttpPredictor`: upload the image, call /predict, read the SSE result, over one persistent connection; a full prediction
each, with the answer checked to be REAL or FAKE). Each prediction is one locust request named `predict <host:port>`,
so locust's table has a row per replica and its Aggregated row is the whole fleet. Users are spread over the targets
round-robin and each keeps its target (a Gradio upload lives on the replica that received it).

Bounded and local, or it refuses to start (one line, exit code 2):
- headless only (no web UI), with a run time of at most 600 s (`-t`) and at most 64 users (`-u`);
- at most `--max-requests` predictions (default 2000; the run stops there, give or take the requests in flight);
- every target is http://127.0.0.1, localhost or [::1] (a load balancer in front of replicas is fine when it is local).

    locust -f scripts/locustfile.py --headless -u 2 -r 2 -t 20s -H http://127.0.0.1:7860
    locust -f scripts/locustfile.py --headless -u 4 -r 4 -t 30s -H http://127.0.0.1:7861 \\
        --targets http://127.0.0.1:7861,http://127.0.0.1:7862 --summary /tmp/fleet.json   # two replicas, figures as JSON

scripts/bench_fleet.py starts the replicas, runs this and prints the figures. Locust runs users as gevent greenlets in
one process: on a small machine its own CPU is part of what is measured."""
import itertools, json, logging, sys, time
from pathlib import Path
from urllib.parse import urlsplit

import gevent
from locust import User, between, events, task
from locust.exception import StopUser

logging.getLogger('httpx').setLevel(logging.WARNING)   # not a line per HTTP request in locust's log
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_app import HttpPredictor, sample_image  # noqa: E402  (scripts/, not a package)

LOCAL_HOSTS = {'127.0.0.1', 'localhost', '::1'}
MAX_USERS, MAX_RUN_TIME_S = 64, 600   # hard bounds, whatever the command line says


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument('--targets', default='', help='comma-separated base URLs the users are spread over (default: --host)')
    parser.add_argument('--max-requests', type=int, default=2000, help='stop after this many predictions (default 2000)')
    parser.add_argument('--summary', default='', help='write the final stats and errors as JSON to this file when locust quits')
    parser.add_argument('--image', default='', help='the image every prediction sends (default: the first CIFAKE test image, '
                                                    'or a generated 32x32 JPEG without the data)')


def refuse(why: str):
    print(f'locustfile: refusing to run: {why}', file=sys.stderr, flush=True)
    raise SystemExit(2)


def check_target(url: str) -> str:
    "`url` without a trailing slash when it is http(s) on this machine; refuse anything else."
    u = urlsplit(url.strip())
    if u.scheme not in ('http', 'https') or u.hostname not in LOCAL_HOSTS:
        refuse(f'{url!r} is not on this machine: targets must be http://127.0.0.1, localhost or [::1] (with a port)')
    return url.strip().rstrip('/')


class Fleet:
    "What the users share: the targets, the image bytes, the prediction count and its bound."
    targets: list[str] = []
    image: bytes = b''
    max_requests = 0
    done = 0
    next_target = None
    env = None
    window = [0.0, 0.0]   # when the load started and stopped, unix s


@events.init.add_listener
def _check_bounds(environment, **_):
    o = environment.parsed_options
    if o is None: return   # used as a library (locust.env.Environment): the caller bounds the run
    if not o.headless: refuse('run it with --headless (the web UI would start an unbounded test on demand)')
    if not o.run_time or o.run_time > MAX_RUN_TIME_S: refuse(f'give a run time of at most {MAX_RUN_TIME_S} s (-t 20s)')
    if not o.num_users or o.num_users > MAX_USERS: refuse(f'give at most {MAX_USERS} users (-u 2)')
    if not 0 < o.max_requests <= 100_000: refuse('--max-requests must be between 1 and 100000')
    Fleet.targets = [check_target(t) for t in (o.targets or environment.host or '').split(',') if t.strip()]
    if not Fleet.targets: refuse('no target: give -H http://127.0.0.1:<port> (or --targets)')
    if environment.host: check_target(environment.host)
    Fleet.max_requests, Fleet.next_target, Fleet.env = o.max_requests, itertools.cycle(Fleet.targets), environment
    if o.image: Fleet.image = Path(o.image).read_bytes()
    else:
        import tempfile
        with tempfile.TemporaryDirectory() as d: Fleet.image = sample_image(Path(d) / 'cifake.jpg').read_bytes()
    # gevent's loop reads the clock once per iteration: after this file's slow imports (seconds on a busy machine) its time is
    # stale, and locust's run-time timer, set from it next, would fire that much early
    gevent.get_hub().loop.update_now()


class DemoClient(User):
    "One API client that sends predictions back to back (a 0-50 ms pause between them) to one target."
    wait_time = between(0, 0.05)

    def on_start(self):
        self.target = next(Fleet.next_target)
        self.label = f'predict {urlsplit(self.target).netloc}'
        self.call = HttpPredictor(self.target, Fleet.image)

    def on_stop(self): self.call.http.close()

    @task
    def predict(self):
        if Fleet.done >= Fleet.max_requests:
            if self.environment.runner is not None: gevent.spawn(self.environment.runner.quit)   # not in the runner's group: it kills that
            raise StopUser()
        Fleet.done += 1
        t0, error = time.perf_counter(), None
        try:
            res = self.call()
            if res.get('label') not in ('REAL', 'FAKE'): raise ValueError(f'not a prediction: {str(res)[:200]}')
        except Exception as e: error = e   # a user stopped mid-request (GreenletExit) records nothing: neither answered nor failed
        self.environment.events.request.fire(request_type='PREDICT', name=self.label, response_time=(time.perf_counter() - t0) * 1e3,
                                             response_length=len(Fleet.image), exception=error, context={})


@events.test_start.add_listener
def _started(**_): Fleet.window[0] = time.time()


@events.test_stop.add_listener
def _stopped(**_): Fleet.window[1] = time.time()


@events.quit.add_listener
def _write_summary(**_):
    "The final figures for scripts/bench_fleet.py: when the load ran (unix s), every entry (its response-time histogram included), every error."
    if Fleet.env is None or not Fleet.env.parsed_options.summary: return
    st, (t0, t1) = Fleet.env.stats, Fleet.window
    Path(Fleet.env.parsed_options.summary).write_text(json.dumps({
        'started': t0, 'stopped': t1 or time.time(), 'entries': st.serialize_stats(), 'errors': list(st.serialize_errors().values())}))
