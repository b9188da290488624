#!/usr/bin/env python
"""Prepare the docs pages exactly as nbdev does (`nbdev_proc_nbs`: nbs/ → _proc/), then check them. No Quarto needed.

    python scripts/check_docs.py            # .github/workflows/docs.yaml runs this, then `cd _proc && quarto render`

`nbdev_proc_nbs` begins by making sure Quarto is installed and, when it is not, tries to install it
(sudo, a download from quarto.org, then `pip install -e .[dev]`). The processing itself does not use
Quarto, so where `quarto` is not on PATH this script skips that install step and says so; with Quarto
installed (CI) it runs `nbdev_proc_nbs` unchanged. Everything else is nbdev's own code: it writes
nbs/nbdev.yml from settings.ini, rebuilds cifake_nb/_modidx.py (as nbdev_export does), copies nbs/
into _proc/ and runs nbdev's notebook processors, which execute the import, export, show_doc and
`#| exec_doc` cells (Quarto executes nothing: _quarto.yml).

Then it checks _proc/: the configuration arrived (nbs/_quarto.yml is a symlink to ../_quarto.yml), every
sidebar page was produced with a title, the home page's results table and the model card page got
their outputs, results pages kept their figures, and README.md was not touched (nbdev_readme is never run).
Exit status 1 with the list of problems if any check fails.
"""
from __future__ import annotations
import argparse, fnmatch, hashlib, json, os, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sidebar_pages(sidebar: dict) -> tuple[list[str], list[str]]:
    "The (explicit pages, glob patterns) listed in a sidebar mapping, in order."
    pages, globs = [], []
    def walk(x):
        if isinstance(x, str): (globs if any(ch in x for ch in '*?[') else pages).append(x)
        elif isinstance(x, list): [walk(i) for i in x]
        elif isinstance(x, dict):
            if 'href' in x: walk(x['href'])
            if 'contents' in x: walk(x['contents'])
            if 'auto' in x: walk(x['auto'])
    walk(sidebar['website']['sidebar']['contents'])
    return pages, globs


def expand_globs(globs: list[str], base: Path) -> list[str]:
    "Files under `base` matching the sidebar globs (Quarto globs match recursively)."
    files = [str(p.relative_to(base)) for p in base.rglob('*') if p.is_file() and not any(s.startswith(('_', '.')) for s in p.relative_to(base).parts)]
    return sorted({f for g in globs for f in files if fnmatch.fnmatch(Path(f).name, g) or fnmatch.fnmatch(f, g)})


def front_matter(nb: dict) -> dict:
    "The YAML front matter nbdev put in the first raw cell of a processed notebook."
    import yaml
    c = nb['cells'][0] if nb.get('cells') else {}
    src = ''.join(c.get('source', ''))
    if c.get('cell_type') != 'raw' or not src.startswith('---'): return {}
    return yaml.safe_load(src.strip().strip('-')) or {}


def outputs_of(nb: dict, mime: str) -> list:
    return [o for c in nb.get('cells', []) for o in c.get('outputs', []) if mime in o.get('data', {})]


def proc(root: Path) -> float:
    "Run nbdev_proc_nbs in `root`; returns seconds."
    os.chdir(root)
    import nbdev.quarto as q
    if not shutil.which('quarto'):
        print('note: quarto is not on PATH: skipping nbdev\'s install-Quarto step (it needs sudo and a download); the processing does not need it')
        q._ensure_quarto = lambda: None
    t = time.perf_counter()
    q.nbdev_proc_nbs.__wrapped__()
    return time.perf_counter() - t


def check(root: Path) -> list[str]:
    "Problems found in `root`/_proc after processing (empty: all good)."
    import yaml
    bad = []
    cache, nbs = root / '_proc', root / 'nbs'
    if not (nbs / '_quarto.yml').is_symlink() or (nbs / '_quarto.yml').resolve() != (root / '_quarto.yml').resolve():
        bad.append('nbs/_quarto.yml must be a symlink to ../_quarto.yml')
    if not (cache / '_quarto.yml').exists() or (cache / '_quarto.yml').read_text() != (root / '_quarto.yml').read_text():
        bad.append('_proc/_quarto.yml is missing or differs from _quarto.yml: the symlink was not followed')
    cfg = yaml.safe_load((root / '_quarto.yml').read_text())
    for m in cfg.get('metadata-files', []):
        if not (cache / m).exists(): bad.append(f'_proc/{m} (listed in metadata-files) is missing')
    pages, globs = sidebar_pages(yaml.safe_load((nbs / 'sidebar.yml').read_text()))
    api = expand_globs(globs, nbs)
    if globs and not api: bad.append(f'the sidebar globs {globs} match no notebook')
    for p in pages + api:
        d = cache / p
        if not d.exists(): bad.append(f'sidebar page {p}: not produced in _proc/ (missing or skipped source nbs/{p})'); continue
        if d.suffix == '.ipynb':
            fm = front_matter(json.loads(d.read_text()))
            title = str(fm.get('title', ''))
            if not title: bad.append(f'{p}: no title (the first markdown cell must start with "# Title")')
            elif title.startswith('#'): bad.append(f'{p}: title {title!r} starts with "#": its markdown cells are commented out ("# # Title")')
    idx = cache / 'index.ipynb'
    if idx.exists():
        md = ''.join(''.join(o['data']['text/markdown']) for o in outputs_of(json.loads(idx.read_text()), 'text/markdown'))
        if '| Model | Test accuracy |' not in md: bad.append('index.ipynb: the results table was not rendered (its #| exec_doc cell did not run)')
        if (nbs / 'results' / 'headline.json').exists() == ('No published run yet' in md):
            bad.append('index.ipynb: the results table disagrees with nbs/results/headline.json (present ⇔ rows of ours)')
    card = cache / 'model_cards' / 'default.ipynb'
    if card.exists() and not outputs_of(json.loads(card.read_text()), 'text/markdown'): bad.append('model_cards/default.ipynb: the card was not rendered')
    for p in sorted((cache / 'results').glob('*.ipynb')):
        if not outputs_of(json.loads(p.read_text()), 'image/png'): bad.append(f'results/{p.name}: no image/png output left after processing')
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--no-proc', action='store_true', help='check an existing _proc/ without processing again')
    a = ap.parse_args(argv)
    readme = ROOT / 'README.md'
    before = hashlib.sha256(readme.read_bytes()).hexdigest() if readme.exists() else None
    if not a.no_proc: print(f'nbdev_proc_nbs: {proc(ROOT):.1f} s')
    bad = check(ROOT)
    after = hashlib.sha256(readme.read_bytes()).hexdigest() if readme.exists() else None
    if before != after: bad.append('README.md changed during processing: something ran nbdev_readme')
    n = len(list((ROOT / '_proc').rglob('*.ipynb'))) + len(list((ROOT / '_proc').rglob('*.qmd')))
    if bad:
        print(f'{len(bad)} problem(s) in the docs pages:', *[f'  - {b}' for b in bad], sep='\n'); sys.exit(1)
    print(f'docs pages OK: {n} pages in _proc/, ready for `cd _proc && quarto render`')


if __name__ == '__main__': main()
