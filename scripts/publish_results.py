#!/usr/bin/env python
"""Publish a training run and its evaluation on the docs site (and optionally ship the model).

    python scripts/publish_results.py --train runs/cpu-20261127-051500 --eval runs/eval-cpu-20261127-051500-20261127-060000
    python scripts/publish_results.py --train runs/A --train runs/B --train runs/C --eval runs/eval-A-...  # seeds, one evaluation
    python scripts/publish_results.py ... --ship     # also export the model to cifake_nb/assets/default/

What it does, after checking that the runs are complete and belong together (every train run's
checkpoint SHA-256 appears in the evaluation's metrics.json, no cell failed, the whole test split
was used unless --allow-subset):

1. copies the executed notebooks to nbs/results/train_<name>.ipynb and nbs/results/evaluate_<name>.ipynb
   (train_<name>_seed<k>.ipynb with several train runs). Outputs are kept: the figures are embedded
   PNG outputs, which Quarto writes out as the pages' images; nothing else has to be copied. Two
   presentational changes only: progress-bar widget outputs (papermill saves no widget state, so they
   would render empty) are dropped and carriage-return progress text is collapsed to its final state;
   a raw front-matter cell names the run. The notebook is then cleaned exactly as `nbdev_clean` does
   (outputs kept: settings.ini clear_all = False), so `make sync-check` stays clean.
2. writes the entry <name> of nbs/results/headline.json, which the home page (nbs/index.ipynb) renders.
3. rebuilds the Results section of nbs/sidebar.yml from the notebooks in nbs/results/.
4. with --ship: exports the checkpoint (one train run) to cifake_nb/assets/default/ with the temperature
   and threshold the evaluation fitted on validation (cifake_nb.export.export_checkpoint).
"""
from __future__ import annotations
import argparse, datetime, json, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path('nbs/results')   # relative to the project root
SIDEBAR = Path('nbs/sidebar.yml')
HEADLINE = 'headline.json'
WIDGET = 'application/vnd.jupyter.widget-view+json'
_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')
SIDEBAR_HEADER = """\
# The docs site's sidebar (settings.ini custom_sidebar = True; Quarto options: https://quarto.org/docs/websites/website-navigation.html).
# Hand-kept, except the Results section: scripts/publish_results.py rebuilds it from nbs/results/*.ipynb.
# It rewrites the whole file with this fixed header, so any other comment here would be lost.
# The API section is a glob: every numbered notebook (nbs/NN_*.ipynb) is an API page.
"""


class PublishError(ValueError):
    "A run folder is incomplete or does not match: nothing was written."


def _load_json(p: Path, what: str) -> dict:
    if not p.exists(): raise PublishError(f'{what} {p} is missing: is this the right run folder, and did the run finish?')
    try: return json.loads(p.read_text())
    except ValueError as e: raise PublishError(f'{what} {p} is not valid JSON ({e}): the file is damaged') from None


def rel(p: Path, root: Path) -> str:
    "`p` relative to `root` when inside it (as written in headline.json), else absolute."
    p = Path(p).resolve()
    try: return str(p.relative_to(root.resolve()))
    except ValueError: return str(p)


def check_executed(nb: dict, path: Path):
    "Refuse a notebook that papermill did not finish, or that holds an error output."
    pm = nb.get('metadata', {}).get('papermill', {})
    if pm.get('exception'): raise PublishError(f'{path}: papermill recorded an exception: the run failed, publish a finished one')
    for i, c in enumerate(nb.get('cells', [])):
        st = c.get('metadata', {}).get('papermill', {}).get('status')
        if st not in (None, 'completed'):
            raise PublishError(f'{path}: cell {i} has papermill status {st!r}: the run did not finish (still running, or killed)')
        if any(o.get('output_type') == 'error' for o in c.get('outputs', [])):
            raise PublishError(f'{path}: cell {i} holds an error output: the run failed, publish a finished one')
    code = [c for c in nb.get('cells', []) if c.get('cell_type') == 'code']
    if not any(c.get('outputs') for c in code): raise PublishError(f'{path}: no cell has outputs: this is not an executed notebook')


def _collapse_cr(text: str) -> str:
    "What a terminal shows for text with carriage returns: the last segment of each line."
    return '\n'.join(line.rsplit('\r', 1)[-1] for line in text.split('\n'))


def tidy_outputs(nb: dict) -> dict:
    "Drop progress-bar widget outputs (no saved widget state) and collapse carriage-return progress text."
    for c in nb.get('cells', []):
        if c.get('cell_type') != 'code': continue
        outs = []
        for o in c.get('outputs', []):
            if WIDGET in o.get('data', {}): continue
            if o.get('output_type') == 'stream':
                t = ''.join(o['text']) if isinstance(o.get('text'), list) else o.get('text', '')
                if '\r' in t: o['text'] = _collapse_cr(t)
            outs.append(o)
        c['outputs'] = outs
    return nb


