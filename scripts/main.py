"""The main job: data report → train → evaluate → export a servable model. `make main` runs it.

    .venv/bin/python scripts/main.py --params params/cpu.yaml --eval-params params/eval.yaml

1. checks both params files (TrainConfig, EvalConfig) before anything is created;
2. loads CIFAKE (decoding and caching it on first use) and prints the class balance and duplicate audit;
3. trains with papermill (`cifake-run train`), selecting the model on the validation split;
4. evaluates it on the test split (`cifake-run evaluate`): temperature and threshold fitted on validation,
   written into the evaluation's metrics.json (a `cifake_nb.core.EvalReport`);
5. exports it to ONNX (`<run>/export/`) with the decision rule read from that report by the checkpoint's
   SHA-256 (`export_checkpoint(..., report=...)`: no number is copied), ready for the demo:
   `cifake-demo --model-dir <run>/export`.
How long it takes, measured, with the machine and the commit: README.md, "How long" (the one place it is written).
"""
import argparse, sys, time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--params', default='params/cpu.yaml', help='training parameters (TrainConfig fields)')
    ap.add_argument('--eval-params', default='params/eval.yaml', help='evaluation parameters (EvalConfig fields)')
    ap.add_argument('--runs-dir', default=None, help="parent folder of the run folders (default: the params' runs_dir, else runs)")
    a = ap.parse_args(argv)
    from cifake_nb.core import EvalReport
    from cifake_nb.data import load_cifake, default_source, class_counts, duplicate_audit
    from cifake_nb.export import export_checkpoint
    from cifake_nb.runs import check_eval_params, check_train_params, read_params, run_evaluate, run_train
    try:
        check_train_params(read_params([a.params]))
        check_eval_params(read_params([a.eval_params]))
    except (FileNotFoundError, ValueError) as e:
        ap.exit(2, f'main.py: error: {e}\n')
    t0 = time.perf_counter()
    print('== 1/4 data', flush=True)
    try: ds = load_cifake(default_source())
    except (ConnectionError, OSError, ValueError) as e:  # no data and no network, or a damaged copy: one line, what to set
        ap.exit(1, f'main.py: error: {e}\n')
    print(ds, class_counts(ds).to_string(), duplicate_audit(ds).to_string(), sep='\n')
    print(f'\n== 2/4 train ({a.params})', flush=True)
    run = run_train(a.params, runs_dir=a.runs_dir)
    print(f'\n== 3/4 evaluate ({a.eval_params})', flush=True)
    ev = run_evaluate(a.eval_params, [str(run)], runs_dir=a.runs_dir)
    report = EvalReport.from_json(ev / 'metrics.json')
    print('\n== 4/4 export to ONNX', flush=True)
    info = export_checkpoint(run, run / 'export', report=report)
    ce = report.for_checkpoint(info['checkpoint_sha256'])
    test = ce.test
    print(f"\nrun: {run}\nevaluation: {ev}\ntest accuracy {100 * test['accuracy']:.2f}% (temperature {ce.temperature:.3f} and threshold "
          f"{ce.threshold:.3f} fitted on {ce.val_split.get('fitted_on', 'validation')}), ROC-AUC {test['roc_auc']:.4f}, ECE {test['ece']:.4f}\n"
          f"model {info['version']} exported to {run / 'export'}; try it: .venv/bin/cifake-demo --model-dir {run / 'export'}\n"
          f'total {(time.perf_counter() - t0) / 60:.1f} min')
    return 0


if __name__ == '__main__': sys.exit(main())
