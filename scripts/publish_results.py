#!/usr/bin/env python
"""Publish a training run and its evaluation on the docs site (and optionally ship the model).

    python scripts/publish_results.py --train runs/cpu-20261127-051500 --eval runs/eval-cpu-20261127-051500-20261127-060000
    python scripts/publish_results.py --train runs/A --train runs/B --train runs/C --eval runs/eval-A-...  # seeds, one evaluation
    python scripts/publish_results.py ... --ship     # also export the model to cifake_nb/assets/default/

What it does, after checking that the code is committed (a tree with uncommitted changes to anything but
what this script writes is refused: the pages and the model must name the code that made them) and that the
runs are complete and belong together (every train run's checkpoint SHA-256 appears in the evaluation's
metrics.json, read as a `cifake_nb.core.EvalReport`, no cell failed, the whole test split was used unless
--allow-subset):

1. copies the executed notebooks to nbs/results/train_<name>.ipynb and nbs/results/evaluate_<name>.ipynb
   (train_<name>_seed<k>.ipynb with several train runs). Outputs are kept: the figures are embedded
   PNG outputs, which Quarto writes out as the pages' images. Presentational changes only (`tidy_page`;
   no number or figure changes, the run folder keeps the original): progress-bar widget outputs
   (papermill saves no widget state, so they would render empty) and repeated figures are dropped,
   carriage-return progress text is collapsed to its final state, W&B chatter and ANSI colour codes are
   left out, machine paths become `runs/...`, a `<commit>+dirty` version reads "<commit>, uncommitted
   changes"; the parameters come first as a table (defaults, the injected values marked, the meaning of
   each from the defaults cell's comments) and the two parameters cells are left out of the page; code is
   folded (`code-fold`); a raw front-matter cell names the run. The notebook is then cleaned exactly as
   `nbdev_clean` does (outputs kept: settings.ini clear_all = False), so `make sync-check` stays clean.
2. writes the entry <name> of nbs/results/headline.json (with the key test metrics, the corruption table and
   the figures' paths), which the home page (nbs/index.ipynb) and the Results page render.
3. copies the evaluation's figures to nbs/results/figures/ and writes the Results page nbs/results/index.qmd
   from headline.json (`results_page`): one source for every number on the site, rounded by `pct`/`rounded`.
4. rebuilds the Results section of nbs/sidebar.yml from the notebooks in nbs/results/.
5. with --ship: exports the checkpoint (one train run) to cifake_nb/assets/default/ with the report
   (`export_checkpoint(..., report=...)`: the temperature and threshold of the report's entry for these
   weights, nobody copies them), paths in its model.json made portable.

    python scripts/publish_results.py --refresh   # no run folders: re-apply 1 and 3 to what is published
"""
from __future__ import annotations
import argparse, ast, base64, datetime, hashlib, json, re, subprocess
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path('nbs/results')   # relative to the project root
SIDEBAR = Path('nbs/sidebar.yml')
HEADLINE = 'headline.json'
FIGURES = 'figures'             # nbs/results/figures/<name>_<figure>.png: the Results page's figures
PAGE = 'index.qmd'              # nbs/results/index.qmd: the Results page, written from headline.json
BENCH_PAGE = 'benchmarks.qmd'  # nbs/benchmarks.qmd: the benchmark tables (budgets, precision), linked from Results
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


def _load_sidecar(cls, p: Path, what: str):
    "A run's JSON sidecar read through its schema (`cifake_nb.core`: CheckpointMeta, EvalReport); `PublishError` in one line otherwise."
    if not p.exists(): raise PublishError(f'{what} {p} is missing: is this the right run folder, and did the run finish?')
    try: return cls.from_json(p)
    except ValueError as e: raise PublishError(str(e)) from None


WRITES = ('nbs/results/', 'nbs/sidebar.yml', 'cifake_nb/assets/default/')  # what publishing itself changes


def check_committed(root: Path) -> str:
    "The commit the pages are made from; `PublishError` if `root` is not a git checkout or has uncommitted changes (other than `WRITES`)."
    try:
        r = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=root, capture_output=True, text=True, timeout=30)
        head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=root, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e: raise PublishError(f'cannot run git in {root} ({e}): publishing needs a git checkout') from None
    if r.returncode or not head: raise PublishError(f'{root} is not a git checkout with a commit: publish from a clone, so the pages name their code')
    dirty = [l[3:] for l in r.stdout.splitlines() if not l[3:].startswith(WRITES)]
    if dirty:
        raise PublishError(f'the working tree has uncommitted changes ({len(dirty)} file(s), e.g. {", ".join(dirty[:3])}): commit or stash them '
                           'first, so the published pages and model name the code that made them')
    return head


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


# ---------------------------------------------------------------- what a results page shows (presentational only)
# The run folder keeps everything the run printed; the published copy drops what is noise on a web page and
# makes what is machine-specific portable. No number, figure or result is changed.

_ANSI = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')
_WANDB_LINE = re.compile(r'^\s*wandb:.*(\n|$)', re.MULTILINE)
_ABS_PATH = re.compile(r'(?<![\w.~/:@-])/(?:work|root|home|tmp|Users|mnt|data|scratch|var|opt|srv)/[^\s\'"<>)\]|,;`]*')
_DIRTY = re.compile(r'\b([0-9a-f]{7,40})\+dirty\b')


def portable_path(path: str) -> str:
    "An absolute path as a results page shows it: from `runs/` on when it is inside a run folder, else `…/<last part>`."
    m = re.search(r'(?:^|/)(runs/.*)$', path)
    if m: return m.group(1)
    return '…/' + path.rstrip('/').rsplit('/', 1)[-1]


def page_text(text: str) -> str:
    """Text of an output as a results page shows it: no ANSI colour codes, no W&B chatter (the run folder's
    wandb/ keeps that), machine paths made portable, and `<commit>+dirty` spelled out."""
    t = _ANSI.sub('', text)
    t = _WANDB_LINE.sub('', t)
    t = _ABS_PATH.sub(lambda m: portable_path(m.group(0)), t)
    return _DIRTY.sub(r'\1, uncommitted changes', t)


def _as_text(x): return ''.join(x) if isinstance(x, list) else (x or '')


def tidy_outputs(nb: dict) -> dict:
    """Drop progress-bar widget outputs (no saved widget state) and repeated figures, collapse carriage-return
    progress text, and pass every text output through `page_text`; outputs left empty are dropped."""
    seen_png = set()
    for c in nb.get('cells', []):
        if c.get('cell_type') != 'code': continue
        outs = []
        for o in c.get('outputs', []):
            data = o.get('data', {})
            if WIDGET in data: continue
            if 'image/png' in data:
                h = hashlib.sha256(_as_text(data['image/png']).strip().encode()).hexdigest()
                if h in seen_png: continue  # the same figure shown twice (e.g. inline during training, then again)
                seen_png.add(h)
            if o.get('output_type') == 'stream':
                t = _as_text(o.get('text'))
                if '\r' in t: t = _collapse_cr(t)
                t = page_text(t)
                if not t.strip(): continue
                o['text'] = t
            for mime in ('text/plain', 'text/html', 'text/markdown'):
                if mime in data:
                    t = page_text(_as_text(data[mime]))
                    data[mime] = t
            outs.append(o)
        c['outputs'] = outs
    return nb


def has_png(nb: dict) -> bool:
    return any('image/png' in o.get('data', {}) for c in nb.get('cells', []) for o in c.get('outputs', []))


