#!/usr/bin/env python
"""Publish a training run and its evaluation on the docs site (and optionally ship the model): a command line over
`cifake_nb.publish` (nbs/10c_publish.ipynb), which does the work and documents it.

    python scripts/publish_results.py --train runs/cpu-20261127-051500 --eval runs/eval-cpu-20261127-051500-20261127-060000
    python scripts/publish_results.py --train runs/A --train runs/B --eval runs/eval-A-...   # seeds evaluated together
    python scripts/publish_results.py ... --ship          # also export the model to cifake_nb/assets/default/ and write shipped.json
    python scripts/publish_results.py --refresh           # no run folders: re-tidy the published pages, rewrite the pages from the store
    python scripts/publish_results.py --budget DIR ...    # scripts/bench_budget.py folders: nbs/results/budget*.json
    python scripts/publish_results.py --precision JSON    # scripts/bench_precision.py --out: nbs/results/precision.json
    python scripts/publish_results.py --sweep-report NB --name cpu   # an executed nbs/sweep_report.ipynb

The records land in nbs/results/ (cifake_nb.results); every page that quotes them (Results, Benchmarks, the sidebar's
Results section, README's results block) is rewritten from them.
"""
import argparse
from pathlib import Path

from cifake_nb.publish import PublishError, publish, publish_budget, publish_precision, publish_sweep, refresh
from cifake_nb.results import BUDGETS

ROOT = Path(__file__).absolute().parents[1]   # absolute, not resolved: a runs/ symbolic link stays runs/


def main(argv=None):
    ap = argparse.ArgumentParser(prog='publish_results.py', description=__doc__.split('\n\n')[0])
    ap.add_argument('--train', action='append', help='training run folder (repeat for several seeds evaluated together)')
    ap.add_argument('--eval', help='evaluation run folder (runs/eval-...) that evaluated those checkpoints')
    ap.add_argument('--refresh', action='store_true', help='no run folders: re-tidy the published notebooks and rewrite the pages from the store')
    ap.add_argument('--sweep-report', help='an executed nbs/sweep_report.ipynb: published as nbs/results/sweep_<--name>.ipynb')
    ap.add_argument('--budget', nargs='+', metavar='DIR', help='scripts/bench_budget.py folders: the accuracy-per-budget table and plot')
    ap.add_argument('--extend', action='store_true', help="with --budget: add the folders' rows to the published table (same machine) instead of replacing it")
    ap.add_argument('--note', help='with --budget: a caveat shown under the table (a missing line, what the runs did differently)')
    ap.add_argument('--precision', metavar='JSON', help='a scripts/bench_precision.py --out file: the precision table')
    ap.add_argument('--name', help='results name (default: the training run_name, e.g. cpu)')
    ap.add_argument('--ship', action='store_true', help="also export the model to cifake_nb/assets/default/ (the demo's model)")
    ap.add_argument('--recipe', help='with --ship: the recipe the model is a seed of (default: read from its training command)')
    ap.add_argument('--allow-subset', action='store_true', help='publish an evaluation on part of the test split (limit_test)')
    a = ap.parse_args(argv)
    fail = lambda err: ap.exit(2, f'publish_results.py: error: {err}\n')
    try:
        if a.refresh:
            st = refresh(ROOT)
            print(f'refreshed nbs/results/*.ipynb and the pages that quote the store ({len(st.recipes)} recipe(s), {len(st.runs)} run(s))')
            return st
        if a.budget or a.precision:
            b = publish_budget(a.budget, ROOT, a.extend, a.note or '') if a.budget else None
            if b: print(b['table'])
            if a.precision: publish_precision(Path(a.precision), ROOT)
            print('published nbs/results/' + ' and '.join(x for x, on in ((b and BUDGETS[b['device']], a.budget), ('precision.json', a.precision)) if on)
                  + ' and nbs/benchmarks.qmd')
            return b
        if a.sweep_report:
            if not a.name: ap.error('--sweep-report needs --name (the page is nbs/results/sweep_<name>.ipynb)')
            d = publish_sweep(Path(a.sweep_report), a.name, ROOT)
            print(f"published nbs/{d['page']}" + (f" and nbs/{d['summary']}" if d.get('summary') else '') + ', nbs/sidebar.yml')
            return d
        if not a.train or not a.eval: ap.error('--train and --eval are required (or --refresh, --budget, --precision, --sweep-report)')
        e = publish(a.train, a.eval, a.name, ROOT, a.ship, a.allow_subset, a.recipe)
    except (PublishError, ValueError, OSError, KeyError, RuntimeError) as err: fail(err)  # RuntimeError: export errors
    print(f"published {e['name']}: test accuracy {100 * e['test_accuracy']:.2f}% on {e['n_test']} images → "
          f"nbs/{e['eval_page']}, {', '.join('nbs/' + p for p in e['train_pages'])}, nbs/results/evaluate_{e['name']}.json"
          + (' and cifake_nb/assets/default/ + nbs/results/shipped.json (its old int8 sibling removed: `python scripts/ship_int8.py` writes '
             'the new one, or refuses if int8 costs robustness)' if a.ship else ''))
    return e


if __name__ == '__main__': main()