def has_png(nb: dict) -> bool:
    return any('image/png' in o.get('data', {}) for c in nb.get('cells', []) for o in c.get('outputs', []))


def front_matter(title: str, description: str) -> dict:
    "A raw cell with YAML front matter (nbdev's FrontmatterProc reads it; the notebook's own title cell stays)."
    import yaml
    src = '---\n' + yaml.safe_dump({'title': title, 'description': description}, sort_keys=False, allow_unicode=True, width=10_000) + '---'
    return {'cell_type': 'raw', 'id': 'front-matter', 'metadata': {}, 'source': src}  # a fixed id: republishing is byte-stable


def clean_like_nbdev(nb: dict, root: Path) -> dict:
    "Clean `nb` with nbdev's `clean_nb` and the project's settings.ini, as `nbdev_clean` does."
    from nbdev.clean import clean_nb
    from nbdev.config import get_config
    cfg = get_config(path=root)
    clean_nb(nb, cfg.clear_all, cfg.get('allowed_metadata_keys', '').split(), cfg.get('allowed_cell_metadata_keys', '').split(), cfg.clean_ids)
    return nb


def prepare_notebook(src: Path, title: str, description: str, root: Path, need_png: bool = True) -> dict:
    "The results page for the executed notebook `src`: checked, tidied, front matter added, cleaned (not yet written)."
    if not src.exists(): raise PublishError(f'{src} is missing: the run folder holds no executed notebook')
    nb = json.loads(src.read_text(encoding='utf-8'))
    check_executed(nb, src)
    tidy_outputs(nb)
    if need_png and not has_png(nb): raise PublishError(f'{src}: no image/png output: its figures would be missing from the results page')
    cells = nb['cells']
    if cells and cells[0].get('cell_type') == 'raw' and str(''.join(cells[0].get('source', ''))).startswith('---'): cells.pop(0)
    cells.insert(0, front_matter(title, description))
    return clean_like_nbdev(nb, root)


def match_checkpoints(train_runs: list[Path], metrics: dict, eval_dir: Path) -> list[tuple[Path, dict, str]]:
    "Each train run with its model.json and the evaluation's tag for it (matched by checkpoint SHA-256)."
    by_sha = {(r.get('sha256') or ''): tag for tag, r in (metrics.get('checkpoints') or {}).items()}
    out = []
    for t in train_runs:
        meta = _load_json(t / 'model.json', 'checkpoint sidecar')
        tag = by_sha.get(meta.get('sha256') or '-')
        if tag is None:
            raise PublishError(f'evaluation {eval_dir} did not evaluate the checkpoint of {t} (SHA-256 {str(meta.get("sha256"))[:12]}…); '
                               f'it evaluated {sorted(by_sha.values())}: pass the matching --eval folder')
        out.append((t, meta, tag))
    return out


def _portable(params: dict, root: Path) -> dict:
    "Evaluation parameters with this machine's paths made relative to the project root."
    out = dict(params)
    if out.get('checkpoints'): out['checkpoints'] = [rel(Path(c), root) for c in out['checkpoints']]
    if out.get('out_dir'): out['out_dir'] = rel(Path(out['out_dir']), root)
    return out


def headline_entry(name: str, matched: list, metrics: dict, train_dir_pages: list[str], eval_page: str, eval_dir: Path, root: Path) -> dict:
    "The home page's row for this run: what, how well, on what, with which command, and where the evidence is."
    summ = metrics.get('summary') or {}
    acc, auc = summ.get('accuracy') or {}, summ.get('roc_auc') or {}
    if acc.get('mean') is None: raise PublishError(f'{eval_dir / "metrics.json"} has no summary.accuracy.mean: not a cifake_nb evaluation?')
    metas = [m for _, m, _ in matched]
    first_t, first_meta, first_tag = matched[0]
    ck = (metrics.get('checkpoints') or {}).get(first_tag, {})
    train_seconds = [json.loads((t / 'summary.json').read_text()).get('train_seconds') if (t / 'summary.json').exists() else None for t, _, _ in matched]
    data = metrics.get('data') or {}
    env = metrics.get('environment') or {}
    cfgs = [m.get('config') or {} for m in metas]
    return {
        'name': name,
        'model': first_meta.get('model'), 'model_kwargs': first_meta.get('model_kwargs'), 'n_params': first_meta.get('n_params'),
        'n_checkpoints': len(matched), 'seeds': [c.get('seed') for c in cfgs], 'epochs': cfgs[0].get('epochs'),
        'test_accuracy': acc.get('mean'), 'test_accuracy_std': acc.get('std'),
        'test_accuracy_ci95': (ck.get('test') or {}).get('accuracy_ci') if len(matched) == 1 else None,
        'test_roc_auc': auc.get('mean'), 'test_roc_auc_std': auc.get('std'),
        'n_test': data.get('n_test'), 'n_test_total': data.get('n_test_total'),
        'temperature': ck.get('temperature') if len(matched) == 1 else None, 'threshold': ck.get('threshold') if len(matched) == 1 else None,
        'train_seconds': train_seconds, 'train_hardware': first_meta.get('hardware'), 'eval_hardware': env.get('device_name'),
        'train_command': first_meta.get('command') or cfgs[0].get('command'), 'eval_params': _portable(metrics.get('params') or {}, root),
        'code_version': first_meta.get('code_version'), 'eval_code_version': metrics.get('code_version'),
        'data_fingerprint': first_meta.get('data_fingerprint'),
        'train_runs': [rel(t, root) for t, _, _ in matched], 'eval_run': rel(eval_dir, root),
        'train_pages': train_dir_pages, 'eval_page': eval_page,
        'evaluated_utc': metrics.get('created_utc'),
        'published_utc': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
    }