def _assignments(source: str) -> list[tuple[str, object, str]]:
    "(name, literal value, trailing comment) of each `name = literal  # comment` line of a papermill parameters cell."
    out, lines = [], source.splitlines()
    try: tree = ast.parse(source)
    except SyntaxError: return out
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try: v = ast.literal_eval(node.value)
            except ValueError: continue
            line = lines[node.end_lineno - 1]
            comment = line.split('#', 1)[1].strip() if '#' in line[node.value.end_col_offset:] else ''
            out.append((node.targets[0].id, v, re.sub(r'\s*\[smoke size\]\s*$', '', comment)))
    return out


def _cell_with_tag(nb: dict, tag: str) -> dict | None:
    return next((c for c in nb.get('cells', []) if c.get('cell_type') == 'code' and tag in (c.get('metadata') or {}).get('tags', [])), None)


def _md_cell_text(x) -> str:
    return str(x).replace('|', '\\|').replace('\n', ' ')


def parameters_markdown(nb: dict) -> str | None:
    """The run's parameters as a table: the values papermill injected over the notebook's defaults (marked), each
    with the meaning and unit from the defaults cell's comment. None when the notebook has no parameters cell."""
    defaults = _cell_with_tag(nb, 'parameters')
    if defaults is None: return None
    injected = _cell_with_tag(nb, 'injected-parameters')
    given = {k: v for k, v, _ in _assignments(_as_text(injected['source']))} if injected else {}
    rows = ['| parameter | value | meaning |', '|---|---|---|']
    names = set()
    for k, v, comment in _assignments(_as_text(defaults['source'])):
        names.add(k)
        val = given.get(k, v)
        shown = page_text(repr(val)) if not isinstance(val, str) else page_text(val) or "''"
        mark = ' (set by the run)' if k in given and given[k] != v else ''
        rows.append(f'| `{k}` | `{_md_cell_text(shown)}`{mark} | {_md_cell_text(comment)} |')
    for k, v in given.items():
        if k not in names: rows.append(f'| `{k}` | `{_md_cell_text(page_text(repr(v)))}` (set by the run) | |')
    return ('## Parameters of this run\n\nThe notebook\'s defaults with the values papermill injected for this run '
            '(*set by the run*); the code cells below are folded: click **Code** to see one. Numbers printed below are the run\'s '
            'own output, in Python\'s rounding of binary floats (97.675% prints as 97.67%); the [Results](index.qmd) page rounds '
            'the same stored values half up (97.68%).\n\n' + '\n'.join(rows))


def hide_parameter_cells(nb: dict) -> dict:
    """Show the run's parameters first, as a table (a markdown cell after the title), and leave the two parameters
    cells (the smoke-sized defaults and papermill's injected values) out of the page (Quarto `include: false`)."""
    md = parameters_markdown(nb)
    if md is None: return nb
    cells = nb['cells']
    cells[:] = [c for c in cells if c.get('id') != 'run-parameters']
    for tag in ('parameters', 'injected-parameters'):
        c = _cell_with_tag(nb, tag)
        if c is not None and not _as_text(c['source']).startswith('#| include: false'):  # idempotent
            c['source'] = ('#| include: false\n' + _as_text(c['source'])).splitlines(True)
    title = next((i for i, c in enumerate(cells) if c.get('cell_type') == 'markdown'), 0)
    cells.insert(title + 1, {'cell_type': 'markdown', 'id': 'run-parameters', 'metadata': {}, 'source': md.splitlines(True)})
    return nb


def front_matter(title: str, description: str) -> dict:
    """A raw cell with YAML front matter (nbdev's FrontmatterProc reads it; the notebook's own title cell stays).
    Code is folded (Quarto `code-fold`): a results page is read for its outputs."""
    import yaml
    fm = {'title': title, 'description': description, 'code-fold': True, 'code-summary': 'Code'}
    src = '---\n' + yaml.safe_dump(fm, sort_keys=False, allow_unicode=True, width=10_000) + '---'
    return {'cell_type': 'raw', 'id': 'front-matter', 'metadata': {}, 'source': src}  # a fixed id: republishing is byte-stable


def clean_like_nbdev(nb: dict, root: Path) -> dict:
    "Clean `nb` with nbdev's `clean_nb` and the project's settings.ini, as `nbdev_clean` does."
    from nbdev.clean import clean_nb
    from nbdev.config import get_config
    cfg = get_config(path=root)
    clean_nb(nb, cfg.clear_all, cfg.get('allowed_metadata_keys', '').split(), cfg.get('allowed_cell_metadata_keys', '').split(), cfg.clean_ids)
    return nb


_LINK = re.compile(r'\]\(([\w.-]+\.(?:ipynb|qmd|md))([#)])')


def relink(nb: dict, root: Path) -> dict:
    """Markdown links of a run notebook to its sibling pages in nbs/ (`](05b_evaluate.ipynb)`) as seen from nbs/results/
    (`](../05b_evaluate.ipynb)`), where the page is; idempotent (a `../` link is left alone)."""
    nbs = Path(root) / 'nbs'
    def fix(m): return f'](../{m.group(1)}{m.group(2)}' if (nbs / m.group(1)).exists() and not (nbs / RESULTS.name / m.group(1)).exists() else m.group(0)
    for c in nb.get('cells', []):
        if c.get('cell_type') == 'markdown':
            src = _as_text(c.get('source'))
            if (new := _LINK.sub(fix, src)) != src: c['source'] = new.splitlines(True)
    return nb


def tidy_page(nb: dict, title: str, description: str, root: Path) -> dict:
    "Everything that makes an executed notebook a results page (idempotent: re-tidying a published page changes nothing)."
    tidy_outputs(nb)
    relink(nb, root)
    nb.get('metadata', {}).pop('widgets', None)  # saved widget state makes Quarto load require.js and jQuery from a CDN, for no widget
    hide_parameter_cells(nb)
    for c in nb.get('cells', []):  # CAM grids are many small images side by side: give their cell the page's full width
        src = _as_text(c.get('source'))
        if c.get('cell_type') == 'code' and 'plot_cam_grid(' in src and '#| column: page' not in src:
            c['source'] = ('#| column: page\n' + src).splitlines(True)
    cells = nb['cells']
    if cells and cells[0].get('cell_type') == 'raw' and str(''.join(cells[0].get('source', ''))).startswith('---'): cells.pop(0)
    cells.insert(0, front_matter(title, description))
    return clean_like_nbdev(nb, root)


def prepare_notebook(src: Path, title: str, description: str, root: Path, need_png: bool = True) -> dict:
    "The results page for the executed notebook `src`: checked, tidied, front matter added, cleaned (not yet written)."
    if not src.exists(): raise PublishError(f'{src} is missing: the run folder holds no executed notebook')
    nb = json.loads(src.read_text(encoding='utf-8'))
    check_executed(nb, src)
    if need_png and not has_png(nb): raise PublishError(f'{src}: no image/png output: its figures would be missing from the results page')
    return tidy_page(nb, title, page_text(description), root)


def match_checkpoints(train_runs: list[Path], report, eval_dir: Path) -> list[tuple[Path, object, str]]:
    "Each train run with its sidecar (a `CheckpointMeta`) and the evaluation's tag for it (matched by checkpoint SHA-256)."
    from cifake_nb.core import CheckpointMeta
    by_sha = {ce.sha256: tag for tag, ce in report.checkpoints.items()}
    out = []
    for t in train_runs:
        meta = _load_sidecar(CheckpointMeta, t / 'model.json', 'checkpoint sidecar')
        tag = by_sha.get(meta.sha256 or '-')
        if tag is None:
            raise PublishError(f'evaluation {eval_dir} did not evaluate the checkpoint of {t} (SHA-256 {meta.sha256[:12]}…); '
                               f'it evaluated {sorted(by_sha.values())}: pass the matching --eval folder')
        out.append((t, meta, tag))
    return out


