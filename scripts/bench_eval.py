"""Benchmark evaluation of the 20,000 CIFAKE test images (no corruptions, no CAM).

Run by hand (not in the tests): `.venv/bin/python scripts/bench_eval.py [--checkpoint runs/<run>] [--threads 2]`.
Without a checkpoint it times the CPU model, speednet widths (16, 48, 96, 192), with random weights:
the time does not depend on the weights. Prints, best of `--repeats`:
  * inference: `predict_logits` on all test images (uint8 → logits), images/s;
  * metrics: `evaluate_predictions` with 1,000 bootstrap resamples, per-category accuracy, calibration;
  * total: inference + metrics (cifake_nb.evaluate's test pass; target ≤ 30 s on 2 cores), and its CPU time
    (process time / threads ≈ the wall time on idle cores, a figure that survives a busy machine).
The validation pass (temperature and threshold, 10,000 images) is timed separately.
"""
import argparse, os, platform, time

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--checkpoint', default=None, help='run folder or model.safetensors (default: random-weight speednet 16-48-96-192)')
    ap.add_argument('--source', default=None, help='data source (default: cifake_nb.data.default_source())')
    ap.add_argument('--threads', type=int, default=0, help='torch CPU threads (0: leave the default)')
    ap.add_argument('--batch-size', type=int, default=1024)
    ap.add_argument('--repeats', type=int, default=2)
    ap.add_argument('--n-boot', type=int, default=1000)
    a = ap.parse_args()

    import torch
    from cifake_nb.data import default_source, load_cifake, validation_split_of
    from cifake_nb.models import create_model, count_params
    from cifake_nb.checkpoint import load_checkpoint
    from cifake_nb.device import predict_logits
    from cifake_nb.evaluate import fit_decision_rule
    from cifake_nb.metrics import evaluate_predictions
    if a.threads: torch.set_num_threads(a.threads)
    ds = load_cifake(a.source or default_source(), progress=False)
    if a.checkpoint:
        model, meta = load_checkpoint(a.checkpoint)
        name = f"{meta['model']} {meta.get('model_kwargs', {})} from {a.checkpoint}"
    else:
        model = create_model('speednet', widths=(16, 48, 96, 192)).eval()
        name = 'speednet (16, 48, 96, 192), random weights'
    print(f'model: {name}, {count_params(model):,} params | torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'{os.cpu_count()} cores ({platform.processor() or platform.machine()}) | load average {os.getloadavg()[0]:.1f}')

    test = ds.test
    predict_logits(model, test.images[:a.batch_size], a.batch_size)  # warm-up
    val = validation_split_of(ds, None)  # the default run's split: n_val 10,000, val_seed 0
    t = time.perf_counter()
    lv = predict_logits(model, val.images, a.batch_size)
    T, thr = fit_decision_rule(lv, val.labels)
    t_val = time.perf_counter() - t
    inf, met, cpu = [], [], []
    for _ in range(a.repeats):
        t, c = time.perf_counter(), time.process_time()
        logits = predict_logits(model, test.images, a.batch_size)
        inf.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        m = evaluate_predictions(test.labels, logits, test.categories, T, thr, n_boot=a.n_boot)
        met.append(time.perf_counter() - t)
        cpu[-1] += time.process_time() - c
    n = len(test)
    print(f'validation pass ({len(val):,} images, temperature + threshold): {t_val:.1f} s')
    print(f'test inference: {min(inf):.1f} s for {n:,} images ({n / min(inf):,.0f} images/s)   [all: {", ".join(f"{x:.1f}" for x in inf)}]')
    print(f'test metrics ({a.n_boot} bootstrap resamples): {min(met):.2f} s')
    print(f'test evaluation total: {min(inf) + min(met):.1f} s ({n / (min(inf) + min(met)):,.0f} images/s)   [target ≤ 30 s on 2 cores]')
    th = torch.get_num_threads()
    print(f'CPU time of the test evaluation: {min(cpu):.1f} CPU-s → about {min(cpu) / th:.1f} s wall on {th} otherwise idle cores '
          f'(wall above is longer when other processes share the cores)')
    print(f"(accuracy {m['accuracy']:.4f}, AUC {m['roc_auc']:.4f}: meaningless with random weights)" if not a.checkpoint else
          f"accuracy {m['accuracy']:.4f}, AUC {m['roc_auc']:.4f}, T {T:.3f}, threshold {thr:.3f}")

if __name__ == '__main__': main()