def write_headline(path: Path, entry: dict, published: list | None, shipped: bool) -> dict:
    "Add or replace `entry` in headline.json (one entry per run name); keep the published reference numbers."
    d = json.loads(path.read_text()) if path.exists() else {}
    runs = d.get('runs') or {}
    if shipped:
        for r in runs.values(): r['shipped'] = False
    entry = {**entry, 'shipped': bool(shipped)}  # re-publishing a name without --ship: the served model is not this run's
    runs[entry['name']] = entry
    d = {'about': 'Written by scripts/publish_results.py; rendered by nbs/index.ipynb. Accuracies are fractions of the test split.',
         'runs': dict(sorted(runs.items())), 'published': published if published is not None else d.get('published', [])}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n')
    return d


_PAGE_RE = re.compile(r'^(train|evaluate)_(.+)\.ipynb$')


def results_entries(results_dir: Path, headline: dict | None = None) -> list:
    "Sidebar items for the results notebooks in `results_dir`: the overview page, then per run name its training page(s) and evaluation."
    pages = sorted(p.name for p in results_dir.glob('*.ipynb') if _PAGE_RE.match(p.name))
    def key(n):
        kind, rest = _PAGE_RE.match(n).groups()
        base = re.sub(r'_seed\d+$', '', rest)
        return (base, kind != 'train', rest)
    items = ['results/index.qmd']
    for n in sorted(pages, key=key):
        kind, rest = _PAGE_RE.match(n).groups()
        items.append({'href': f'results/{n}', 'text': f"{rest}: {'training' if kind == 'train' else 'evaluation'}"})
    return items


def update_sidebar(sidebar: Path, results_dir: Path) -> dict:
    "Rewrite the Results section of `sidebar` from the notebooks in `results_dir`; everything else is kept."
    import yaml
    d = yaml.safe_load(sidebar.read_text())
    contents = d['website']['sidebar']['contents']
    sec = next((s for s in contents if isinstance(s, dict) and s.get('section') == 'Results'), None)
    if sec is None: raise PublishError(f'{sidebar} has no "section: Results" entry to update')
    sec['contents'] = results_entries(results_dir)
    sidebar.write_text(render_sidebar(d))
    return d


def render_sidebar(d: dict) -> str:
    "The sidebar file's text for `d`: the fixed header, then block-style YAML (as nbdev's IndentDumper writes it)."
    import yaml
    class _Indent(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False): return super().increase_indent(flow, False)
    return SIDEBAR_HEADER + yaml.dump(d, Dumper=_Indent, sort_keys=False, allow_unicode=True, width=10_000)