def _portable(params: dict, root: Path) -> dict:
    "Evaluation parameters with this machine's paths made relative to the project root."
    out = dict(params)
    if out.get('checkpoints'): out['checkpoints'] = [rel(Path(c), root) for c in out['checkpoints']]
    for k in ('run_dir', 'out_dir'):  # out_dir: the run folder's name in evaluations older than EvalConfig
        if out.get(k): out[k] = rel(Path(out[k]), root)
    return out


def headline_entry(name: str, matched: list, report, train_dir_pages: list[str], eval_page: str, eval_dir: Path, root: Path) -> dict:
    "The home page's row for this run (`report` is the `EvalReport`): what, how well, on what, with which command, and where the evidence is."
    acc, auc = report.summary.get('accuracy') or {}, report.summary.get('roc_auc') or {}
    if acc.get('mean') is None: raise PublishError(f'{eval_dir / "metrics.json"} has no summary.accuracy.mean: not a cifake_nb evaluation?')
    metas = [m for _, m, _ in matched]
    first_t, first_meta, first_tag = matched[0]
    ck = report.checkpoints[first_tag]
    train_seconds = [json.loads((t / 'summary.json').read_text()).get('train_seconds') if (t / 'summary.json').exists() else None for t, _, _ in matched]
    data, env = report.data, report.environment
    cfgs = [m.config for m in metas]
    return {
        'name': name,
        'model': first_meta.model, 'model_kwargs': first_meta.model_kwargs, 'n_params': first_meta.n_params or None,
        'n_checkpoints': len(matched), 'seeds': [c.get('seed') for c in cfgs], 'epochs': cfgs[0].get('epochs'),
        'test_accuracy': acc.get('mean'), 'test_accuracy_std': acc.get('std'),
        'test_accuracy_ci95': ck.test.get('accuracy_ci') if len(matched) == 1 else None,
        'test_roc_auc': auc.get('mean'), 'test_roc_auc_std': auc.get('std'),
        'n_test': data.get('n_test'), 'n_test_total': data.get('n_test_total'),
        'temperature': ck.temperature if len(matched) == 1 else None, 'threshold': ck.threshold if len(matched) == 1 else None,
        'fitted_on': ck.val_split.get('fitted_on', 'clean validation'),
        'train_seconds': train_seconds, 'train_hardware': first_meta.hardware or None,
        'eval_hardware': env.get('hardware') or env.get('device_name'),  # device_name: evaluations older than EvalConfig
        'train_command': first_meta.command or cfgs[0].get('command'), 'eval_params': _portable(report.params, root),
        'code_version': first_meta.code_version, 'eval_code_version': report.code_version,
        'data_fingerprint': first_meta.data_fingerprint,
        'train_runs': [rel(t, root) for t, _, _ in matched], 'eval_run': rel(eval_dir, root),
        'train_pages': train_dir_pages, 'eval_page': eval_page,
        'metrics': run_metrics(ck) if len(matched) == 1 else None, 'metrics_source': 'the evaluation\'s metrics.json',
        'robustness_accuracy': robustness_accuracy(ck.robustness) if len(matched) == 1 else None,
        'per_category': ck.test.get('per_category') if len(matched) == 1 else None,
        'evaluated_utc': report.created_utc,
        'published_utc': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
    }


# ---------------------------------------------------------------- numbers, figures and the Results page

def rounded(x, nd: int) -> str:
    """The project's one rounding rule for every number on the site, the README and the model card: the value as
    stored in headline.json (its shortest decimal repr), rounded half up to `nd` decimals: 0.97675 → "0.9768"."""
    return str(Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-nd), rounding=ROUND_HALF_UP))


def pct(x, nd: int = 2) -> str:
    "A fraction as a percentage under the same rule: 0.97675 → \"97.68%\" (Python's f'{x:.2%}' would say 97.67%)."
    return str((Decimal(repr(float(x))) * 100).quantize(Decimal(1).scaleb(-nd), rounding=ROUND_HALF_UP)) + '%'


KEY_METRICS = [  # (key in a checkpoint's test metrics, label, how it is shown)
    ('accuracy', 'accuracy (threshold fitted on validation)', 'pct'), ('accuracy_argmax', 'accuracy at argmax (threshold 0.5, T = 1)', 'pct'),
    ('balanced_accuracy', 'balanced accuracy', 'pct'), ('precision', 'precision (FAKE)', 'pct'), ('recall', 'recall (FAKE)', 'pct'),
    ('roc_auc', 'ROC AUC', 4), ('pr_auc', 'PR AUC', 4),
    ('tpr_at_fpr_1pct', 'TPR at 1% FPR', 'pct1'), ('tpr_at_fpr_5pct', 'TPR at 5% FPR', 'pct1'),
    ('ece_before_T', 'ECE before temperature scaling (T = 1)', 3), ('ece', 'ECE after temperature scaling', 3),
    ('nll', 'negative log-likelihood', 4), ('brier', 'Brier score', 4),
    ('robustness_mean_accuracy', 'mean accuracy under the 9 corruptions × 5 severities', 'pct'),
]


def show(v, how) -> str:
    if v is None: return '—'
    return pct(v) if how == 'pct' else pct(v, 1) if how == 'pct1' else rounded(v, how)


def run_metrics(ck) -> dict:
    "The key test metrics of one evaluated checkpoint (a `CheckpointEval`), for headline.json."
    m = {k: ck.test.get(k) for k, _, _ in KEY_METRICS if k in ck.test}
    if ck.test_uncalibrated.get('ece') is not None: m['ece_before_T'] = ck.test_uncalibrated['ece']
    if ck.val.get('accuracy') is not None: m['val_accuracy'] = ck.val['accuracy']
    return m


def robustness_accuracy(rows: list | None) -> dict | None:
    "{corruption: [accuracy at severity 0 (clean), 1, ..., 5]} from metrics.json's robustness rows."
    if not rows: return None
    out = {}
    for r in sorted(rows, key=lambda r: (r['corruption'], r['severity'])): out.setdefault(r['corruption'], []).append(r['accuracy'])
    return out


def _table_rows(text: str) -> list[list[str]]:
    return [l.split() for l in text.splitlines() if l.strip()]


def metrics_from_notebook(nb: dict) -> tuple[dict, dict | None]:
    """(key metrics, robustness accuracies) read back from an executed evaluation notebook's stored summary table and
    corruption table: for a publication whose run folder (metrics.json) is no longer at hand. Values are those
    tables' text (pandas shows 6 significant digits)."""
    texts = [_as_text(o.get('data', {}).get('text/plain')) for c in nb.get('cells', []) for o in c.get('outputs', [])]
    summ = next((t for t in texts if 'accuracy_argmax' in t and 'ece_before_T' in t), None)
    if summ is None: raise PublishError('the evaluation notebook has no summary table (accuracy_argmax, ece_before_T) to read the metrics from')
    vals = {}
    for row in _table_rows(summ)[1:]:
        if len(row) == 2:
            try: v = float(row[1])
            except ValueError: continue
            if v == v: vals[row[0]] = v  # NaN: not measured in that run (e.g. no corruption suite)
    m = {k: vals[k] for k, _, _ in KEY_METRICS if k in vals}
    if 'val_accuracy' in vals: m['val_accuracy'] = vals['val_accuracy']
    rob_t = next((t for t in texts if t.lstrip().startswith('severity') and 'corruption' in t), None)
    rob = None
    if rob_t:
        rob = {}
        for row in _table_rows(rob_t)[2:]:
            try: rob[row[0]] = [float(v) for v in row[1:]]
            except ValueError: pass
    return m, rob


