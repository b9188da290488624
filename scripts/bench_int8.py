"""Is the int8 sibling fit to be served in float32's place? Answers, heatmaps and robustness of a model folder's two copies.

Run by hand (not in the tests; about 2 minutes on 2 cores): `.venv/bin/python scripts/bench_int8.py [--model MODEL_DIR] [--out F.json]`
- fidelity on the whole test split (`cifake_nb.inference.compare_predictors`): each copy's accuracy at its threshold, how often
  they decide alike, |Δp_fake|, and how alike the heatmaps are (per-image Pearson r of the CAMs, CAM cells of the same sign);
- robustness through the serving decode path (`cifake_nb.postproc.postproc_table`, the model card's mild edits, every setting
  of their kinds) on `--n` stratified test images, seed 0: accuracy per edit for each copy, the mild mean and the worst.
Nothing is chosen here: the quantization settings were chosen on validation (scripts/ship_int8.py); the test split only reports.
Speed is scripts/bench_predictor.py's.
"""
import argparse, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--model', default=None, help='a model folder with an int8/ sibling (default: the shipped model)')
    ap.add_argument('--source', default=None, help='CIFAKE data source (default: cifake_nb.data.default_source())')
    ap.add_argument('--n', type=int, default=2000, help='test images for the robustness table (stratified, seed 0; default 2000)')
    ap.add_argument('--out', help='also write the figures to this JSON file')
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import numpy as np
    from cifake_nb.data import default_source, load_cifake
    from cifake_nb.inference import ModelError, Predictor, compare_predictors, default_model_dir
    from cifake_nb.postproc import MILD_KINDS, mild_summary, postproc_table, predictor_scores, stratified_sample
    folder = Path(a.model) if a.model else default_model_dir()
    try: f32, q8 = Predictor(folder), Predictor(folder / 'int8')
    except ModelError as e: ap.exit(1, f'bench_int8: error: {e} (write the int8 sibling with scripts/ship_int8.py --model {folder})\n')
    ds = load_cifake(a.source or default_source(), progress=False)
    x, y = ds.test.images, np.asarray(ds.test.labels)
    fid = compare_predictors(f32, q8, x, y)
    print(f"{f32.version} (float32) against {q8.version} (int8), {fid['n']:,} test images:\n"
          f"  accuracy {100 * fid['acc_reference']:.2f}% → {100 * fid['acc_other']:.2f}%, same decision on {100 * fid['same_decision']:.2f}%, "
          f"|Δp_fake| mean {fid['p_fake_diff_mean']:.4f}, p99 {fid['p_fake_diff_p99']:.4f}, max {fid['p_fake_diff_max']:.4f}\n"
          f"  heatmaps: Pearson r mean {fid['cam_r_mean']:.4f}, 1st percentile {fid['cam_r_p1']:.4f}; CAM cells of the same sign {100 * fid['cam_same_sign']:.2f}%",
          flush=True)
    idx = stratified_sample(y, a.n, seed=0)
    rob = {}
    for name, p in (('float32', f32), ('int8', q8)):
        df = postproc_table(predictor_scores(p), x[idx], y[idx], threshold=p.threshold, kinds=MILD_KINDS, seed=0, progress=False)
        rob[name] = dict(mild_summary(df), table=[dict(kind=r.kind, setting=r.setting, accuracy=r.accuracy) for r in df.itertuples()])
    print(f'robustness, {len(idx):,} test images through the serving decode path (accuracy %):')
    print('| edit | float32 | int8 |\n|---|---|---|')
    for k, v in rob['float32']['mild'].items(): print(f"| {k} | {100 * v:.1f} | {100 * rob['int8']['mild'][k]:.1f} |")
    for k in ('clean', 'mild_mean', 'mild_worst'): print(f"| **{k}** | {100 * rob['float32'][k]:.1f} | {100 * rob['int8'][k]:.1f} |")
    every = [(r['kind'], r['setting'], r['accuracy'], s['accuracy']) for r, s in zip(rob['float32']['table'], rob['int8']['table'])]
    worst = max(every, key=lambda t: abs(t[2] - t[3]))
    print(f'largest gap over all {len(every)} edits × settings: {worst[0]} {worst[1]}: {100 * worst[2]:.1f}% float32, {100 * worst[3]:.1f}% int8')
    if a.out: Path(a.out).write_text(json.dumps(dict(float32=f32.version, int8=q8.version, fidelity=fid, robustness=rob), indent=1))
    return 0


if __name__ == '__main__': sys.exit(main())
