"""Benchmark the serving path: single-image latency, batched throughput and peak memory of `Predictor`.

Run by hand (not in the tests): `.venv/bin/python scripts/bench_predictor.py [--model MODEL_DIR] [--source DATA]`.
- latency: `Predictor.predict` on the PNG bytes of one 32×32 CIFAKE test image (decode + model + heatmap),
  `--calls` calls after `--warmup` calls; p50 / p99 / mean in milliseconds   [target p50 ≤ 0.5 ms on 2 cores]
- throughput: `Predictor.predict_arrays` (p_fake and CAM) on all 20,000 decoded test images, best of `--repeats`, with
  one onnxruntime thread, with the Predictor's default (one per core, or $CIFAKE_ORT_THREADS) and with those threads spinning
  between work items ($CIFAKE_ORT_SPIN=1)   [target ≥ 5,000 images/s]
- int8: the same for the model folder's int8 sibling (`<model>/int8/`, written by scripts/ship_int8.py; shipped for the
  default model) when it has one (`--float32-only`: not), or with `--int8 N` for a fresh static int8 copy calibrated on N
  validation images; with both models' test accuracy at the model's threshold: int8 ships only within 0.1 pp of float32.
- peak RSS of this process (which imports no torch): serving footprint before the dataset is loaded, and overall.
Figures depend on the machine and on what else runs on it: the script prints the CPU, core count and load average.
"""
import argparse, io, json, os, platform, resource, sys, time
from pathlib import Path
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


def latency_ms(pred, png: bytes, calls: int, warmup: int) -> np.ndarray:
    "Milliseconds of each of `calls` `Predictor.predict` calls on encoded image bytes (decode + model + heatmap), after `warmup`."
    for _ in range(warmup): pred.predict(png)
    lat = np.empty(calls)
    for i in range(calls):
        t = time.perf_counter()
        pred.predict(png)
        lat[i] = time.perf_counter() - t
    return lat * 1e3


def throughput(pred, imgs: np.ndarray, threads: int, batch_size: int, repeats: int, spin: bool = False) -> float:
    """Images per second of `predict_arrays` (p_fake and CAM) on `imgs` with `threads` onnxruntime threads (spin-waiting
    between work items if `spin`, as `$CIFAKE_ORT_SPIN=1` makes them), best of `repeats`."""
    pred.batch_threads, pred.batch_spin, pred._batch = threads, spin, None  # a fresh batch session with these settings
    pred.predict_arrays(imgs[:batch_size * 2], batch_size)
    best = 1e9
    for _ in range(repeats):
        t = time.perf_counter()
        pred.predict_arrays(imgs, batch_size)
        best = min(best, time.perf_counter() - t)
    return len(imgs) / best