def _figure_order(source: str) -> list[str]:
    "The figure names of the evaluation notebook's `figs[...] = save_fig(...)` / `'name': save_fig(...)`, in the order they are shown."
    return [a or b for a, b in re.findall(r"figs\['(\w+)'\]\s*=\s*save_fig\(|'(\w+)':\s*save_fig\(", source)]


def _report_figure_order(nb: dict) -> list[str]:
    """The figure names a one-checkpoint report-based evaluation notebook (`evaluate(cfg)`, then `ce.figures` shown in
    turn) displays, in the order `cifake_nb.evaluate.evaluate_checkpoint` makes them, from the parameters table it
    shows (cam, robustness, postproc)."""
    texts = [_as_text(o.get('data', {}).get('text/plain')) for c in nb.get('cells', []) for o in c.get('outputs', [])]
    params = next((t for t in texts if t.lstrip().startswith('value') and 'postproc' in t and 'checkpoints' in t), '')
    on = {r[0]: r[1] == 'True' for r in _table_rows(params) if len(r) == 2}
    return ['confusion', 'roc', 'reliability', 'per_category'] + [k for k in ('cam', 'robustness', 'postproc') if on.get(k)]


def figures_from_notebook(nb: dict) -> dict[str, bytes]:
    "{figure name: PNG} of a one-checkpoint evaluation notebook, matched to its save_fig calls (or its report's figures) in order."
    for c in nb.get('cells', []):
        source = _as_text(c.get('source'))
        names = _figure_order(source) or (_report_figure_order(nb) if 'ce.figures' in source else [])
        if not names: continue
        pngs = [o['data']['image/png'] for o in c.get('outputs', []) if 'image/png' in o.get('data', {})]
        if len(pngs) != len(names):
            raise PublishError(f'the evaluation notebook shows {len(pngs)} figures for {len(names)} figure names ({names}): '
                               'publish from the run folder, whose metrics.json names each figure file')
        return {n: base64.b64decode(_as_text(p)) for n, p in zip(names, pngs)}
    return {}


def copy_figures(name: str, figs: dict[str, bytes], res: Path) -> dict:
    "Write the Results page's figures to nbs/results/figures/<name>_<figure>.png; returns {figure: page-relative path}."
    d = res / FIGURES
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob(f'{name}_*.png'): old.unlink()
    out = {}
    for k, b in figs.items():
        (d / f'{name}_{k}.png').write_bytes(b)
        out[k] = f'results/{FIGURES}/{name}_{k}.png'
    return out


def _runs_first_shipped(d: dict) -> list[dict]:
    return sorted((d.get('runs') or {}).values(), key=lambda r: (not r.get('shipped'), r['name']))


def headline_rows(d: dict) -> list[str]:
    "The headline table (markdown): the published CIFAKE numbers, then each run of ours."
    rows = ['| Model | Test accuracy [95% CI] | ROC AUC | ECE | Evidence |', '|---|---|---|---|---|']
    for p in d.get('published') or []:
        rows.append(f"| {p['model']} | {pct(p['test_accuracy'])} | — | — | {p['source']} |")
    for r in _runs_first_shipped(d):
        acc = f"**{pct(r['test_accuracy'])}**"
        if r.get('test_accuracy_ci95'): acc += ' [{}, {}]'.format(*(pct(x)[:-1] for x in r['test_accuracy_ci95']))
        elif r.get('test_accuracy_std') is not None: acc += f" ± {pct(r['test_accuracy_std'])[:-1]} (std, {r['n_checkpoints']} seeds)"
        m = r.get('metrics') or {}
        params = f", {r['n_params'] / 1e6:.2f} M parameters" if r.get('n_params') else ''
        rows.append(f"| **ours: `{r['model']}`**{params}, run `{r['name']}`{' (the demo serves it)' if r.get('shipped') else ''} | {acc} | "
                    f"{show(r.get('test_roc_auc'), 4)} | {show(m.get('ece'), 3)} | {r['n_test']:,} test images; "
                    f"[training]({Path(r['train_pages'][0]).name}) · [evaluation]({Path(r['eval_page']).name}) |")
    return rows


def _fig(r: dict, key: str, caption: str, wide: bool = False) -> str:
    p = (r.get('figures') or {}).get(key)
    if not p: return ''
    img = f'![{caption}]({Path(p).relative_to("results").as_posix()}){{fig-alt="{caption}"}}'
    return f'::: {{.column-page}}\n{img}\n:::\n' if wide else img + '\n'


