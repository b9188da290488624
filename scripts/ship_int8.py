"""Write the static int8 sibling of a model folder (default: the shipped one, cifake_nb/assets/default/int8/), if it keeps
test accuracy within --max-delta points of the float32 model; otherwise write nothing and exit 1 with one line.

  .venv/bin/python scripts/ship_int8.py [--model cifake_nb/assets/default] [--calibration 1000] [--max-delta 0.1]

Calibration: --calibration images drawn (seed 0) from the model's own validation split (its n_val / val_seed carved from
train), never from the test split. The test split is measured once, as the ship gate, and recorded in int8/model.json and
its card; nothing is chosen on it (the quantization settings, `cifake_nb.export.STATIC_INT8`, were chosen on validation).
Serve it with `cifake-demo --int8` or `Predictor('cifake_nb/assets/default/int8')`.
"""
import argparse, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=str(ROOT / 'cifake_nb' / 'assets' / 'default'), help='exported model folder (default: the shipped model)')
    ap.add_argument('--source', default=None, help='CIFAKE data source (default: cifake_nb.data.default_source())')
    ap.add_argument('--calibration', type=int, default=1000, help='validation images to calibrate on (default 1000)')
    ap.add_argument('--max-delta', type=float, default=0.1, help='largest |int8 − float32| test accuracy change allowed, points (default 0.1)')
    ap.add_argument('--reference-images', type=int, default=5000, help='validation images in int8/reference_profile.json (0: none)')
    a = ap.parse_args(argv)
    import numpy as np
    from cifake_nb.core import ModelInfo
    from cifake_nb.data import load_cifake, default_source, train_val_split
    from cifake_nb.export import ExportError, quantize_folder
    folder = Path(a.model)
    if not (folder / 'model.json').exists(): ap.exit(1, f'ship_int8: error: {folder} has no model.json: pass an exported model folder\n')
    cfg = ModelInfo.from_json(folder / 'model.json').config or {}
    source = a.source or default_source()
    ds = load_cifake(source, progress=False)
    _, val = train_val_split(ds.train, int(cfg.get('n_val', 10_000)), int(cfg.get('val_seed', 0)))
    calib = val.images[np.random.default_rng(0).choice(len(val), min(a.calibration, len(val)), replace=False)]
    try: rec = quantize_folder(folder, calib, test=(ds.test.images, ds.test.labels), max_delta_pp=a.max_delta,
                               reference_images=a.reference_images, data_source=source)
    except ExportError as e: ap.exit(1, f'ship_int8: error: {str(e).splitlines()[0]}\n')
    r = ModelInfo.from_json(folder / 'int8' / 'model.json').quantization['report']
    print(f"ship_int8: wrote {folder / 'int8'} ({rec['version']}): test accuracy {100 * r['acc_fp32']:.2f}% float32 → {100 * r['acc_int8']:.2f}% int8 "
          f"({r['delta_points']:+.2f} pp, allowed ±{a.max_delta}), same decision on {100 * r['agree']:.2f}% of {r['n']:,} test images; "
          f"{r['bytes_int8'] / 1024:.0f} KiB against {r['bytes_fp32'] / 1024:.0f} KiB")
    print(json.dumps(rec))
    return 0


if __name__ == '__main__': sys.exit(main())
