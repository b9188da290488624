#!/usr/bin/env python
"""Publish the recipe comparison (nbs/evaluate_recipes.ipynb, run with papermill) on the site, and write what
the shipped model survives, in numbers, into its model.json and model card.

    papermill nbs/evaluate_recipes.ipynb runs/compare/evaluate_recipes.ipynb -p out_dir runs/compare \\
        -p clean_runs '["runs/cpu_s1-..."]' -p robust_runs '["runs/cpu_robust_s2-..."]' [-p prior nbs/results/recipes.json]
    python scripts/publish_recipes.py runs/compare

1. checks that the code is committed (as publish_results.py does: the pages must name the code that made them) and
   that the notebook `<out_dir>/evaluate_recipes.ipynb` finished;
2. writes nbs/results/evaluate_clean_vs_robust.ipynb (the executed notebook, tidied like every results page:
   `cifake_nb.publish.tidy_page`), nbs/results/recipes.json beside it (the run's summary.json with portable paths: its
   evidence) and one record per recipe, nbs/results/recipe_<recipe>.json (`cifake_nb.results.recipe_records`: each seed's
   figures and pages, mean ± std over the seeds), from which the Results page, the home page and the README are written;
3. when the shipped model (cifake_nb/assets/default/) is the checkpoint the comparison's rule ships, writes its
   `robustness` (each mild edit, the means, what it survives at >= 96.5% and what not, the other recipe's means) and
   `ship_rule` into its model.json, rewrites its MODEL_CARD.md and the rule in nbs/results/shipped.json; otherwise it says which run to ship
   (`publish_results.py --ship`) and leaves the shipped model alone.

Numbers are copied from summary.json, never recomputed.
"""
import argparse, json, math, shutil
from pathlib import Path

from cifake_nb import publish as pr
from cifake_nb.core import ModelInfo
from cifake_nb.postproc import survival  # issue 10's survives/fails lists, shared with the int8 card
from cifake_nb.recipes import SHIP_RULE  # issue 27's rule, stated in the library before the runs
from cifake_nb.report import page_text, pct
from cifake_nb.results import SHIPPED, ShippedRecord, recipe_records, write_pages

ROOT = Path(__file__).absolute().parent.parent   # absolute, not resolved: a runs/ symbolic link stays runs/

PAGE = 'evaluate_clean_vs_robust.ipynb'
RUN_OF_VERSION = {'speednet-089f4a0c6e38': 'runs/cpu_s0-20261201-235703'}  # a seed assessed as a served folder (by its version) → the run it was exported from
ABOUT = {'clean': 'speednet, 90,000 training images, 16 epochs, no degradation; its epoch picked on clean validation.',
         'robust': 'the clean recipe trained on randomly degraded images (resampling, larger uploads, crops, blur, sharpening, colour, noise, '
                   're-JPEG), its epoch picked on clean and degraded validation.',
         'robust_kl': 'the robust recipe with each batch trained in two views, clean and degraded, and a KL term pulling the degraded '
                      "view's prediction to the clean one's; 8 epochs of both views, as many forward images as the robust recipe's 16.",
         'robust_ramp': 'the robust recipe with its degradation probabilities ramped from ×0.25 at the start to ×1 at the end.'}
SUMMARY = 'recipes.json'
TITLE = 'Recipes compared, and the ship rule'
DESCRIPTION = 'Every seed of each recipe through the Predictor: served accuracy on validation (the ship rule), clean test split, mild and untrained edits, CIFAR-10-C'


def _finite(v): return None if isinstance(v, float) and not math.isfinite(v) else v


def portable_summary(summary: dict) -> dict:
    "summary.json as published: machine paths portable, NaN as null (strict JSON), the page named."
    def fix(x):
        if isinstance(x, dict): return {k: fix(v) for k, v in x.items()}
        if isinstance(x, list): return [fix(v) for v in x]
        if isinstance(x, str): return page_text(x)
        return _finite(x)
    return {**fix(summary), 'page': f'results/{PAGE}'}


def ship_rule_text(summary: dict) -> str:
    "The shipping rule (`cifake_nb.recipes.SHIP_RULE`) and what it measured, for the model card."
    cands = [p for p in summary['per_run'] if p.get('served_val') is not None]
    ship = summary['ship']
    measured = '; '.join(f"{p['recipe']} seed {p['seed']}: served {pct(p['served_val'])}, clean {pct(p['clean_val'])}" for p in cands)
    return f"{SHIP_RULE} Measured on validation: {measured}. So the {ship['recipe']} recipe ships, seed {ship['seed']}."


