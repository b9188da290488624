"""Accuracy per CPU minute, side by side (issue 14): each model trained with its recipe at fixed time budgets on the same
machine and data, one run after another, each scored once on the test split; a table and an accuracy-vs-minutes plot.

Run by hand on an otherwise idle machine (about 75 minutes on 2 cores; not in the tests):
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python scripts/bench_budget.py                   # the full plan below
    .venv/bin/python scripts/bench_budget.py --budgets 1 3 --seeds-at 3 --models speednet seed_cnn   # a subset
    .venv/bin/python scripts/bench_budget.py --smoke        # seconds, on tiny synthetic data: checks the script runs
    .venv/bin/python scripts/bench_budget.py --models speednet --budgets 3 --ours-also --seeds 1 -p cpu_amp false --label speednet-fp32
                                                            # a variant: every run of it with a parameter changed, as its own line
    .venv/bin/python scripts/bench_budget.py --models seed_cnn --budgets 3 --ours-also --only-seeds 2   # redo one run
    python scripts/bench_budget.py --device cuda --unit s --budgets 10 30 60 120 --ours-also --seeds 1 -p compile false
                                                            # on a GPU: budgets in seconds, the GPU recipes (GPU_MODELS)
Publish one or several of its folders (rows of the same model, budget and seed: the later folder's win) on the Results
page with `python scripts/publish_results.py --budget runs/bench_budget-<UTC> [...]`.

Models and recipes: `seed_cnn` with its own recipe (params/seed_cnn.yaml: Adam, lr 1e-3, batch 32, constant LR),
`speednet` with ours for a budget (params/cpu.yaml + params/budget.yaml, batch 128 / lr 0.07, while the budget buys under
2 epochs here; params/cpu.yaml, batch 256 / lr 0.1, from there on: `ours_recipe`), `paper_cnn` with
params/cpu.yaml (batch 256, lr 0.1), the model swapped. Each run is
`cifake_nb.train.train` with `time_budget_min` (the schedule fitted to the budget from the measured throughput,
`epochs` only a ceiling) in this process, on data loaded once; budgets 1, 3 and 10 minutes for every model, 30 for
ours, 3 seeds at the 3-minute budget (the seed's 2-epoch Adam recipe swings by points from seed to seed). Selection
is on validation as in every run; the test accuracy (argmax, no threshold fitted) is computed once per run, here.
Writes runs/bench_budget-<UTC>/{results.json, table.md, accuracy_vs_minutes.png}.
"""
import argparse, json, os, platform, statistics, sys, time
from pathlib import Path

PLAN_MODELS = {'seed_cnn': ('params/seed_cnn.yaml', {}), 'paper_cnn': ('params/cpu.yaml', {'model': 'paper_cnn', 'model_kwargs': {}}),
               'speednet': (None, {})}  # ours: the params files follow the budget (ours_recipe)
GPU_MODELS = {'seed_cnn': ('params/seed_cnn.yaml', {}), 'paper_cnn': (['params/gpu.yaml', 'params/gpu_paper_cnn.yaml'], {}),
              'speednet': ('params/gpu.yaml', {})}  # on CUDA: the GPU recipe (paper_cnn at its own lr: gpu.yaml's 0.4 kills it), the seed's own for seed_cnn
OURS_SHORT, OURS_LONG = ['params/cpu.yaml', 'params/budget.yaml'], 'params/cpu.yaml'
BIG_BATCH_FROM_EPOCHS = 2.0  # params/budget.yaml: its batch 128 pays while a budget buys under ~2 epochs; batch 256 from there


def ours_recipe(budget: float, rows: list[dict], probe=None):
    """speednet's params files at `budget` minutes: params/budget.yaml's batch 128 while the budget buys fewer than
    `BIG_BATCH_FROM_EPOCHS` epochs on this machine, params/cpu.yaml's batch 256 from there on (what validation found:
    params/budget.yaml's comment). Epochs per minute come from the speednet runs this bench already did (a CPU step costs
    the same per image at batch 128 and 256), else from `probe()` (epochs per minute), else the short-budget recipe."""
    done = [r for r in rows if r['arch'] == 'speednet' and r.get('used_min')]
    rate = (lambda r: r['epochs_done'] / r['used_min'])(max(done, key=lambda r: r['used_min'])) if done else probe() if probe else None
    return OURS_SHORT if rate is None or rate * budget < BIG_BATCH_FROM_EPOCHS else OURS_LONG


