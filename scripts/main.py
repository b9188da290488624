"""The main job: data report → train → evaluate → export a servable model. `make main` runs it.

    .venv/bin/python scripts/main.py --params params/cpu.yaml --eval-params params/eval.yaml

1. loads CIFAKE (decoding and caching it on first use) and prints the class balance and duplicate audit;
2. trains with papermill (`cifake-run train`), selecting the model on the validation split;
3. evaluates it on the test split (`cifake-run evaluate`): temperature and threshold fitted on validation;
4. exports it to ONNX with that temperature and threshold (`<run>/export/`), ready for the demo:
   `cifake-demo --model-dir <run>/export`.
On a 2-core CPU with params/cpu.yaml this takes about 35-45 minutes; with params/smoke.yaml and
params/eval_smoke.yaml about 3 minutes.
"""
import argparse, json, time
from pathlib import Path

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--params', default='params/cpu.yaml'); ap.add_argument('--eval-params', default='params/eval.yaml')
    ap.add_argument('--out-dir', default='runs')
    a = ap.parse_args()
    from cifake_nb.data import load_cifake, default_source, class_counts, duplicate_audit
    from cifake_nb.runs import run_train, run_evaluate
    from cifake_nb.export import export_checkpoint
    t0 = time.perf_counter()
    print('== 1/4 data', flush=True)
    ds = load_cifake(default_source())
    print(ds); print(class_counts(ds).to_string()); print(duplicate_audit(ds).to_string())
    print(f'\n== 2/4 train ({a.params})', flush=True)
    run = run_train(a.params, out_dir=a.out_dir)
    print(f'\n== 3/4 evaluate ({a.eval_params})', flush=True)
    ev = run_evaluate(a.eval_params, [str(run / 'model.safetensors')], out_dir=a.out_dir)
    m = json.loads((ev / 'metrics.json').read_text())
    (ck,) = m['checkpoints'].values()
    test = ck['test']
    print('\n== 4/4 export to ONNX', flush=True)
    info = export_checkpoint(run, run / 'export', temperature=ck['temperature'], threshold=test['threshold'],
                             metrics={'test_accuracy': test['accuracy'], 'test_roc_auc': test['roc_auc'], 'test_ece': test['ece'],
                                      'evaluation': str(ev)})
    print(f"\nrun: {run}\nevaluation: {ev}\ntest accuracy {100 * test['accuracy']:.2f}% (threshold {test['threshold']:.3f} and "
          f"temperature {ck['temperature']:.3f} chosen on validation), ROC-AUC {test['roc_auc']:.4f}, ECE {test['ece']:.4f}\n"
          f"model {info['version']} exported to {run / 'export'}; try it: .venv/bin/cifake-demo --model-dir {run / 'export'}\n"
          f'total {(time.perf_counter() - t0) / 60:.1f} min')

if __name__ == '__main__': main()
