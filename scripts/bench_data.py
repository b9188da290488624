"""Benchmark the data layer: cold decode of all CIFAKE images and warm load from the cache.

Run by hand (not in the tests): `make bench-data` or `.venv/bin/python scripts/bench_data.py [source]`.
Prints wall time and peak resident memory (this process plus its decode workers) for each phase.
"""
import argparse, os, sys, tempfile, subprocess, json

CHILD = r'''
import json, resource, sys, time
from cifake_nb.data import load_cifake
src, cache = sys.argv[1], sys.argv[2]
t = time.perf_counter(); ds = load_cifake(src, cache_dir=cache, progress=False); dt = time.perf_counter() - t
self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps(dict(seconds=dt, images=sum(len(s) for s in ds.splits.values()), peak_mb=self_kb / 1024, worker_peak_mb=kids_kb / 1024,
                      fingerprint=ds.fingerprint[:12])))
'''

def run(src, cache):
    out = subprocess.run([sys.executable, '-c', CHILD, src, cache], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])

def main():
    from cifake_nb.data import default_source
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('source', nargs='?', default=default_source())
    a = ap.parse_args()
    print(f'source: {a.source}   cores: {os.cpu_count()}')
    with tempfile.TemporaryDirectory() as cache:
        cold = run(a.source, cache)
        print(f"cold decode: {cold['images']:,} images in {cold['seconds']:.1f} s ({cold['images']/cold['seconds']:,.0f} img/s); "
              f"peak RSS main {cold['peak_mb']:.0f} MB, largest worker {cold['worker_peak_mb']:.0f} MB   [target ≤ 60 s]")
        warm = [run(a.source, cache) for _ in range(3)]
        best = min(w['seconds'] for w in warm)
        print(f"warm load from cache: best of 3 {best:.2f} s (all: {', '.join('%.2f' % w['seconds'] for w in warm)}); "
              f"peak RSS {max(w['peak_mb'] for w in warm):.0f} MB   [target ≤ 2 s]   fingerprint {warm[0]['fingerprint']}")

if __name__ == '__main__': main()