def score_selected(run_dir, ds, device='cpu') -> float:
    """Test accuracy (argmax; with the mirror TTA of a recipe that validates with it) of the run's selected weights: its `model.safetensors`, the epoch validation picked (as every
    run is judged), not the weights the last step left (for a constant-LR recipe those can be far from its best epoch)."""
    from cifake_nb.checkpoint import load_checkpoint
    from cifake_nb.device import accuracy, predict_logits
    model, _ = load_checkpoint(run_dir, device=device)
    tta = json.loads((Path(run_dir) / 'config.json').read_text()).get('tta', False)  # as the run validated (params/gpu.yaml: mirror TTA)
    return accuracy(predict_logits(model, ds.test.images, tta=tta), ds.test.labels)


def rescore(folder: Path, ds) -> Path:
    "Score every run of an earlier bench folder's results.json on its selected checkpoint (no training); the old figure kept as test_acc_final."
    f = folder / 'results.json'
    d = json.loads(f.read_text())
    for r in d['rows']:
        if r.get('scored') == 'selected checkpoint': continue
        r['test_acc_final'], r['test_acc'], r['scored'] = r['test_acc'], score_selected(r['run_dir'], ds), 'selected checkpoint'
        r['best_epoch'] = json.loads((Path(r['run_dir']) / 'model.json').read_text()).get('metrics', {}).get('epoch')
        print(f"{r['model']} {r['budget_min']:g} min seed {r['seed']}: final weights {100 * r['test_acc_final']:.2f}% → selected (epoch "
              f"{r['best_epoch']}) {100 * r['test_acc']:.2f}%", flush=True)
    d['rescored'] = 'test_acc of the selected checkpoints, by scripts/bench_budget.py --rescore (test_acc_final: the weights of the last step, as first scored)'
    f.write_text(json.dumps(d, indent=1))
    return folder


def accel(torch, device) -> str:
    "What trains on `device`, as the table names it: the CPU's vector instructions (`cpu_isa`), or 'CUDA 13.0, bf16 autocast'."
    return f'CUDA {torch.version.cuda}, bf16 autocast' if device.type == 'cuda' else cpu_isa(torch)


def warm_up(torch, dev) -> float:
    """Seconds spent starting CUDA (context, cuBLAS/cuDNN handles, kernels loaded) with one throwaway bf16 conv step, before the
    first budget rather than inside it: on the H200 the first budget's first epoch ran at ~15,000 img/s, every later one at
    ~122,000. Nothing on a CPU."""
    if dev.type != 'cuda': return 0.0
    t = time.perf_counter()
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 64, 3, padding=1),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 2)).to(dev, memory_format=torch.channels_last)
    x = torch.rand(256, 3, 32, 32, device=dev).contiguous(memory_format=torch.channels_last)
    with torch.autocast('cuda', torch.bfloat16): loss = nn.functional.cross_entropy(net(x), torch.zeros(256, dtype=torch.long, device=dev))
    loss.backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    torch.cuda.synchronize(dev)
    return time.perf_counter() - t


def cpu_isa(torch) -> str:
    "The vector instructions training can use here, as the table names them: 'AVX-512 + BF16 (bf16 autocast)' or 'AVX2, no bf16 (fp32)'."
    flags = next((l.split(':', 1)[1].split() for l in open('/proc/cpuinfo') if l.startswith('flags')), []) if os.path.exists('/proc/cpuinfo') else []
    vec = 'AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags else 'no AVX2'
    bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return f'{vec} + BF16 (bf16 autocast)' if bf16 else f'{vec}, no bf16 (cpu_amp falls back to fp32)'


def probe_rate(ds, out: Path, sets: dict) -> float:
    "Epochs per minute of speednet training here: one 15-second budgeted run (validation on 1,000 images; never scored)."
    from cifake_nb.core import read_params
    from cifake_nb.train import TrainConfig, train
    p = {**read_params(OURS_SHORT), **sets, 'time_budget_min': 0.25, 'epochs': 1000, 'val_limit': 1000, 'run_name': 'probe',
         'runs_dir': str(out / 'probe'), 'progress': False, 'progress_every_s': 0.0, 'wandb': 'disabled'}
    tb = train(TrainConfig.from_dict(p), ds)['time_budget']
    rate = tb['steps'] / tb['ceiling_steps'] * 1000 / tb['used_min']
    print(f'probe: speednet trains {rate:.2f} epochs a minute here (15 s budgeted run): batch 256 (params/cpu.yaml) from '
          f'{BIG_BATCH_FROM_EPOCHS / rate:.1f} minutes on, batch 128 (params/budget.yaml) below', flush=True)
    return rate


