"""CPU training-step throughput by precision and compilation (issue 14 item 1): fp32, fp32 channels-last, bf16 autocast,
bf16 + torch.compile (inductor), for `speednet` and the larger registered models.

Run by hand on an otherwise idle machine (not in the tests):
    OMP_WAIT_POLICY=PASSIVE .venv/bin/python scripts/bench_precision.py [--models speednet paper_cnn resnet18] [--steps 30]
Each row: images/s of full training steps (forward, loss, backward, SGD step) on random 32×32 batches of 256, after
warm-up steps (the compile time is reported apart). Accuracy is not measured here: the CPU recipes' seeds are the
accuracy evidence (params/cpu.yaml with `cpu_amp: true`, nbs/results/).
"""
import argparse, json, os, platform, sys, time

def bench(name: str, mode: str, steps: int, bs: int = 256) -> dict:
    "Training-step throughput of model `name` in `mode` ('fp32', 'fp32-nchw', 'bf16', 'bf16-compile')."
    import torch, torch.nn.functional as F
    from cifake_nb.models import create_model
    torch.manual_seed(0)
    kw = {'widths': [16, 48, 96, 192]} if name == 'speednet' else {}
    m = create_model(name, **kw)
    cl = mode != 'fp32-nchw'
    if cl: m = m.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    t_c = time.perf_counter(); fm = torch.compile(m) if mode.endswith('compile') else m
    x = torch.rand(bs, 3, 32, 32); y = torch.randint(0, 2, (bs,))
    if cl: x = x.contiguous(memory_format=torch.channels_last)
    def step():
        with torch.autocast('cpu', torch.bfloat16, enabled=mode.startswith('bf16')):
            loss = F.cross_entropy(fm(x).float(), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    for _ in range(3): step()
    warm = time.perf_counter() - t_c
    t0 = time.perf_counter()
    for _ in range(steps): step()
    return dict(model=name, mode=mode, img_s=steps * bs / (time.perf_counter() - t0), warmup_s=warm)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--models', nargs='+', default=['speednet', 'paper_cnn', 'resnet18'])
    ap.add_argument('--modes', nargs='+', default=['fp32-nchw', 'fp32', 'bf16', 'bf16-compile'])
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--out', help='also write the rows and the machine as JSON here (published with publish_results.py --precision)')
    a = ap.parse_args()
    import torch
    cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.machine())
    bf16 = torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    print(f'{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, oneDNN bf16: {bf16}, '
          f'load average {os.getloadavg()[0]:.1f}\n')
    print('| model | mode | train img/s | × fp32 | warm-up s |\n|---|---|---|---|---|')
    rows = []
    for name in a.models:
        base = None
        for mode in a.modes:
            r = bench(name, mode, a.steps)
            if mode == 'fp32': base = r['img_s']
            rows.append(r)
            print(f"| {name} | {mode} | {r['img_s']:,.0f} | {r['img_s'] / base if base else float('nan'):.2f} | {r['warmup_s']:.1f} |", flush=True)

    if a.out:
        from cifake_nb.checkpoint import code_version
        with open(a.out, 'w') as f:
            json.dump(dict(hardware=f'{cpu} ({os.cpu_count()} cores)', torch=torch.__version__, threads=torch.get_num_threads(), bf16_supported=bool(bf16),
                           loadavg=os.getloadavg()[0], steps=a.steps, batch_size=256, code_version=code_version(),
                           command=' '.join(['scripts/bench_precision.py', *sys.argv[1:]]), rows=rows), f, indent=1)

if __name__ == '__main__': main()
