#!/usr/bin/env python
"""Is the drift alarm useful? False alarms on untouched CIFAKE test traffic, and how many requests each shift takes to alarm.

Every request goes through the real serving path: the encoded file bytes → `Predictor.predict` (the shipped
ONNX model) → `cifake_nb.features.prediction_features`, and windows are compared with the model's
`reference_profile.json` (the validation split carved from train, as the export step writes it) by
`cifake_nb.monitor.compare` (KS / Fisher exact per feature, Holm-corrected, alarm when an adjusted p < alpha).

1. **False alarms**: the 20,000 test images in a seeded random order, cut into disjoint windows of 200, 500 and
   1,000 requests (100, 40 and 20 windows); the share of windows that alarm is the false-alarm rate. The same on
   the 5,000 validation images that are *not* in the profile (25, 10 and 5 windows): traffic from exactly the
   reference's distribution, which separates the method's own false alarms from a train/test difference.
2. **Detection**: for each shift, `--reps` streams of shifted requests built from seeded random test images; the
   number of requests to alarm is the smallest window (on the grid 5, 10, 20, 30, 50, 75, 100, 150, 200, 300,
   500, 1000) of that stream's first requests that alarms; '>1000' if none does.

    python scripts/bench_drift.py                  # everything (~5 min on 2 CPU cores)
    python scripts/bench_drift.py --reps 2 --out /tmp/bench_drift.json
"""
import argparse, io, json, os, platform, sys, time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
import numpy as np
from PIL import Image, ImageFilter

from cifake_nb.data import default_source, find_source, read_parquet_rows, read_folder_rows, FAKE, REAL
from cifake_nb.inference import Predictor, default_model_dir
from cifake_nb.features import load_profile, prediction_features, validation_blobs
from cifake_nb.monitor import compare

GRID = (5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000)


def jpeg_like(img: Image.Image, src: Image.Image) -> bytes:
    "Encode `img` as JPEG with the quantisation tables and 4:2:0 subsampling of the original file `src` (only the pixels change)."
    buf = io.BytesIO()
    img.save(buf, 'JPEG', qtables=src.quantization, subsampling=2)
    return buf.getvalue()


def shift_rejpeg(q):
    def f(b, rng):
        buf = io.BytesIO()
        Image.open(io.BytesIO(b)).convert('RGB').save(buf, 'JPEG', quality=q)
        return buf.getvalue()
    return f


def shift_blur(radius):
    def f(b, rng):
        src = Image.open(io.BytesIO(b))
        return jpeg_like(src.convert('RGB').filter(ImageFilter.GaussianBlur(radius)), src)
    return f


def shift_noise(sigma):
    def f(b, rng):
        src = Image.open(io.BytesIO(b))
        a = np.asarray(src.convert('RGB'), np.float64)
        return jpeg_like(Image.fromarray(np.clip(a + rng.normal(0, sigma, a.shape), 0, 255).round().astype(np.uint8)), src)
    return f


def shift_upscale(side):
    def f(b, rng):
        buf = io.BytesIO()
        Image.open(io.BytesIO(b)).convert('RGB').resize((side, side), Image.BICUBIC).save(buf, 'JPEG', quality=75)
        return buf.getvalue()
    return f


def shift_png(b, rng):
    buf = io.BytesIO()
    Image.open(io.BytesIO(b)).convert('RGB').save(buf, 'PNG')
    return buf.getvalue()


def untouched(b, rng): return b


# name → (description, transform of the file bytes, label mix: None = the test split's 50/50, else share of FAKE)
SHIFTS = {
    'rejpeg_q50': ('re-compressed: decoded and saved again as JPEG quality 50', shift_rejpeg(50), None),
    'rejpeg_q90': ('re-compressed: saved again as JPEG quality 90', shift_rejpeg(90), None),
    'blur_r0.5': ('Gaussian blur, radius 0.5 px (saved with the original JPEG tables)', shift_blur(0.5), None),
    'blur_r1': ('Gaussian blur, radius 1 px (original JPEG tables)', shift_blur(1.0), None),
    'noise_s4': ('Gaussian noise, σ = 4 grey levels (original JPEG tables)', shift_noise(4), None),
    'noise_s8': ('Gaussian noise, σ = 8 grey levels (original JPEG tables)', shift_noise(8), None),
    'upscale_128': ('upscaled uploads: 128×128 bicubic, JPEG quality 75', shift_upscale(128), None),
    'png': ('lossless uploads: the same pixels saved as PNG (screenshots)', shift_png, None),
    'fake_90': ('class balance: 90% FAKE, untouched files', untouched, 0.9),
    'fake_70': ('class balance: 70% FAKE, untouched files', untouched, 0.7),
    'cifar10_only': ('another source: CIFAR-10 photos only (all REAL), untouched files', untouched, 0.0),
}


def features_of(predictor, blobs) -> list[dict]:
    "Each request through the serving path: Predictor.predict on the bytes, then its monitoring features."
    return [prediction_features(predictor.predict(b), b) for b in blobs]


def pick(labels, n, fake_share, rng) -> np.ndarray:
    "Indices of `n` test images: a random sample, or with `fake_share` of FAKE."
    if fake_share is None: return rng.choice(len(labels), n, replace=False)
    k = int(round(n * fake_share))
    fake, real = np.flatnonzero(labels == FAKE), np.flatnonzero(labels == REAL)
    idx = np.concatenate([rng.choice(fake, k, replace=False), rng.choice(real, n - k, replace=False)])
    return idx[rng.permutation(n)]