def plan(models, budgets, ours_extra, seeds_at, n_seeds):
    "The (model, budget in minutes, seed) runs, in the order they run."
    out = []
    for m in models:
        for b in sorted(set(budgets) | (set(ours_extra) if m == 'speednet' else set())):
            out += [(m, b, s) for s in (range(n_seeds) if b == seeds_at else [0])]
    return out


def unit_of(rows: list[dict]) -> str:
    "'s' when the rows' budgets were given in seconds (`--unit s`, GPU tables), else 'min'."
    return rows[0].get('unit', 'min') if rows else 'min'


def budget_label(b: float, unit: str) -> str:
    "A budget of `b` minutes as the table heads it: '3 min', or '30 s' in a table in seconds."
    return f'{60 * b:.4g} s' if unit == 's' else f'{b:g} min'


def table_md(rows: list[dict], hardware: str) -> str:
    "Mean (± std over seeds where there are several) test accuracy per model and budget, with minutes used and epochs done."
    models = list(dict.fromkeys(r['model'] for r in rows))
    budgets = sorted({r['budget_min'] for r in rows})
    def cell(m, b):
        rs = [r for r in rows if r['model'] == m and r['budget_min'] == b]
        if not rs: return '—'
        a = [100 * r['test_acc'] for r in rs]
        return f'{statistics.fmean(a):.2f}%' + (f' ± {statistics.stdev(a):.2f} ({len(a)} seeds)' if len(a) > 1 else '') + \
            f" [{statistics.fmean(r['epochs_done'] for r in rs):.1f} ep]"
    lines = [f'Test accuracy after a training budget ({hardware}; [epochs done]):', '',
             '| model | ' + ' | '.join(budget_label(b, unit_of(rows)) for b in budgets) + ' |', '|---|' + '---|' * len(budgets)]
    lines += [f'| `{m}` | ' + ' | '.join(cell(m, b) for b in budgets) + ' |' for m in models]
    return '\n'.join(lines) + '\n'


