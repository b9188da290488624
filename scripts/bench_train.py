"""Benchmark a full training run: time, images/s, peak memory, and the final test accuracy.

Run by hand (not in the tests), on an otherwise idle machine:
    .venv/bin/python scripts/bench_train.py params/cpu.yaml          # papermill run, ~30 min on 2 cores
The run goes through `cifake-run train` (papermill, a new run folder) exactly like a normal run. The model
is selected on the validation split during training; the test split is evaluated once, here, at the end.
"""
import argparse, json, os, platform, resource, time
import numpy as np

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('params')
    ap.add_argument('-p', nargs=2, action='append', metavar=('KEY', 'VALUE'))
    ap.add_argument('--runs-dir', default='runs')
    a = ap.parse_args()
    import torch
    from cifake_nb.checkpoint import load_checkpoint
    from cifake_nb.core import parse_overrides
    from cifake_nb.device import accuracy, predict_logits
    from cifake_nb.runs import run_train
    from cifake_nb.data import load_cifake, default_source
    t0 = time.perf_counter()
    run = run_train(a.params, parse_overrides(a.p), a.runs_dir)
    wall = time.perf_counter() - t0
    peak_kernel_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summ = json.loads((run / 'summary.json').read_text())
    hist = summ['history']
    model, meta = load_checkpoint(run)
    ds = load_cifake(default_source(), progress=False)
    t1 = time.perf_counter()
    logits = predict_logits(model, ds.test.images, tta=meta['config'].get('tta', False))
    t_eval = time.perf_counter() - t1
    acc = accuracy(logits, ds.test.labels)
    hw = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f'{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores'
    res = dict(params=a.params, run_dir=str(run), hardware=hw, torch=torch.__version__, epochs=len(hist),
               train_seconds=round(summ['train_seconds'], 1), wall_seconds=round(wall, 1),
               images_per_second=round(float(np.mean([h['images_per_second'] for h in hist])), 1),
               best_val_acc=summ['best']['val_acc'], best_epoch=summ['best']['epoch'], test_acc=acc,
               test_eval_seconds=round(t_eval, 2), peak_rss_mb_training_kernel=round(peak_kernel_mb))
    (run / 'bench.json').write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))
    print(f"\n{a.params}: test accuracy {100 * acc:.2f}% (selected on val: {100 * summ['best']['val_acc']:.2f}% at epoch {summ['best']['epoch']}); "
          f"training {summ['train_seconds'] / 60:.1f} min at {res['images_per_second']:,.0f} img/s; peak RSS {peak_kernel_mb:,.0f} MB; on {hw}")

if __name__ == '__main__': main()