def requests_to_alarm(predictor, profile, blobs, labels, transform, fake_share, seed, alpha) -> tuple[int | None, list[str]]:
    "Smallest grid window of one shifted stream that alarms (None: not within 1,000), and its drifting features."
    rng = np.random.default_rng(seed)
    idx = pick(labels, GRID[-1], fake_share, rng)
    feats = []
    for n in GRID:
        feats += features_of(predictor, [transform(blobs[i], rng) for i in idx[len(feats):n]])
        rep = compare(feats, profile, alpha)
        if rep.drift: return n, rep.drifting
    return None, []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--reference', default=None, help='reference_profile.json or model folder (default: the shipped model)')
    ap.add_argument('--data', default=None, help='CIFAKE source (default: $CIFAKE_SOURCE or ../shared/cifake)')
    ap.add_argument('--alpha', type=float, default=0.01, help='family-wise false-alarm rate per window (default 0.01)')
    ap.add_argument('--reps', type=int, default=5, help='streams per shift (default 5)')
    ap.add_argument('--shifts', default=','.join(SHIFTS), help='comma-separated shifts to run')
    ap.add_argument('--out', default=None, help='write all figures as JSON here')
    a = ap.parse_args(argv)
    t0 = time.time()
    predictor = Predictor()
    profile = load_profile(a.reference or default_model_dir())
    if profile['model_version'] != predictor.version: sys.exit(f'reference profile is for {profile["model_version"]}, the model is {predictor.version}')
    src = a.data or default_source()
    kind, _, files = find_source(src)
    blobs, labels, _ = (read_parquet_rows if kind == 'parquet' else read_folder_rows)(files['test'])
    print(f'model {predictor.version}; reference: {profile["n"]:,} validation images ({profile["data"].get("source")}); '
          f'test: {len(blobs):,} images; alpha {a.alpha}; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs', flush=True)

    t = time.time()
    order = np.random.default_rng(0).permutation(len(blobs))
    test_feats = features_of(predictor, [blobs[i] for i in order])
    per_req_ms = (time.time() - t) / len(blobs) * 1e3
    print(f'serving path + features: {per_req_ms:.2f} ms per request ({len(blobs):,} requests)', flush=True)
    out = {'model_version': predictor.version, 'alpha': a.alpha, 'reference_n': profile['n'], 'n_test': len(blobs),
           'ms_per_request': round(per_req_ms, 3), 'false_alarms': {}, 'detection': {}}
    d = profile['data']
    val, _ = validation_blobs(src, d.get('n_val', 10_000), d.get('val_seed', 0), max_images=0)
    in_profile = set(np.random.default_rng(d.get('sample_seed', 0)).permutation(len(val))[:d.get('sample', len(val))].tolist())
    held = [val[i] for i in np.random.default_rng(1).permutation(len(val)) if i not in in_profile]
    held_feats = features_of(predictor, held)
    print('\n| traffic | window | windows | false alarms | rate | features that alarmed | median score |\n|---|---|---|---|---|---|---|')
    for name, feats_all in (('test split', test_feats), ('held-out validation', held_feats)):
        for w in (200, 500, 1000):
            k = len(feats_all) // w
            reps = [compare(feats_all[i * w:(i + 1) * w], profile, a.alpha) for i in range(k)]
            alarms = [r for r in reps if r.drift]
            feats = sorted({f for r in alarms for f in r.drifting})
            scores = [r.score for r in reps]
            out['false_alarms'][f'{name} {w}'] = {'windows': k, 'alarms': len(alarms), 'rate': len(alarms) / k, 'features': feats,
                                                   'score_median': float(np.median(scores)), 'score_max': float(np.max(scores))}
            print(f'| {name} | {w:,} | {k} | {len(alarms)} | {len(alarms) / k:.1%} | {", ".join(feats) or "–"} | {np.median(scores):.2f} |', flush=True)

    print(f'\n| shift | requests to alarm (median; {a.reps} streams) | range | first drifting features |\n|---|---|---|---|')
    for name in [s for s in a.shifts.split(',') if s]:
        desc, transform, share = SHIFTS[name]
        res = [requests_to_alarm(predictor, profile, blobs, labels, transform, share, 1000 + r, a.alpha) for r in range(a.reps)]
        ns = [n for n, _ in res]
        found = sorted(n for n in ns if n is not None)
        med = (f'{int(np.median(found))}' if len(found) == len(ns) else
               f'{found[len(ns) // 2]}' if len(found) > len(ns) // 2 else '>1000')
        rng_s = f'{min(found) if found else ">1000"}–{max(found) if len(found) == len(ns) else ">1000"}'
        top = {}
        for _, fs in res:
            for f in fs[:3]: top[f] = top.get(f, 0) + 1
        feats = ', '.join(f for f, _ in sorted(top.items(), key=lambda kv: -kv[1])[:3]) or '–'
        out['detection'][name] = {'description': desc, 'requests_to_alarm': ns, 'features': [fs for _, fs in res]}
        print(f'| {desc} | {med} | {rng_s} | {feats} |', flush=True)
    out['seconds'] = round(time.time() - t0, 1)
    print(f'\n{out["seconds"]:.0f} s in all')
    if a.out: Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == '__main__':
    main()