def int8_folder(pred, val_images: np.ndarray, out) -> Path:
    """A copy of `pred`'s model folder with a static int8 sibling `int8/` (QDQ, per channel), calibrated on `val_images`
    (validation images: carved from train, never the test split), as `cifake-export --quantize` writes it; its path."""
    import shutil
    from cifake_nb.export import quantize_folder
    out = Path(out)
    shutil.copytree(pred.model_dir, out, dirs_exist_ok=True)
    quantize_folder(out, val_images, reference_images=0)
    return out / 'int8'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=None, help='model folder or hf://owner/name (default: the shipped model)')
    ap.add_argument('--source', default=None, help='CIFAKE data source (default: cifake_nb.data.default_source())')
    ap.add_argument('--calls', type=int, default=1000)
    ap.add_argument('--warmup', type=int, default=100)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--batch-size', type=int, default=None, help='images per onnxruntime call (default: the Predictor\'s)')
    ap.add_argument('--int8', type=int, default=0, metavar='N', help='also measure a static int8 copy of the model calibrated on N '
                    'validation images (the model\'s own n_val/val_seed split of train), beside float32, accuracy on all test images')
    ap.add_argument('--float32-only', action='store_true', help="do not also measure the model folder's int8 sibling (measured by default when it has one)")
    ap.add_argument('--json', action='store_true', help='also print the figures as one JSON line')
    a = ap.parse_args()
    import inspect, tempfile
    from PIL import Image
    from cifake_nb.core import decide
    from cifake_nb.inference import Predictor, batch_threads
    t = time.perf_counter()
    pred = Predictor(a.model)
    load_s = time.perf_counter() - t
    bs = a.batch_size or inspect.signature(Predictor.predict_arrays).parameters['batch_size'].default
    pred.predict(np.zeros((32, 32, 3), np.uint8))
    serving_mb = rss_mb('VmHWM')  # peak so far: interpreter + onnxruntime + model + one prediction, before any dataset is loaded
    from cifake_nb.data import load_cifake, default_source, validation_split_of
    ds = load_cifake(a.source or default_source(), progress=False)
    imgs, labels = ds.test.images, ds.test.labels
    data_mb = sum(s.images.nbytes for s in ds.splits.values()) / 2**20
    print(f'model {pred.version} ({pred.info.get("model")}, cam {pred.cam_size}); CPU {cpu_name()}, {os.cpu_count()} cores, '
          f'load average {os.getloadavg()[0]:.1f}; onnxruntime {__import__("onnxruntime").__version__}; model load {load_s * 1e3:.0f} ms')
    b = io.BytesIO()
    Image.fromarray(imgs[0]).save(b, 'PNG')
    png = b.getvalue()
    models = {'float32': pred}
    tmp = tempfile.TemporaryDirectory()
    sibling = pred.model_dir / (pred.info.get('int8') or {}).get('folder', 'int8')
    if not a.int8 and not a.float32_only and (sibling / 'model.json').exists():
        models['int8'] = Predictor(sibling)  # the folder's own int8 model (scripts/ship_int8.py), as `cifake-demo` serves it (by default on a CPU with VNNI)
        print(f'int8: the model folder\'s int8 sibling {models["int8"].version} ({models["int8"].info["quantization"].get("settings", "static")})')
    if a.int8:
        val = validation_split_of(ds, pred.info.get('config'))
        calib = val.images[np.random.default_rng(0).choice(len(val), min(a.int8, len(val)), replace=False)]
        t = time.perf_counter()
        models['int8'] = Predictor(int8_folder(pred, calib, tmp.name))
        print(f'int8: static QDQ per channel, calibrated on {len(calib):,} validation images in {time.perf_counter() - t:.1f} s')
    res, nt = {}, batch_threads()  # the Predictor's batch threads ($CIFAKE_ORT_THREADS or one per core)
    for name, m in models.items():
        lat = latency_ms(m, png, a.calls, a.warmup)
        r = dict(p50_ms=float(np.percentile(lat, 50)), p99_ms=float(np.percentile(lat, 99)), mean_ms=float(lat.mean()), images_per_s={})
        for threads in sorted({1, nt}):
            r['images_per_s'][f'{threads} thread' + 's' * (threads > 1)] = throughput(m, imgs, threads, bs, a.repeats)
        if nt > 1: r['images_per_s'][f'{nt} threads, spinning'] = throughput(m, imgs, nt, bs, a.repeats, spin=True)
        p, _ = m.predict_arrays(imgs, bs)
        r['test_acc'] = float((decide(p, m.threshold) == labels).mean())
        r['bytes'] = os.path.getsize(m._onnx)
        res[name] = r
        print(f'{name}: single image (predict on a {len(png)}-byte PNG, {a.calls} calls) p50 {r["p50_ms"]:.3f} ms, p99 {r["p99_ms"]:.3f} ms   '
              f'[target p50 ≤ 0.5 ms]; batched (predict_arrays, p_fake + CAM, {len(imgs):,} test images, batch {bs}, best of {a.repeats}): '
              + ', '.join(f'{v:,.0f} images/s on {k}' for k, v in r['images_per_s'].items())
              + f'   [target ≥ 5,000 on 2]; test accuracy {100 * r["test_acc"]:.2f}% at threshold {m.threshold:.4f}', flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if len(res) > 1:
        f, q = res['float32'], res['int8']
        d = 100 * (q['test_acc'] - f['test_acc'])
        print('\n| model | file | single p50 (ms) | p99 (ms) | ' + ' | '.join(f'batch, {k} (img/s)' for k in f['images_per_s']) + ' | test accuracy |')
        print('|---|---|---|---|' + '---|' * len(f['images_per_s']) + '---|')
        for name, r in res.items():
            print(f'| {name} | {r["bytes"] / 1024:.0f} KiB | {r["p50_ms"]:.3f} | {r["p99_ms"]:.3f} | ' + ' | '.join(f'{v:,.0f}' for v in r['images_per_s'].values())
                  + f' | {100 * r["test_acc"]:.2f}% |')
        print(f'\nint8 − float32 test accuracy: {d:+.2f} pp → int8 {"may ship (within 0.1 pp)" if abs(d) <= 0.1 else "does not ship (more than 0.1 pp)"}')
    print(f'peak RSS: {serving_mb:.0f} MB serving (Predictor loaded, one prediction, no dataset); {rss:.0f} MB overall, of which '
          f'{data_mb:.0f} MB are the decoded CIFAKE arrays load_cifake holds; torch imported: {"torch" in sys.modules}')
    if a.json:
        print(json.dumps(dict(model=pred.version, results={k: {**v, 'images_per_s': {str(t): x for t, x in v['images_per_s'].items()}} for k, v in res.items()},
                              peak_rss_mb=rss, serving_rss_mb=serving_mb, cores=os.cpu_count(), loadavg=os.getloadavg()[0])))
    tmp.cleanup()


if __name__ == '__main__': main()