def plot(rows: list[dict], path: Path, hardware: str):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.6))
    k, unit = (60, 'seconds') if unit_of(rows) == 's' else (1, 'minutes')
    for m in dict.fromkeys(r['model'] for r in rows):
        bs = sorted({r['budget_min'] for r in rows if r['model'] == m})
        ys = [[100 * r['test_acc'] for r in rows if r['model'] == m and r['budget_min'] == b] for b in bs]
        ax.errorbar([k * b for b in bs], [statistics.fmean(y) for y in ys], yerr=[statistics.stdev(y) if len(y) > 1 else 0 for y in ys], marker='o', capsize=3, label=m)
    ax.set_xscale('log'); ax.set_xlabel(f'training budget ({unit}, log scale)'); ax.set_ylabel('test accuracy %')
    ax.set_title(f'Accuracy per training {unit[:-1]}: {hardware}', fontsize=9); ax.grid(alpha=.3); ax.legend(fontsize=8)
    fig.tight_layout(); fig.savefig(path, dpi=120); plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--models', nargs='+', default=list(PLAN_MODELS), choices=list(PLAN_MODELS))
    ap.add_argument('--budgets', nargs='+', type=float, default=[1, 3, 10], help='budgets of every model (minutes; seconds with --unit s)')
    ap.add_argument('--ours-also', nargs='*', type=float, default=[30], help='more budgets for speednet (in --unit)')
    ap.add_argument('--seeds-at', type=float, default=3, help='the budget run with several seeds (in --unit)')
    ap.add_argument('--unit', choices=['min', 's'], default='min', help='what --budgets, --ours-also and --seeds-at count, and how the table heads them')
    ap.add_argument('--device', choices=['auto', 'cpu', 'cuda'], default='cpu', help="where to train: 'cuda' (or 'auto' with a GPU) uses the GPU recipes")
    ap.add_argument('--seeds', type=int, default=3)
    ap.add_argument('--only-seeds', nargs='+', type=int, help='run only these seeds of the plan (to redo a run)')
    ap.add_argument('-p', nargs=2, action='append', default=[], metavar=('KEY', 'VALUE'), help='a TrainConfig field set in every run (VALUE as YAML)')
    ap.add_argument('--label', help='the name of the runs\' line in the table and plot (default: the model); use it with -p')
    ap.add_argument('--runs-dir', default='runs')
    ap.add_argument('--rescore', nargs='+', metavar='DIR', help='no training: re-score earlier folders\' runs on their selected checkpoints')
    ap.add_argument('--smoke', action='store_true', help='tiny synthetic data, budgets of a few seconds: checks the script')
    a = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import torch
    from cifake_nb.checkpoint import new_run_folder
    from cifake_nb.data import default_source, load_cifake, tiny_cifake
    from cifake_nb.core import read_params
    from cifake_nb.device import hardware_name
    from cifake_nb.train import TrainConfig, train
    if a.smoke: a.budgets, a.ours_also, a.seeds_at, a.seeds, a.unit = [0.02, 0.05], [], 0.02, 2, 'min'
    if a.unit == 's': a.budgets, a.ours_also, a.seeds_at = [b / 60 for b in a.budgets], [b / 60 for b in a.ours_also], a.seeds_at / 60
    if a.device == 'cuda' and not torch.cuda.is_available(): ap.error('--device cuda: CUDA is not available here; use --device cpu')
    dev = torch.device('cuda:0' if a.device == 'cuda' or (a.device == 'auto' and torch.cuda.is_available()) else 'cpu')
    recipes = GPU_MODELS if dev.type == 'cuda' else PLAN_MODELS
    ds = tiny_cifake() if a.smoke else load_cifake(default_source(), progress=False)
    if a.rescore: return [rescore(Path(d), ds) for d in a.rescore]
    out = new_run_folder(Path(a.runs_dir), 'bench_budget')
    hardware = hardware_name(dev)
    isa = accel(torch, dev)
    warm_s = warm_up(torch, dev)
    print(f'{hardware}: {isa}' + (f'; CUDA started in {warm_s:.1f} s, before any budget' if warm_s else ''), flush=True)
    import yaml
    from cifake_nb.checkpoint import code_version
    code = code_version()  # the code the runs start with (taken once: a tree edited while they run does not rename it)
    sets = {k: yaml.safe_load(v) for k, v in a.p}
    runs = [r for r in plan(a.models, a.budgets, a.ours_also, a.seeds_at, a.seeds) if a.only_seeds is None or r[2] in a.only_seeds]
    if not runs: ap.error('no runs left to do: check --only-seeds against --seeds')
    if a.label and len(a.models) > 1: ap.error('--label names one line: give it with one --models model')
    print(f'{len(runs)} runs, {sum(b for _, b, _ in runs):.4g} minutes of training on {hardware}; results in {out}', flush=True)
    rows = []
    for i, (m, b, seed) in enumerate(runs):
        path, extra = recipes[m]
        if m == 'speednet' and dev.type == 'cpu': path = ours_recipe(b, rows, None if a.smoke else lambda: probe_rate(ds, out, sets))
        p = {**read_params(path), **extra, **sets, 'time_budget_min': b, 'epochs': 1000, 'seed': seed, 'device': str(dev),
             'run_name': f"{m}-{budget_label(b, a.unit).replace(' ', '')}-s{seed}",
             'runs_dir': str(out / 'runs'), 'progress': False, 'progress_every_s': 0.0, 'wandb': 'disabled'}
        if a.smoke: p.update(n_val=200, batch_size=50, model_kwargs={'widths': [8, 8, 8, 8]} if m == 'speednet' else p.get('model_kwargs', {}))
        t0 = time.perf_counter()
        res = train(TrainConfig.from_dict(p), ds)
        acc = score_selected(res['run_dir'], ds, dev)
        tb = res['time_budget']
        rows.append(dict(model=a.label or m, arch=m, params_file=path, set=sets, budget_min=b, unit=a.unit, seed=seed, test_acc=acc, scored='selected checkpoint',
                         val_acc=res['best']['val_acc'], best_epoch=res['best'].get('epoch'), used_min=tb['used_min'],
                         steps=tb['steps'], epochs_done=tb['steps'] / tb['ceiling_steps'] * 1000, wall_s=round(time.perf_counter() - t0, 1),
                         run_dir=res['run_dir']))
        print(f"[{i + 1}/{len(runs)}] {m} {budget_label(b, a.unit)} seed {seed}: test {100 * acc:.2f}% (val {100 * res['best']['val_acc']:.2f}%), "
              f"{tb['used_min']:.2f} min used, {rows[-1]['epochs_done']:.1f} epochs", flush=True)
        (out / 'results.json').write_text(json.dumps(dict(hardware=hardware, isa=isa, device=dev.type, warm_up_s=round(warm_s, 2), code_version=code, command=' '.join(['scripts/bench_budget.py', *(argv if argv is not None else sys.argv[1:])]), torch=torch.__version__, python=platform.python_version(),
                                                          threads=torch.get_num_threads(), cpu_count=os.cpu_count(), smoke=a.smoke, rows=rows), indent=1))
    hw = f"{hardware}, {isa.split(' (')[0]}"
    (out / 'table.md').write_text(table_md(rows, hw))
    plot(rows, out / 'accuracy_vs_minutes.png', hw)
    print(table_md(rows, hw))
    return out


if __name__ == '__main__':
    main()