def robustness_of(summary: dict, run: dict) -> dict:
    "The shipped run's `ModelInfo.robustness`: its mild and untrained edits, means, what it survives and what not, its served accuracy, the other recipes' means."
    mild = run['mild']
    other = {r: v for r, v in summary['recipes'].items() if r != run['recipe']}
    extra = {k: run[k] for k in ('untrained', 'untrained_mean', 'untrained_worst', 'served_val', 'clean_val') if run.get(k) is not None}
    return dict(n=summary['n_postproc'], mild=mild, mild_mean=run['mild_mean'], mild_worst=run['mild_worst'],
                cifar_c_1_3=run['cifar_c_1_3'], cifar_c_1_5=run['cifar_c_1_5'], **extra,
                **survival(mild),
                source=f'nbs/results/{PAGE}', other_recipe=other)


def shipped_is(run: dict, out_dir: Path, info) -> bool:
    "Whether the shipped model (`info`, a ModelInfo) is `run`'s: by checkpoint SHA-256 (or ONNX SHA-256 for a served-folder candidate) of its export, else by run folder name."
    exports = [out_dir / 'export' / Path(run['run']).name] + ([Path(run['export'])] if run.get('export') else [])
    for exp in (e / 'model.json' for e in exports):
        if exp.is_file():
            j = ModelInfo.from_json(exp)
            return bool(j.checkpoint_sha256) and j.checkpoint_sha256 == info.checkpoint_sha256 or j.onnx_sha256 == info.onnx_sha256
    return Path(run['run']).name in Path(info.exported_from).parts


def publish(out_dir, root: Path = ROOT) -> dict:
    "Write the comparison page, recipes.json and (when it is the shipped model) its robustness; returns what was done."
    root, out_dir = Path(root).absolute(), Path(out_dir)
    pr.check_committed(root)
    summ_p, nb_p = out_dir / 'summary.json', out_dir / 'evaluate_recipes.ipynb'
    if not summ_p.is_file(): raise pr.PublishError(f'{summ_p} is missing: run nbs/evaluate_recipes.ipynb with out_dir={out_dir} first')
    summary = json.loads(summ_p.read_text())
    nb = pr.prepare_notebook(nb_p, TITLE, DESCRIPTION, root)
    res = root / pr.RESULTS
    from execnb.nbio import write_nb
    write_nb(nb, res / PAGE)
    pub = portable_summary(summary)
    (res / SUMMARY).write_text(json.dumps(pub, indent=1, ensure_ascii=False) + '\n')
    runs = {p['run']: RUN_OF_VERSION[p['version']] for p in pub['per_run'] if p.get('version') in RUN_OF_VERSION}
    for name, rec in recipe_records(pub, res, runs, ABOUT).items(): rec.to_json(res / f'recipe_{name}.json')
    if (out_dir / 'tradeoff.png').is_file():  # the trade-off plot on the Results page
        (res / pr.FIGURES).mkdir(exist_ok=True)
        shutil.copyfile(out_dir / 'tradeoff.png', res / pr.FIGURES / 'tradeoff.png')
    from cifake_nb.export import model_card
    model = root / 'cifake_nb' / 'assets' / 'default'
    info = ModelInfo.from_json(model / 'model.json')
    run = next(p for p in pub['per_run'] if p['run'] == pub['ship']['run'])
    done = dict(page=f'nbs/results/{PAGE}', summary=f'nbs/results/{SUMMARY}', ship=pub['ship'], shipped_updated=False)
    if shipped_is(run, out_dir, info):
        info.robustness, info.ship_rule = robustness_of(pub, run), ship_rule_text(pub)
        info.to_json(model / 'model.json')
        (model / 'MODEL_CARD.md').write_text(model_card(info.to_dict()))
        if (res / SHIPPED).is_file():
            sh = ShippedRecord.from_json(res / SHIPPED)
            sh.rule, sh.version = info.ship_rule, info.version
            sh.to_json(res / SHIPPED)
        done['shipped_updated'] = True
    write_pages(root)
    return done


def main(argv=None):
    ap = argparse.ArgumentParser(prog='publish_recipes.py', description=__doc__.split('\n\n')[0])
    ap.add_argument('out_dir', help="the comparison's out_dir (holds evaluate_recipes.ipynb and summary.json)")
    a = ap.parse_args(argv)
    try: d = publish(a.out_dir)
    except (pr.PublishError, ValueError, OSError) as e: ap.exit(2, f'publish_recipes.py: error: {e}\n')
    ship = d['ship']
    print(f"published {d['page']} and {d['summary']}; the rule ships the {ship['recipe']} recipe, seed {ship['seed']} ({ship['run']}): "
          + ('its robustness and the rule are now in cifake_nb/assets/default/model.json and MODEL_CARD.md' if d['shipped_updated'] else
             'that is not the shipped model: ship it with scripts/publish_results.py --train <its run> --eval <its evaluation> --ship, then run this again'))
    return d


if __name__ == '__main__':
    main()