def results_page(d: dict) -> str:
    "The Results page (nbs/results/index.qmd) for headline.json `d`: the report; the executed notebooks are its evidence."
    out = ['---', 'title: "Results"',
           'description: "How well the published model tells CIFAKE\'s real photos from generated images: the numbers, the figures and the runs behind them."',
           '---', '',
           '<!-- Written by scripts/publish_results.py from headline.json: edit that script, not this file. -->', '']
    runs = _runs_first_shipped(d)
    if not runs:
        return '\n'.join(out + ['**No published run yet.** Train and evaluate (`make main`), then publish the two run folders with',
                                '`python scripts/publish_results.py --train runs/<run> --eval runs/<eval> --ship`.', ''])
    out += ['Every number here is a run of this project\'s code on the CIFAKE **test split** (FAKE = positive class), used once for',
            'this report: the model, its temperature and its decision threshold were chosen on a validation split carved from train.',
            'The numbers come from `nbs/results/headline.json`, written from the evaluation\'s `metrics.json`; the home page, the',
            'README and the model card quote the same file, rounded the same way (half up: 97.675% → 97.68%).', '',
            '## Headline', '', *headline_rows(d), '']
    for r in runs:
        m = r.get('metrics') or {}
        ep = r.get('eval_params') or {}
        secs = [s for s in (r.get('train_seconds') or []) if s]
        out += [f"## Run `{r['name']}`" + (' (the model the demo serves)' if r.get('shipped') else ''), '', '### What was run', '',
                '| | |', '|---|---|',
                f"| model | `{r['model']}` {json.dumps(r.get('model_kwargs') or {})}, {r.get('n_params') or 0:,} parameters |",
                f"| training | `{r.get('train_command')}`: {r.get('epochs')} epochs, seed{'s' * (len(r.get('seeds') or []) > 1)} "
                f"{', '.join(map(str, r.get('seeds') or []))}" + (f", {max(secs):,.0f} s ({max(secs) / 60:.1f} min) on {r.get('train_hardware')}" if secs else '') + ' |',
                f"| evaluation | {r['n_test']:,} of {r['n_test_total']:,} test images on {r.get('eval_hardware')}; temperature and threshold "
                f"fitted on {ep.get('n_val', 0):,} validation images ({ep.get('threshold_method')}); {ep.get('n_boot', 0):,} bootstrap resamples"
                + (f"; corruptions on {ep.get('robustness_n', 0):,} test images" if ep.get('robustness') else '') + ' |',
                *([f"| decision rule | T = {rounded(r['temperature'], 3)}, FAKE when p_fake ≥ {rounded(r['threshold'], 3)} |"] if r.get('temperature') else []),
                f"| code | training {page_text(str(r.get('code_version')))}; evaluation {page_text(str(r.get('eval_code_version')))} |",
                f"| data | decoded-content fingerprint `{str(r.get('data_fingerprint'))[:16]}…` |",
                f"| record | [training notebook]({Path(r['train_pages'][0]).name}), [evaluation notebook]({Path(r['eval_page']).name}) |", '']
        if m:
            out += ['### Test metrics', '', '| metric | value |', '|---|---|']
            for k, label, how in KEY_METRICS:
                v = r['test_accuracy'] if k == 'accuracy' else m.get(k)
                if v is None: continue
                out.append(f'| {label} | {show(v, how)} |')
                if k == 'accuracy' and r.get('test_accuracy_ci95'):
                    out.append('| accuracy, 95% bootstrap CI | [{}, {}] |'.format(*(pct(x) for x in r['test_accuracy_ci95'])))
            if m.get('val_accuracy') is not None: out.append(f"| validation accuracy (for comparison) | {pct(m['val_accuracy'])} |")
            out += ['', f"*Source: {r.get('metrics_source', 'metrics.json')}.*", '']
        out += ['### Calibration', '', 'Reliability of the top-label confidence and of p(FAKE), before (T = 1) and after temperature scaling: '
                'points on the diagonal are calibrated.', '', _fig(r, 'reliability', 'Reliability diagrams before and after temperature scaling'), '']
        rob = r.get('robustness_accuracy')
        out += ['### Robustness to corruptions', '', 'Accuracy and ROC AUC under CIFAR-10-C-style corruptions at severities 1–5 '
                '(0 = clean), each on the same stratified test subset.', '', _fig(r, 'robustness', 'Accuracy and ROC AUC per corruption and severity'), '']
        if rob:
            out += ['| accuracy | clean | 1 | 2 | 3 | 4 | 5 |', '|---|---|---|---|---|---|---|']
            out += [f"| {c.replace('_', ' ')} | " + ' | '.join(pct(v, 1) for v in vs) + ' |' for c, vs in rob.items()]
            out += ['']
        out += ['### Accuracy per CIFAR-10 category', '', 'REAL and FAKE test images of each category the generator imitated.', '',
                _fig(r, 'per_category', 'Test accuracy per CIFAR-10 category, REAL and FAKE'), '']
        pc = r.get('per_category')
        if pc:
            out += ['| category | all | REAL | FAKE | images |', '|---|---|---|---|---|']
            out += [f"| {k} | {show(v.get('accuracy'), 'pct1')} | {show(v.get('accuracy_REAL'), 'pct1')} | {show(v.get('accuracy_FAKE'), 'pct1')} | {v.get('n', 0):,} |"
                    for k, v in pc.items()]
            out += ['']
        if r.get('figures', {}).get('confusion') or r.get('figures', {}).get('roc'):
            out += ['### Errors and the ROC curve', '', '::: {layout-ncol="2"}', _fig(r, 'confusion', 'Confusion matrix at the fitted threshold'),
                    _fig(r, 'roc', 'ROC curve, FAKE = positive'), ':::', '']
        if r.get('figures', {}).get('cam'):
            out += ['### Where the model sees the evidence', '', 'Class activation maps of true and false positives and negatives '
                    '(red: evidence for FAKE, blue: for REAL).', '', _fig(r, 'cam', 'CAM grid of TP, FP, TN and FN test images', wide=True), '']
    out += ['## Reproduce', '', '```sh', 'make main        # train (params/cpu.yaml) → evaluate (params/eval.yaml) → export, in fresh run folders',
            'python scripts/publish_results.py --train runs/<run> --eval runs/<eval> --ship   # this page, headline.json, the demo\'s model',
            '```', '', 'See [train](../tutorials/train.qmd), [evaluate](../tutorials/evaluate.qmd) and '
            '[publishing a result](../tutorials/evaluate.qmd#publishing-a-result).', '']
    return '\n'.join(out)


RECIPE_ROWS = [('served accuracy, validation (the ship rule)', 'served_val'), ('clean accuracy, validation', 'clean_val'),
               ('clean test accuracy (20,000 images)', 'test_accuracy'), ('mild edits: mean', 'mild_mean'), ('mild edits: worst', 'mild_worst'),
               ('edits never trained on: mean', 'untrained_mean'), ('edits never trained on: worst', 'untrained_worst'),
               ('CIFAR-10-C, severities 1–3', 'cifar_c_1_3')]


def recipes_section(rec: dict | None) -> list[str]:
    "The Results page's recipe comparison (nbs/results/recipes.json): the rule, the table over seeds and the trade-off plot."
    if not rec or not rec.get('recipes'): return []
    def pm(v):
        if not v or v[0] is None: return '—'
        return pct(v[0]) if v[1] is None else f'{pct(v[0])[:-1]} ± {pct(v[1])[:-1]}%'
    names, ship = list(rec['recipes']), rec.get('ship') or {}
    n = {r: len([p for p in rec['per_run'] if p['recipe'] == r]) for r in names}
    served = {r: len([p for p in rec['per_run'] if p['recipe'] == r and p.get('served_val') is not None]) for r in names}
    rows = [(label, k) for label, k in RECIPE_ROWS if any((rec['recipes'][r].get(k) or [None])[0] is not None for r in names)]
    out = ['## Recipes, and the model that ships', '', ship.get('rule', ''), '',
           f"The rule ships the **{ship.get('recipe')}** recipe, seed {ship.get('seed')}. Mean ± std over the seeds of each recipe "
           '(served and untrained figures: the seeds assessed since they were defined, counted in the header).', '',
           '| | ' + ' | '.join(f'{r} ({n[r]} seed{"s" * (n[r] != 1)}; served: {served[r]})' for r in names) + ' |', '|---|' + '---|' * len(names)]
    out += [f'| {label} | ' + ' | '.join(pm(rec['recipes'][r].get(k)) for r in names) + ' |' for label, k in rows]
    out += ['', '![Clean validation accuracy against served accuracy on validation, one point per recipe; the shipped model ringed](figures/tradeoff.png)', '',
            f"Every seed, every edit and every corruption: [the comparison]({Path(rec.get('page', 'evaluate_clean_vs_robust.ipynb')).name}).", '']
    return out


def write_page(res: Path, d: dict) -> Path:
    p = res / PAGE
    page = results_page(d)
    rec = json.loads((res / 'recipes.json').read_text()) if (res / 'recipes.json').exists() else None
    if sec := recipes_section(rec if (res / FIGURES / 'tradeoff.png').exists() else None):  # after the headline, before the runs
        page = page.replace('\n## Run `', '\n' + '\n'.join(sec) + '\n## Run `', 1) if '\n## Run `' in page else page + '\n' + '\n'.join(sec)
    extra = benchmark_sections(res)
    bench = res.parent / BENCH_PAGE
    if extra:  # benchmarks are not test-split results of a published model: a page of their own, linked from Results
        bench.write_text('\n'.join(['---', 'title: "Benchmarks"', 'description: "Accuracy per training minute (CPU) and second (GPU), and training '
                                    'speed by precision: scripts that print figures, published with the commands and code that made them."', '---', '',
                                    '<!-- Written by scripts/publish_results.py from nbs/results/budget*.json and precision.json: edit that script, not this file. -->',
                                    '', *extra]), encoding='utf-8')
        link = ['## Benchmarks', '', 'Accuracy per training budget and training speed by precision: [Benchmarks](../benchmarks.qmd).', '']
        page = page.replace('\n## Reproduce\n', '\n' + '\n'.join(link) + '\n## Reproduce\n', 1) if '\n## Reproduce\n' in page else page + '\n' + '\n'.join(link)
    elif bench.exists(): bench.unlink()
    p.write_text(page, encoding='utf-8')
    return p


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


_PAGE_RE = re.compile(r'^(train|evaluate|sweep)_(.+)\.ipynb$')


