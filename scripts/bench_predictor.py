"""Benchmark the serving path: single-image latency, batched throughput and peak memory of `Predictor`.

Run by hand (not in the tests): `.venv/bin/python scripts/bench_predictor.py [--model MODEL_DIR] [--source DATA]`.
- latency: `Predictor.predict` on the PNG bytes of one 32×32 CIFAKE test image (decode + model + heatmap),
  `--calls` calls after `--warmup` calls; p50 / p99 / mean in milliseconds   [target p50 ≤ 5 ms on 2 cores]
- throughput: `Predictor.predict_arrays` on all 20,000 decoded test images, best of `--repeats`, with one onnxruntime
  thread and with the Predictor's default (one per core, or $CIFAKE_ORT_THREADS)   [target ≥ 2,000 images/s]
- peak RSS of this process (which imports no torch): serving footprint before the dataset is loaded, and overall.
Figures depend on the machine and on what else runs on it: the script prints the CPU, core count and load average.
"""
import argparse, io, json, os, platform, resource, sys, time
import numpy as np


def cpu_name() -> str:
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor() or platform.machine()


def rss_mb(field: str = 'VmRSS') -> float:
    "A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: peak), MB; NaN where unavailable."
    try:
        for line in open('/proc/self/status'):
            if line.startswith(field + ':'): return int(line.split()[1]) / 1024
    except OSError: pass
    return float('nan')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=None, help='model folder or hf://owner/name (default: the shipped model)')
    ap.add_argument('--source', default=None, help='CIFAKE data source (default: cifake_nb.data.default_source())')
    ap.add_argument('--calls', type=int, default=1000)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--batch-size', type=int, default=128)
    ap.add_argument('--json', action='store_true', help='also print the figures as one JSON line')
    a = ap.parse_args()
    from PIL import Image
    from cifake_nb.inference import Predictor
    t = time.perf_counter()
    pred = Predictor(a.model)
    load_s = time.perf_counter() - t
    pred.predict(np.zeros((32, 32, 3), np.uint8))
    serving_mb = rss_mb('VmHWM')  # peak so far: interpreter + onnxruntime + model + one prediction, before any dataset is loaded
    from cifake_nb.data import load_cifake, default_source
    ds = load_cifake(a.source or default_source(), progress=False)
    imgs = ds.test.images
    data_mb = sum(s.images.nbytes for s in ds.splits.values()) / 2**20
    print(f'model {pred.version} ({pred.info.get("model")}, cam {pred.cam_size}); CPU {cpu_name()}, {os.cpu_count()} cores, '
          f'load average {os.getloadavg()[0]:.1f}; onnxruntime {__import__("onnxruntime").__version__}; model load {load_s * 1e3:.0f} ms')

    b = io.BytesIO()
    Image.fromarray(imgs[0]).save(b, 'PNG')
    png = b.getvalue()
    for _ in range(a.warmup): pred.predict(png)
    lat = np.empty(a.calls)
    for i in range(a.calls):
        t = time.perf_counter()
        pred.predict(png)
        lat[i] = time.perf_counter() - t
    lat *= 1e3
    p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
    print(f'single image (predict on {len(png)}-byte PNG, {a.calls} calls): p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean {lat.mean():.2f} ms   [target p50 ≤ 5 ms]')

    ips = {}
    for threads in sorted({1, pred.batch_threads}):
        pred.batch_threads, pred._batch = threads, None  # a fresh batch session with this many threads
        pred.predict_arrays(imgs[:a.batch_size * 2], a.batch_size)
        best = 1e9
        for _ in range(a.repeats):
            t = time.perf_counter()
            pred.predict_arrays(imgs, a.batch_size)
            best = min(best, time.perf_counter() - t)
        ips[threads] = len(imgs) / best
        print(f'batched (predict_arrays on {len(imgs):,} test images, batch {a.batch_size}, {threads} onnxruntime thread(s)): '
              f'best of {a.repeats} {best:.2f} s = {ips[threads]:,.0f} images/s   [target ≥ 2,000 images/s]')
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f'peak RSS: {serving_mb:.0f} MB serving (Predictor loaded, one prediction, no dataset); {rss:.0f} MB overall, of which '
          f'{data_mb:.0f} MB are the decoded CIFAKE arrays load_cifake holds; torch imported: {"torch" in sys.modules}')
    if a.json:
        print(json.dumps(dict(model=pred.version, p50_ms=p50, p99_ms=p99, mean_ms=float(lat.mean()), images_per_s={str(k): v for k, v in ips.items()}, peak_rss_mb=rss, serving_rss_mb=serving_mb,
                              cores=os.cpu_count(), loadavg=os.getloadavg()[0])))


if __name__ == '__main__': main()
