"""Write the static int8 sibling of a model folder (default: the shipped one, cifake_nb/assets/default/int8/), if it keeps
test accuracy within --max-delta points of the float32 model and every mild and untrained edit's accuracy within
--max-robust-delta points (issue 27: int8 only where it keeps robustness); otherwise write nothing, remove any int8 sibling
left from before (float32 is then served) and exit 1 with one line.

  .venv/bin/python scripts/ship_int8.py [--model cifake_nb/assets/default] [--calibration 1000] [--max-delta 0.1] [--robustness-images 2000]

Calibration: --calibration images drawn (seed 0) from the model's own validation split (its n_val / val_seed carved from
train), never from the test split. The test split is measured once, as the ship gate, and recorded in int8/model.json and
its card with how alike the two copies' heatmaps are; nothing is chosen on it (the quantization settings,
`cifake_nb.export.STATIC_INT8`, were chosen on validation). With --robustness-images N (default 2000) the int8 copy's own
accuracy after the model card's mild edits is measured on N stratified test images (seed 0, the float32 card's sample)
and its card shows those figures, not the float32 model's. `cifake-demo` serves the int8 sibling by default on a CPU
with VNNI (`--precision int8` or `float32` to choose); `Predictor('cifake_nb/assets/default/int8')` loads it.
"""
import argparse, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def refuse_int8(folder: Path, reason: str) -> str:
    "Record in `folder/model.json` that int8 was refused and why (`int8.refused`, which cifake-demo reports), removing any int8 sibling left from before; returns what was removed."
    import shutil
    from cifake_nb.core import ModelInfo
    from cifake_nb.export import model_card
    info = ModelInfo.from_json(folder / 'model.json')
    stale = str(folder / 'int8') if (folder / 'int8').exists() else ''
    shutil.rmtree(folder / 'int8', ignore_errors=True)
    info.int8 = {'refused': reason}
    info.to_json(folder / 'model.json'); (folder / 'MODEL_CARD.md').write_text(model_card(info.to_dict()))
    return stale


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--model', default=str(ROOT / 'cifake_nb' / 'assets' / 'default'), help='exported model folder (default: the shipped model)')
    ap.add_argument('--source', default=None, help='CIFAKE data source (default: cifake_nb.data.default_source())')
    ap.add_argument('--calibration', type=int, default=1000, help='validation images to calibrate on (default 1000)')
    ap.add_argument('--max-delta', type=float, default=0.1, help='largest |int8 − float32| test accuracy change allowed, points (default 0.1)')
    ap.add_argument('--reference-images', type=int, default=5000, help='validation images in int8/reference_profile.json (0: none)')
    ap.add_argument('--robustness-images', type=int, default=2000, help="stratified test images for the int8 copy's own mild-edit figures (0: keep float32's, said so in its card)")
    ap.add_argument('--max-robust-delta', type=float, default=0.2, help="largest |int8 − float32| accuracy change allowed on any mild or untrained edit, points (default 0.2; issue 27)")
    a = ap.parse_args(argv)
    import numpy as np
    from cifake_nb.core import ModelInfo
    from cifake_nb.data import load_cifake, default_source, validation_split_of
    from cifake_nb.export import ExportError, quantize_folder
    from cifake_nb.postproc import stratified_sample
    folder = Path(a.model)
    if not (folder / 'model.json').exists(): ap.exit(1, f'ship_int8: error: {folder} has no model.json: pass an exported model folder\n')
    cfg = ModelInfo.from_json(folder / 'model.json').config
    source = a.source or default_source()
    ds = load_cifake(source, progress=False)
    val = validation_split_of(ds, cfg)
    calib = val.images[np.random.default_rng(0).choice(len(val), min(a.calibration, len(val)), replace=False)]
    rob = None
    if a.robustness_images:
        if not 0 < a.robustness_images <= len(ds.test): ap.exit(1, f'ship_int8: error: --robustness-images {a.robustness_images}: expected 0 to {len(ds.test):,} (the test split)\n')
        idx = stratified_sample(ds.test.labels, a.robustness_images, seed=0)
        rob = (ds.test.images[idx], ds.test.labels[idx])
    try: rec = quantize_folder(folder, calib, test=(ds.test.images, ds.test.labels), max_delta_pp=a.max_delta,
                               reference_images=a.reference_images, data_source=source, robustness=rob,
                               max_robust_delta_pp=a.max_robust_delta if rob is not None else None)
    except ExportError as e:
        stale = refuse_int8(folder, str(e).splitlines()[0])
        ap.exit(1, f'ship_int8: error: {str(e).splitlines()[0]}' + (f'; removed the stale int8 sibling {stale}' if stale else '') + '; the refusal is recorded in model.json (int8.refused)\n')
    r = ModelInfo.from_json(folder / 'int8' / 'model.json').quantization['report']
    print(f"ship_int8: wrote {folder / 'int8'} ({rec['version']}): test accuracy {100 * r['acc_fp32']:.2f}% float32 → {100 * r['acc_int8']:.2f}% int8 "
          f"({r['delta_points']:+.2f} pp, allowed ±{a.max_delta}), same decision on {100 * r['agree']:.2f}% of {r['n']:,} test images; "
          f"{r['bytes_int8'] / 1024:.0f} KiB against {r['bytes_fp32'] / 1024:.0f} KiB; heatmaps: Pearson r {r['cam_r_mean']:.4f} (1st percentile {r['cam_r_p1']:.4f})")
    rob = ModelInfo.from_json(folder / 'int8' / 'model.json').robustness
    if rob.get('model') == 'int8':
        f32 = f" (float32: mean {100 * rob['float32_mild_mean']:.1f}%)" if rob.get('float32_mild_mean') is not None else ''
        print(f"ship_int8: int8 after the mild edits ({rob['n']:,} test images): mean {100 * rob['mild_mean']:.1f}%, worst {100 * rob['mild_worst']:.1f}%{f32}")
    print(json.dumps(rec))
    return 0


if __name__ == '__main__': sys.exit(main())