def results_entries(results_dir: Path, headline: dict | None = None) -> list:
    "Sidebar items for the results notebooks in `results_dir`: the overview page, then per run name its training page(s) and evaluation."
    pages = sorted(p.name for p in results_dir.glob('*.ipynb') if _PAGE_RE.match(p.name))
    def key(n):
        kind, rest = _PAGE_RE.match(n).groups()
        base = re.sub(r'_seed\d+$', '', rest)
        return (base, kind != 'train', rest)
    items = ['results/index.qmd'] + ([BENCH_PAGE] if (results_dir.parent / BENCH_PAGE).exists() else [])
    for n in sorted(pages, key=key):
        kind, rest = _PAGE_RE.match(n).groups()
        items.append({'href': f'results/{n}', 'text': f"{rest}: {dict(train='training', evaluate='evaluation', sweep='sweep')[kind]}"})
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
    check_committed(root)
    from cifake_nb.core import EvalReport
    report = _load_sidecar(EvalReport, eval_dir / 'metrics.json', 'evaluation report')
    matched = match_checkpoints(train_runs, report, eval_dir)
    data = report.data
    if not allow_subset and data.get('n_test') != data.get('n_test_total'):
        raise PublishError(f'{eval_dir} evaluated {data.get("n_test")} of {data.get("n_test_total")} test images (test_limit): a subset is not '
                           f'a headline result; evaluate on the whole split, or pass --allow-subset (the table shows the count)')
    cfg0 = matched[0][1].config
    name = name or cfg0.get('run_name') or re.sub(r'-\d{8}-\d{6}(-\d+)?$', '', train_runs[0].name)
    if not _NAME_RE.match(name): raise PublishError(f'name {name!r} must be letters, digits, "_", "." or "-" (it becomes a file name)')

    res = root / RESULTS
    pages, train_pages = {}, []  # every page is prepared (and checked) before anything is written
    for t, meta, tag in matched:
        seed = meta.config.get('seed')
        page = f'train_{name}.ipynb' if len(matched) == 1 else f'train_{name}_seed{seed}.ipynb'
        cmd = meta.command or meta.config.get('command') or ''
        pages[page] = prepare_notebook(
            t / 'train.ipynb', f'Training run: {name}' + (f' (seed {seed})' if len(matched) > 1 else ''),
            f'The executed notebook of {rel(t, root)}: {cmd} ({meta.hardware or "hardware not recorded"}).', root)
        train_pages.append(f'results/{page}')
    eval_page = f'evaluate_{name}.ipynb'
    env = report.environment
    pages[eval_page] = prepare_notebook(
        eval_dir / 'evaluate.ipynb', f'Evaluation: {name}',
        f'The executed notebook of {rel(eval_dir, root)}: {len(matched)} checkpoint(s) on {data.get("n_test")} test images '
        f'({env.get("hardware") or env.get("device_name") or "hardware not recorded"}).', root)
    entry = headline_entry(name, matched, report, train_pages, f'results/{eval_page}', eval_dir, root)
    from execnb.nbio import write_nb  # nbdev's notebook writer: the same bytes nbdev_clean writes
    res.mkdir(parents=True, exist_ok=True)
    for old in [res / f'train_{name}.ipynb', *res.glob(f'train_{name}_seed*.ipynb')]:
        if old.name not in pages: old.unlink(missing_ok=True)  # this name's pages from an earlier publication
    for page, nb in pages.items(): write_nb(nb, res / page)
    if ship: ship_model(matched[0][0], report, eval_dir, root)
    if len(matched) == 1:  # the Results page's figures, as the evaluation saved them
        ck = report.checkpoints[matched[0][2]]
        files = {k: eval_dir / f for k, f in ck.figures.items() if (eval_dir / f).exists()}
        entry['figures'] = copy_figures(name, {k: f.read_bytes() for k, f in files.items()}, res)
    d = write_headline(res / HEADLINE, entry, report.published, ship)
    write_page(res, d)
    update_sidebar(root / SIDEBAR, res)
    return d['runs'][name]


def ship_model(train_run: Path, report, eval_dir: Path, root: Path) -> dict:
    "Export `train_run` to cifake_nb/assets/default/ with the rule of `report`'s entry for its weights; paths in model.json portable."
    from cifake_nb.core import ModelInfo
    from cifake_nb.export import export_checkpoint, model_card
    out = root / 'cifake_nb' / 'assets' / 'default'
    export_checkpoint(train_run / 'model.safetensors', out, report=report, overwrite=True)
    info = ModelInfo.from_json(out / 'model.json')
    info.exported_from, info.evaluation['report'] = rel(train_run, root), rel(eval_dir / 'metrics.json', root)
    if Path(info.data_source).is_absolute(): info.data_source = portable_path(info.data_source)
    info.to_json(out / 'model.json')
    (out / 'MODEL_CARD.md').write_text(model_card(info.to_dict()))
    return info.to_dict()


def refresh(root=ROOT) -> dict:
    """Re-apply today's presentation to what is already published, without the run folders: re-tidy the results
    notebooks (idempotent), fill in a run's key metrics, corruption table and figures from its executed evaluation
    notebook where headline.json lacks them, and rewrite the Results page. Numbers are only copied, never recomputed."""
    root = Path(root).resolve()
    res = root / RESULTS
    hp = res / HEADLINE
    d = json.loads(hp.read_text()) if hp.exists() else {'runs': {}, 'published': []}
    from execnb.nbio import write_nb
    for p in sorted(res.glob('*.ipynb')):
        if not _PAGE_RE.match(p.name): continue
        nb = json.loads(p.read_text(encoding='utf-8'))
        fm = {}
        c0 = nb['cells'][0] if nb.get('cells') else {}
        if c0.get('cell_type') == 'raw':
            import yaml
            fm = yaml.safe_load(_as_text(c0['source']).strip().strip('-')) or {}
        write_nb(tidy_page(nb, fm.get('title') or p.stem, fm.get('description') or '', root), p)
    for r in (d.get('runs') or {}).values():
        ev = json.loads((root / 'nbs' / r['eval_page']).read_text(encoding='utf-8'))
        if r.get('n_checkpoints', 1) == 1 and not r.get('metrics'):
            r['metrics'], rob = metrics_from_notebook(ev)
            r['robustness_accuracy'] = r.get('robustness_accuracy') or rob
            r['metrics_source'] = (f"the summary and corruption tables stored in [the evaluation notebook]({Path(r['eval_page']).name}) "
                                   '(metrics.json of that run was not at hand when this page was made; pandas shows 6 significant digits)')
        have = r.get('figures') and all((root / 'nbs' / f).exists() for f in r['figures'].values())
        if r.get('n_checkpoints', 1) == 1 and not have:
            r['figures'] = copy_figures(r['name'], figures_from_notebook(ev), res)
    hp.write_text(json.dumps(d, indent=1, ensure_ascii=False) + '\n')
    write_page(res, d)
    update_sidebar(root / SIDEBAR, res)
    return d


BUDGET, PRECISION = 'budget.json', 'precision.json'  # nbs/results/: the benchmarks the Results page shows
BUDGET_GPU = 'budget_gpu.json'  # the same table trained on a GPU (bench_budget.py --device cuda): one file per kind of machine
BUDGETS = {'cpu': (BUDGET, 'budget_accuracy_vs_minutes.png', 'Accuracy per training minute, side by side'),
           'cuda': (BUDGET_GPU, 'budget_gpu_accuracy_vs_seconds.png', 'Accuracy per training second on a GPU, side by side')}


