#!/usr/bin/env python
"""What monitoring costs per request, measured in process (no HTTP, no Gradio: far less noisy than the load test).

`DemoService.predict` on a CIFAKE test file with the SQLite log on, with monitoring off (no metrics, no features) and on
(features computed and logged, metrics observed), in alternating blocks of `--block` calls; then the cost of one
`/metrics` exposition and of one drift check (`DriftMonitor.check`: the last 500 logged requests vs the 5,000-image
reference profile).

    python scripts/bench_monitoring.py                # 10 blocks of 200 calls each way
"""
import argparse, os, statistics, tempfile, time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
import pyarrow.parquet as pq

from cifake_nb.app import DemoService
from cifake_nb.predlog import PredictionLog
from cifake_nb.inference import Predictor
from cifake_nb.monitor import DriftMonitor
from cifake_nb.telemetry import DemoMetrics

TEST = Path(__file__).resolve().parents[2] / 'shared' / 'cifake' / 'data' / 'test-00000-of-00001.parquet'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--blocks', type=int, default=10)
    ap.add_argument('--block', type=int, default=200)
    a = ap.parse_args()
    blobs = pq.read_table(TEST, columns=['image']).column('image').combine_chunks().field('bytes').to_pylist()[:a.block]
    predictor = Predictor()
    with tempfile.TemporaryDirectory() as d:
        log = PredictionLog(Path(d) / 'log.sqlite')
        off = DemoService(predictor, log, features=False)
        on = DemoService(predictor, log, metrics=DemoMetrics(predictor.version))
        for b in blobs[:20]:
            off.predict(b)
            on.predict(b)  # warm-up
        per = {'off': [], 'on': []}
        for _ in range(a.blocks):
            for name, svc in (('off', off), ('on', on)):
                t = time.perf_counter()
                for b in blobs: svc.predict(b)
                per[name].append((time.perf_counter() - t) / len(blobs) * 1e3)
        m_off, m_on = statistics.median(per['off']), statistics.median(per['on'])
        print(f'DemoService.predict, 32×32 CIFAKE JPEG, log on, {a.blocks} alternating blocks of {a.block}: '
              f'monitoring off {m_off:.3f} ms, on {m_on:.3f} ms per request (median of blocks): +{m_on - m_off:.3f} ms')
        t = time.perf_counter()
        n = 200
        for _ in range(n): body, _ = on.metrics.exposition()
        print(f'/metrics exposition: {(time.perf_counter() - t) / n * 1e3:.2f} ms ({len(body):,} bytes)')
        dm = DriftMonitor(log.path, Path(predictor.model_dir), metrics=on.metrics)
        dm.check()  # loads the profile
        ts = []
        for _ in range(10):
            t = time.perf_counter()
            status, body = dm.check()
            ts.append((time.perf_counter() - t) * 1e3)
        print(f'drift check (last 500 requests vs {dm.profiles["n"]:,} reference images, {len(body["reports"][0]["features"])} tests): '
              f'{statistics.median(ts):.1f} ms (median of 10); status {body["status"]}')


if __name__ == '__main__':
    main()