def publish(train_runs: list, eval_dir, name: str | None = None, root=ROOT, ship: bool = False, allow_subset: bool = False) -> dict:
    "Publish `train_runs` (one per seed) and their evaluation `eval_dir`; returns the headline entry written."
    root = Path(root).resolve()
    train_runs = [Path(t) if Path(t).is_absolute() else root / t for t in train_runs]
    train_runs = [t.parent if t.suffix == '.safetensors' else t for t in train_runs]
    eval_dir = Path(eval_dir) if Path(eval_dir).is_absolute() else root / eval_dir
    if not train_runs: raise PublishError('give at least one --train run folder')
    for t in train_runs:
        if not t.is_dir(): raise PublishError(f'train run folder {t} does not exist')
    if not eval_dir.is_dir(): raise PublishError(f'evaluation folder {eval_dir} does not exist')
    if ship and len(train_runs) != 1: raise PublishError('--ship needs exactly one --train run (the model to serve)')
    metrics = _load_json(eval_dir / 'metrics.json', 'evaluation metrics')
    matched = match_checkpoints(train_runs, metrics, eval_dir)
    data = metrics.get('data') or {}
    if not allow_subset and data.get('n_test') != data.get('n_test_total'):
        raise PublishError(f'{eval_dir} evaluated {data.get("n_test")} of {data.get("n_test_total")} test images (limit_test): a subset is not '
                           f'a headline result; evaluate on the whole split, or pass --allow-subset (the table shows the count)')
    cfg0 = (matched[0][1].get('config') or {})
    name = name or cfg0.get('run_name') or re.sub(r'-\d{8}-\d{6}(-\d+)?$', '', train_runs[0].name)
    if not _NAME_RE.match(name): raise PublishError(f'name {name!r} must be letters, digits, "_", "." or "-" (it becomes a file name)')

    res = root / RESULTS
    pages, train_pages = {}, []  # every page is prepared (and checked) before anything is written
    for t, meta, tag in matched:
        seed = (meta.get('config') or {}).get('seed')
        page = f'train_{name}.ipynb' if len(matched) == 1 else f'train_{name}_seed{seed}.ipynb'
        cmd = meta.get('command') or (meta.get('config') or {}).get('command') or ''
        pages[page] = prepare_notebook(
            t / 'train.ipynb', f'Training run: {name}' + (f' (seed {seed})' if len(matched) > 1 else ''),
            f'The executed notebook of {rel(t, root)}: {cmd} ({meta.get("hardware", "hardware not recorded")}).', root)
        train_pages.append(f'results/{page}')
    eval_page = f'evaluate_{name}.ipynb'
    env = metrics.get('environment') or {}
    pages[eval_page] = prepare_notebook(
        eval_dir / 'evaluate.ipynb', f'Evaluation: {name}',
        f'The executed notebook of {rel(eval_dir, root)}: {len(matched)} checkpoint(s) on {data.get("n_test")} test images '
        f'({env.get("device_name", "hardware not recorded")}).', root)
    entry = headline_entry(name, matched, metrics, train_pages, f'results/{eval_page}', eval_dir, root)
    from execnb.nbio import write_nb  # nbdev's notebook writer: the same bytes nbdev_clean writes
    res.mkdir(parents=True, exist_ok=True)
    for old in [res / f'train_{name}.ipynb', *res.glob(f'train_{name}_seed*.ipynb')]:
        if old.name not in pages: old.unlink(missing_ok=True)  # this name's pages from an earlier publication
    for page, nb in pages.items(): write_nb(nb, res / page)
    if ship:
        from cifake_nb.export import export_checkpoint
        t, meta, tag = matched[0]
        ck = metrics['checkpoints'][tag]
        test = ck.get('test') or {}
        export_checkpoint(t / 'model.safetensors', root / 'cifake_nb' / 'assets' / 'default', temperature=float(ck['temperature']),
                          threshold=float(ck['threshold']), overwrite=True,
                          metrics={'test_accuracy': test.get('accuracy'), 'test_roc_auc': test.get('roc_auc'), 'n_test': data.get('n_test'),
                                   'evaluation': rel(eval_dir, root)})
    d = write_headline(res / HEADLINE, entry, metrics.get('published'), ship)
    update_sidebar(root / SIDEBAR, res)
    return d['runs'][name]


def main(argv=None):
    ap = argparse.ArgumentParser(prog='publish_results.py', description=__doc__.split('\n\n')[0])
    ap.add_argument('--train', action='append', required=True, help='training run folder (repeat for several seeds evaluated together)')
    ap.add_argument('--eval', required=True, help='evaluation run folder (runs/eval-...) that evaluated those checkpoints')
    ap.add_argument('--name', help='results name (default: the training run_name, e.g. cpu)')
    ap.add_argument('--ship', action='store_true', help='also export the model to cifake_nb/assets/default/ (the demo\'s model)')
    ap.add_argument('--allow-subset', action='store_true', help='publish an evaluation on part of the test split (limit_test)')
    a = ap.parse_args(argv)
    try: e = publish(a.train, a.eval, a.name, ROOT, a.ship, a.allow_subset)
    except (PublishError, ValueError, RuntimeError) as err: ap.exit(2, f'publish_results.py: error: {err}\n')  # incl. export errors
    print(f"published {e['name']}: test accuracy {100 * e['test_accuracy']:.2f}% on {e['n_test']} images → "
          f"nbs/{e['eval_page']}, {', '.join('nbs/' + p for p in e['train_pages'])}, nbs/results/{HEADLINE}, {SIDEBAR}"
          + (' and cifake_nb/assets/default/' if a.ship else ''))
    return e


if __name__ == '__main__': main()