def publish_budget(dirs: list, root=ROOT, extend: bool = False, note: str = '') -> dict:
    """`scripts/bench_budget.py` output folders as nbs/results/budget.json (their rows merged: a later folder's row of the
    same line, budget and seed replaces an earlier one) and its accuracy-vs-minutes plot; the Results page rewritten.
    `extend`: start from the published budget.json's rows (same machine only), for runs added after the folders are gone.
    Folders trained on a GPU (`--device cuda`) go to budget_gpu.json instead: one table per kind of machine. `note`: what a
    reader must know about these runs (a missing line, a caveat), shown under the table; with `extend`, the published one is kept if none is given."""
    root = Path(root).resolve()
    check_committed(root)
    rows, meta, sources, first = {}, None, [], str(dirs[0]) if dirs else ''
    f0 = Path(first) / 'results.json'
    kind = json.loads(f0.read_text()).get('device', 'cpu') if f0.is_file() else 'cpu'
    name, figname, _ = BUDGETS.get(kind, BUDGETS['cpu'])
    if extend:
        pub = root / RESULTS / name
        if not pub.is_file(): raise PublishError(f'--extend: there is no published {pub.relative_to(root)} to extend; publish folders without --extend')
        b = json.loads(pub.read_text())
        meta, first = dict(hardware=b['hardware'], isa=b.get('isa'), torch=b.get('torch'), threads=b.get('threads')), f'the published {name}'
        note = note or b.get('note', '')
        rows = {(r['model'], r['budget_min'], r['seed']): r for r in b['rows']}
        sources = [{k: v for k, v in x.items() if k != 'rows_used'} for x in b.get('sources') or []]
    for d in map(Path, dirs):
        f = d / 'results.json'
        if not f.is_file(): raise PublishError(f'{f} is missing: give the folder scripts/bench_budget.py printed (runs/bench_budget-<UTC>)')
        r = json.loads(f.read_text())
        if r.get('smoke'): raise PublishError(f'{d}: a --smoke run (tiny synthetic data) is a check of the script, not a result')
        if meta and (r['hardware'], r.get('isa')) != (meta['hardware'], meta.get('isa')):
            raise PublishError(f"{d} ran on {r['hardware']} ({r.get('isa')}), {first} on {meta['hardware']} ({meta.get('isa')}): one table is one machine")
        meta = meta or r
        if any(row.get('scored') != 'selected checkpoint' for row in r['rows']):
            raise PublishError(f'{d}: rows scored on the last step\'s weights, not the selected checkpoint: run scripts/bench_budget.py --rescore {d} first')
        for row in r['rows']:
            rows[(row['model'], row['budget_min'], row['seed'])] = {**row, 'source': d.name, 'run_dir': portable_path(str(Path(row['run_dir']).resolve()))}
        code = r.get('code_version')
        if not code and r['rows']:  # written before results.json named it: the runs' own record
            mj = Path(r['rows'][0]['run_dir']) / 'model.json'
            code = json.loads(mj.read_text()).get('code_version') if mj.is_file() else None
        sources.append(dict(folder=d.name, command=r.get('command') or 'scripts/bench_budget.py', code_version=code, rows=len(r['rows'])))
    if not rows: raise PublishError('no rows in those folders')
    for x in sources: x['rows_used'] = sum(r['source'] == x['folder'] for r in rows.values())
    res = root / RESULTS
    (res / FIGURES).mkdir(parents=True, exist_ok=True)
    import importlib.util
    spec = importlib.util.spec_from_file_location('bench_budget', Path(__file__).resolve().parent / 'bench_budget.py')  # its table and plot
    bb = importlib.util.module_from_spec(spec); spec.loader.exec_module(bb)
    merged = sorted(rows.values(), key=lambda x: (list(dict.fromkeys(r['model'] for r in rows.values())).index(x['model']), x['budget_min'], x['seed']))
    fig = res / FIGURES / figname
    hw = meta['hardware'] + (f", {meta['isa'].split(' (')[0]}" if meta.get('isa') else '')
    bb.plot(merged, fig, hw)
    out = dict(about='Written by scripts/publish_results.py --budget from scripts/bench_budget.py folders; rendered on the Results page.',
               hardware=meta['hardware'], isa=meta.get('isa'), device=kind, torch=meta.get('torch'), threads=meta.get('threads'), sources=sources,
               figure=f'results/{FIGURES}/{fig.name}', table=bb.table_md(merged, hw), **({'note': note} if note else {}), rows=merged)
    (res / name).write_text(json.dumps(out, indent=1, ensure_ascii=False) + '\n')
    _rewrite_page(root)
    return out


def publish_precision(path: Path, root=ROOT) -> dict:
    "A `scripts/bench_precision.py --out` JSON as nbs/results/precision.json; the Results page rewritten."
    root = Path(root).resolve()
    check_committed(root)
    d = json.loads(Path(path).read_text())
    if not d.get('rows'): raise PublishError(f'{path}: no rows: is it the --out file of scripts/bench_precision.py?')
    (root / RESULTS / PRECISION).write_text(json.dumps(d, indent=1) + '\n')
    _rewrite_page(root)
    return d


def _rewrite_page(root: Path):
    hp = root / RESULTS / HEADLINE
    write_page(root / RESULTS, json.loads(hp.read_text()) if hp.exists() else {'runs': {}, 'published': []})


def budget_recipes(rows: list[dict]) -> str:
    """Each line's params files (and `-p` settings) from its rows, e.g. "`speednet`: `params/cpu.yaml` + `params/budget.yaml`";
    a line whose rows ran different recipes lists each, so a mixed line shows. Rows written before bench_budget recorded
    `params_file` (2026-12-02) ran `params/seed_cnn.yaml` (seed_cnn) or `params/cpu.yaml` (the others)."""
    from collections import Counter
    per = {}
    for r in rows:
        files = r.get('params_file') or ('params/seed_cnn.yaml' if r['model'] == 'seed_cnn' else 'params/cpu.yaml')
        files = [files] if isinstance(files, str) else files
        desc = ' + '.join(f'`{f}`' for f in files) + ''.join(f' `-p {k} {v}`' for k, v in (r.get('set') or {}).items())
        per.setdefault(r['model'], Counter())[desc] += 1
    return '; '.join(f'`{m}`: ' + (next(iter(d)) if len(d) == 1 else ', '.join(f'{k} ({n} run' + 's' * (n > 1) + ')' for k, n in d.items())) for m, d in per.items())


