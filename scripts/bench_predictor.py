"""Benchmark the serving path: single-image latency, batched throughput and peak memory of `Predictor`.

Run by hand (not in the tests): `.venv/bin/python scripts/bench_predictor.py [--model MODEL_DIR] [--source DATA]`.
- latency: `Predictor.predict` on the PNG bytes of one 32×32 CIFAKE test image (decode + model + heatmap),
  `--calls` calls after `--warmup` calls; p50 / p99 / mean in milliseconds   [target p50 ≤ 5 ms on 2 cores]
- throughput: `Predictor.predict_arrays` on all 20,000 decoded test images, best of `--repeats`   [target ≥ 2,000 images/s]
- peak RSS of this process (which imports no torch).
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=None, help='model folder or hf://owner/name (default: the shipped model)')
    ap.add_argument('--source', default=None, help='CIFAKE data source (default: cifake_nb.data.default_source())')
    ap.add_argument('--calls', type=int, default=1000); ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--repeats', type=int, default=3); ap.add_argument('--batch-size', type=int, default=256)
    ap.add_argument('--json', action='store_true', help='also print the figures as one JSON line')
    a = ap.parse_args()
    from PIL import Image
    from cifake_nb.inference import Predictor
    from cifake_nb.data import load_cifake, default_source
    ds = load_cifake(a.source or default_source(), progress=False)
    imgs = ds.test.images
    t = time.perf_counter(); pred = Predictor(a.model); load_s = time.perf_counter() - t
    print(f'model {pred.version} ({pred.info.get("model")}, cam {pred.cam_size}); CPU {cpu_name()}, {os.cpu_count()} cores, '
          f'load average {os.getloadavg()[0]:.1f}; onnxruntime {__import__("onnxruntime").__version__}; model load {load_s * 1e3:.0f} ms')

    b = io.BytesIO(); Image.fromarray(imgs[0]).save(b, 'PNG'); png = b.getvalue()
    for _ in range(a.warmup): pred.predict(png)
    lat = np.empty(a.calls)
    for i in range(a.calls):
        t = time.perf_counter(); pred.predict(png); lat[i] = time.perf_counter() - t
    lat *= 1e3
    p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
    print(f'single image (predict on {len(png)}-byte PNG, {a.calls} calls): p50 {p50:.2f} ms, p99 {p99:.2f} ms, mean {lat.mean():.2f} ms   [target p50 ≤ 5 ms]')

    pred.predict_arrays(imgs[:a.batch_size * 2], a.batch_size)  # creates the batch session
    best = 1e9
    for _ in range(a.repeats):
        t = time.perf_counter(); pred.predict_arrays(imgs, a.batch_size); best = min(best, time.perf_counter() - t)
    ips = len(imgs) / best
    print(f'batched (predict_arrays on {len(imgs):,} test images, batch {a.batch_size}): best of {a.repeats} {best:.2f} s = {ips:,.0f} images/s   [target ≥ 2,000 images/s]')
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f'peak RSS {rss:.0f} MB (includes the 20,000 decoded test images, ~60 MB); torch imported: {"torch" in sys.modules}')
    if a.json:
        print(json.dumps(dict(model=pred.version, p50_ms=p50, p99_ms=p99, mean_ms=float(lat.mean()), images_per_s=ips, peak_rss_mb=rss,
                              cores=os.cpu_count(), loadavg=os.getloadavg()[0])))


if __name__ == '__main__': main()
