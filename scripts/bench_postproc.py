"""Post-processing robustness of a model (issue 10's baseline): every edit of `cifake_nb.postproc.EDITS` on a stratified
sample of the CIFAKE test split, each edited image written as PNG/JPEG bytes and read back by `decode_image`.

Run by hand (not in the tests):
  .venv/bin/python scripts/bench_postproc.py [--model cifake_nb/assets/default | --checkpoint runs/<run>] [--n 2000] [--out table.csv]
With `--model` (default: the shipped model) it scores through the `Predictor` (ONNX, the served temperature and threshold);
with `--checkpoint` through the torch model (temperature/threshold from --temperature/--threshold, default 1 and 0.5).
Prints the table (accuracy, ROC-AUC, FAKE→REAL and REAL→FAKE rates at the threshold, mean p_fake) and the mild-edit summary.
The test split is only measured here, never used to choose anything.
"""
import argparse, json, os, platform, time

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--model', default=None, help='exported model folder for the Predictor (default: the shipped model)')
    g.add_argument('--checkpoint', default=None, help='run folder or model.safetensors, scored with torch')
    ap.add_argument('--temperature', type=float, default=1.0, help='with --checkpoint: softmax temperature')
    ap.add_argument('--threshold', type=float, default=0.5, help='with --checkpoint: decision threshold on p_fake')
    ap.add_argument('--fit-on-val', action='store_true', help='with --checkpoint: fit temperature and threshold on its validation data '
                    '(as cifake_nb.evaluate does: clean, plus degraded for a checkpoint selected on both), instead of --temperature/--threshold')
    ap.add_argument('--source', default=None, help='data source (default: cifake_nb.data.default_source())')
    ap.add_argument('--n', type=int, default=2000, help='test images, stratified by label (half REAL, half FAKE)')
    ap.add_argument('--seed', type=int, default=0, help='seeds the sample and the random edits')
    ap.add_argument('--out', default=None, help='also write the table as .csv (and the summary as .json beside it)')
    a = ap.parse_args()

    import pandas as pd
    from cifake_nb.data import default_source, load_cifake
    from cifake_nb.postproc import postproc_table, predictor_scores, torch_scores, stratified_sample, mild_summary
    ds = load_cifake(a.source or default_source(), progress=False)
    idx = stratified_sample(ds.test.labels, a.n, a.seed)
    if a.checkpoint:
        from cifake_nb.checkpoint import load_checkpoint
        m, meta = load_checkpoint(a.checkpoint)
        if a.fit_on_val:
            from cifake_nb.evaluate import EvalConfig, load_for_evaluation, rule_on_validation
            m, ck = load_for_evaluation(a.checkpoint, ds)
            a.temperature, a.threshold, how, _ = rule_on_validation(m, ck, ds, EvalConfig(checkpoints=[a.checkpoint]))
            print(f"decision rule fitted on {how['fitted_on']} ({how['n_fit']:,} images)")
        fn, thr = torch_scores(m, a.temperature), a.threshold
        name = f"{meta['model']} {meta.get('model_kwargs', {})} from {a.checkpoint} (torch, T={a.temperature}, threshold {thr})"
    else:
        from cifake_nb.inference import Predictor
        p = Predictor(a.model)
        fn, thr = predictor_scores(p), p.threshold
        name = f'{p!r}'
    print(f'model: {name}\nsample: {len(idx):,} test images (stratified, seed {a.seed}) | {os.cpu_count()} cores '
          f'({platform.processor() or platform.machine()}) | load average {os.getloadavg()[0]:.1f}', flush=True)
    t0 = time.perf_counter()
    df = postproc_table(fn, ds.test.images[idx], ds.test.labels[idx], threshold=thr, seed=a.seed, progress=False)
    dt = time.perf_counter() - t0
    show = df.assign(setting=df.setting.map(lambda s: '' if pd.isna(s) else f'{s:g}'))
    for c in ('accuracy', 'roc_auc', 'fake_to_real', 'real_to_fake'): show[c] = (100 * show[c]).map(lambda v: f'{v:.1f}')
    show['mean_p_fake'] = show.mean_p_fake.map(lambda v: f'{v:.3f}')
    show['mean_abs_change'] = show.mean_abs_change.map(lambda v: f'{v:.2f}')
    show = show.rename(columns={'accuracy': 'acc %', 'roc_auc': 'AUC %', 'fake_to_real': 'FAKE→REAL %', 'real_to_fake': 'REAL→FAKE %',
                                'mean_abs_change': '|Δ| grey'})
    print('| ' + ' | '.join(show.columns) + ' |\n|' + '---|' * len(show.columns))  # Markdown by hand: tabulate is not a dependency
    for r in show.itertuples(index=False): print('| ' + ' | '.join(map(str, r)) + ' |')
    s = mild_summary(df)
    print(f"\nclean {100 * s['clean']:.2f}% | mild edits: mean {100 * s['mild_mean']:.2f}%, worst {100 * s['mild_worst']:.2f}% "
          f"({min(s['mild'], key=s['mild'].get)}) | all edits: mean {100 * df.accuracy[1:].mean():.2f}% | {dt:.0f} s")
    if a.out:
        df.to_csv(a.out, index=False)
        with open(os.path.splitext(a.out)[0] + '.json', 'w') as f: json.dump({'model': name, 'n': len(idx), 'seed': a.seed, **s}, f, indent=1)

if __name__ == '__main__': main()