def benchmark_sections(res: Path, fig_prefix: str = 'results/') -> list[str]:
    "The Benchmarks page's sections (nbs/benchmarks.qmd), from nbs/results/budget.json, budget_gpu.json and precision.json when they exist."
    out = []
    for kind, (name, _, title) in BUDGETS.items():
        if not (res / name).is_file(): continue
        b = json.loads((res / name).read_text())
        out += [f'## {title}', '',
                f"Each model trained with its own recipe for a fixed wall-clock budget on the same machine ({b['hardware']}"
                + (f", {b['isa']}" if b.get('isa') else '') + ", "
                f"torch {b.get('torch')}" + (f", {b.get('threads')} threads" if kind == 'cpu' else '') + ") and data, one run after another; the schedule of every run is fitted "
                'to its budget (`time_budget_min`), selection is on validation, and each run is scored once on the 20,000 test images '
                '(argmax, no fitted threshold). `seed_cnn` is the CNN of the design this project rebuilds, with its own recipe '
                '(Adam, lr 1e-3, batch 32, no augmentation). Recipes, as the rows record them: ' + budget_recipes(b['rows']) + '.', '',
                b['table'].split('\n', 2)[2].strip(), '', *([b['note'], ''] if b.get('note') else []),
                f"![Test accuracy against training {'seconds' if kind == 'cuda' else 'minutes'}, one line per model]({fig_prefix}{Path(b['figure']).relative_to('results').as_posix()})"
                f"{{fig-alt=\"Test accuracy against training {'seconds' if kind == 'cuda' else 'minutes'}, one line per model\"}}", '',
                'Made by ' + '; '.join(f"`{x['command']}` ({x['rows']} runs" + (f", {x['rows_used']} shown, the others redone by a later command" if x.get('rows_used', x['rows']) < x['rows'] else '')
                                 + f", {x.get('code_version') or 'code version not recorded'})" for x in b['sources'])
                + '; published with `python scripts/publish_results.py --budget <folders>`.', '']
    if (res / PRECISION).is_file():
        p = json.loads((res / PRECISION).read_text())
        modes = list(dict.fromkeys(r['mode'] for r in p['rows']))
        names = dict(fp32='fp32 channels-last', **{'fp32-nchw': 'fp32 (NCHW)', 'bf16': 'bf16 autocast', 'bf16-compile': 'bf16 + torch.compile'})
        out += ['## Training speed by precision', '',
                f"Images per second of full training steps (forward, loss, backward, SGD) on batches of {p.get('batch_size', 256)} random 32×32 "
                f"images, {p.get('steps')} steps after warm-up, on {p['hardware']} (torch {p.get('torch')}, {p.get('threads')} threads, "
                f"oneDNN bf16 {'supported' if p.get('bf16_supported') else 'not supported'}); × is relative to fp32 channels-last.", '',
                '| model | ' + ' | '.join(names.get(m, m) for m in modes) + ' |', '|---|' + '---|' * len(modes)]
        for m in dict.fromkeys(r['model'] for r in p['rows']):
            rr = {r['mode']: r for r in p['rows'] if r['model'] == m}
            base = rr.get('fp32', {}).get('img_s')
            out.append(f'| `{m}` | ' + ' | '.join((f"{rr[k]['img_s']:,.0f}" + (f" ({rr[k]['img_s'] / base:.2f}×)" if base and k != 'fp32' else '')
                                                  + (f", {rr[k]['warmup_s']:.0f} s compile" if k.endswith('compile') else '')) if k in rr else '—' for k in modes) + ' |')
        out += ['', f"Made by `{p.get('command')}` ({p.get('code_version')}); published with `python scripts/publish_results.py --precision FILE`.", '']
    return out


def publish_sweep(report: Path, name: str, root=ROOT) -> dict:
    """An executed nbs/sweep_report.ipynb (papermill) as the results page nbs/results/sweep_<name>.ipynb, with the study's
    summary (`<storage>.json`, written by `cifake-run sweep`) beside it as sweep_<name>.json; the sidebar updated."""
    root = Path(root).resolve()
    check_committed(root)
    report = Path(report)
    storage = json.loads(report.read_text(encoding='utf-8')).get('metadata', {}).get('papermill', {}).get('parameters', {}).get('storage', '') if report.exists() else ''
    nb = prepare_notebook(report, f'Sweep: {name}', f'The executed sweep report of {portable_path(str(Path(storage).resolve())) if storage else "a study"}: '
                          'every trial, the best one (validation only) and the study plots.', root)
    res = root / RESULTS
    from execnb.nbio import write_nb
    res.mkdir(parents=True, exist_ok=True)
    write_nb(nb, res / f'sweep_{name}.ipynb')
    out = dict(page=f'results/sweep_{name}.ipynb')
    summ = Path(storage).with_suffix('.json') if storage else None
    if summ and summ.is_file():
        (res / f'sweep_{name}.json').write_text(page_text(summ.read_text()))
        out['summary'] = f'results/sweep_{name}.json'
    update_sidebar(root / SIDEBAR, res)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog='publish_results.py', description=__doc__.split('\n\n')[0])
    ap.add_argument('--train', action='append', help='training run folder (repeat for several seeds evaluated together)')
    ap.add_argument('--eval', help='evaluation run folder (runs/eval-...) that evaluated those checkpoints')
    ap.add_argument('--refresh', action='store_true', help='no run folders: re-tidy the published notebooks and rewrite the Results page')
    ap.add_argument('--sweep-report', help='an executed nbs/sweep_report.ipynb: published as nbs/results/sweep_<--name>.ipynb')
    ap.add_argument('--budget', nargs='+', metavar='DIR', help='scripts/bench_budget.py folders: the accuracy-per-minute table and plot')
    ap.add_argument('--extend', action='store_true', help='with --budget: add the folders\' rows to the published table (same machine) instead of replacing it')
    ap.add_argument('--note', help='with --budget: a caveat shown under the table (a missing line, what the runs did differently)')
    ap.add_argument('--precision', metavar='JSON', help='a scripts/bench_precision.py --out file: the precision table')
    ap.add_argument('--name', help='results name (default: the training run_name, e.g. cpu)')
    ap.add_argument('--ship', action='store_true', help='also export the model to cifake_nb/assets/default/ (the demo\'s model)')
    ap.add_argument('--allow-subset', action='store_true', help='publish an evaluation on part of the test split (limit_test)')
    a = ap.parse_args(argv)
    if a.refresh:
        try: d = refresh(ROOT)
        except (PublishError, ValueError) as err: ap.exit(2, f'publish_results.py: error: {err}\n')
        print(f"refreshed {len(d.get('runs') or {})} published run(s): nbs/{RESULTS.name}/*.ipynb, nbs/{RESULTS.name}/{PAGE}, nbs/{RESULTS.name}/{FIGURES}/")
        return d
    if a.budget or a.precision:
        try:
            b = publish_budget(a.budget, ROOT, a.extend, a.note or '') if a.budget else None
            if b: print(b['table'])
            if a.precision: publish_precision(Path(a.precision), ROOT)
        except (PublishError, ValueError, OSError, KeyError) as err: ap.exit(2, f'publish_results.py: error: {err}\n')
        print(f'published nbs/{RESULTS.name}/' + ' and '.join(x for x, on in ((b and BUDGETS[b['device']][0], a.budget), (PRECISION, a.precision)) if on) + f', nbs/{RESULTS.name}/{PAGE}')
        return
    if a.sweep_report:
        if not a.name: ap.error('--sweep-report needs --name (the page is nbs/results/sweep_<name>.ipynb)')
        try: d = publish_sweep(Path(a.sweep_report), a.name, ROOT)
        except (PublishError, ValueError, OSError) as err: ap.exit(2, f'publish_results.py: error: {err}\n')
        print(f"published nbs/{d['page']}" + (f" and nbs/{d['summary']}" if d.get('summary') else '') + f', {SIDEBAR}')
        return d
    if not a.train or not a.eval: ap.error('--train and --eval are required (or --refresh)')
    try: e = publish(a.train, a.eval, a.name, ROOT, a.ship, a.allow_subset)
    except (PublishError, ValueError, RuntimeError) as err: ap.exit(2, f'publish_results.py: error: {err}\n')  # incl. export errors
    print(f"published {e['name']}: test accuracy {100 * e['test_accuracy']:.2f}% on {e['n_test']} images → "
          f"nbs/{e['eval_page']}, {', '.join('nbs/' + p for p in e['train_pages'])}, nbs/results/{HEADLINE}, {SIDEBAR}"
          + (' and cifake_nb/assets/default/ (its old int8 sibling removed: `python scripts/ship_int8.py` writes the new one, '
             'or refuses if int8 costs more than 0.1 pp)' if a.ship else ''))
    return e


if __name__ == '__main__': main()
