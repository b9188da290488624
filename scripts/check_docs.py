#!/usr/bin/env python
"""Prepare the docs pages exactly as nbdev does (`nbdev_proc_nbs`: nbs/ → _proc/), then check them. No Quarto needed.

    python scripts/check_docs.py            # .github/workflows/docs.yaml runs this, then `cd _proc && quarto render`
    python scripts/check_docs.py --no-proc  # check the existing _proc/ again

`nbdev_proc_nbs` begins by making sure Quarto is installed and, when it is not, tries to install it
(sudo, a download from quarto.org, then `pip install -e .[dev]`). The processing itself does not use
Quarto, so where `quarto` is not on PATH this script skips that install step and says so; with Quarto
installed (CI) it runs `nbdev_proc_nbs` unchanged. Everything else is nbdev's own code: it writes
nbs/nbdev.yml from settings.ini, rebuilds cifake_nb/_modidx.py (as nbdev_export does), copies nbs/
into _proc/ and runs nbdev's notebook processors, which execute the import, export, show_doc and
`#| exec_doc` cells (Quarto executes nothing: _quarto.yml) and turn backticked names into links.

Then it checks _proc/ for what would make `quarto render` fail or the site mis-render, one line per problem:

* the pages Quarto renders (its default input rules and `project: render` in _quarto.yml) and the HTML file
  each one becomes (`output-file` in its front matter; nbdev sets it to the notebook's name without its
  `NN_` prefix): two pages with one output path abort the render;
* YAML that does not parse (_quarto.yml, the metadata files, every page's front matter);
* navbar and sidebar entries, links and images that point at no file or at a page that is not rendered,
  and links to an anchor the target page will not have (a backticked `Name.method` that nbdev turned into a
  link needs a `show_doc` entry on that page);
* stored outputs that embed a localhost iframe (a `launch()` output: a blank box on the site), show a machine
  path (cifake_nb.report.MACHINE_PATH), W&B chatter ("wandb:") or a `+dirty` version;
* that the configuration arrived (nbs/_quarto.yml is a symlink to ../_quarto.yml), every sidebar page has a
  title, the home page's results table and the model card page got their outputs, results pages kept their
  figures, and README.md was not touched (nbdev_readme is never run).

Exit status 1 with the list of problems if any check fails. Quarto's own behaviour imitated here (render
targets, identifiers) is described at each function; what this cannot see is whatever only a real render
shows (page layout, JavaScript).
"""
from __future__ import annotations
import argparse, fnmatch, hashlib, json, os, re, shutil, sys, time
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]
PAGE_EXT = ('.qmd', '.ipynb', '.md', '.Rmd')  # Quarto's input files (of those this project could have)


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
    walk(((sidebar or {}).get('website') or {}).get('sidebar', {}).get('contents', []))
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
    # Every page from scratch, as CI's fresh clone does: nbdev's cache re-processes only notebooks newer than their copy in
    # _proc/, so a page that reads the results store or a model.json when it is built (home, model card) stayed stale after a
    # publish, and so did every page after a change to the extra processors (cifake_nb/docs.py).
    if (root / '_proc').exists(): shutil.rmtree(root / '_proc')
    t = time.perf_counter()
    q.nbdev_proc_nbs.__wrapped__()
    return time.perf_counter() - t


# ---------------------------------------------------------------- what Quarto renders, and to where

def _yaml(text: str, what: str, bad: list):
    import yaml
    try: return yaml.safe_load(text)
    except yaml.YAMLError as e:
        bad.append(f'{what}: YAML error: {" ".join(str(e).split())}')
        return None


def _hidden(rel: Path) -> bool: return any(s.startswith(('_', '.')) for s in rel.parts)


def _glob_match(pattern: str, rel: str) -> bool:
    """Quarto's render globs (quarto-cli src/core/path.ts resolvePathGlobs, mode "auto"): a pattern without a
    leading "/" matches at any depth ("**/" is prepended), one ending in "/" means everything in that folder."""
    anchored = pattern.startswith('/')
    p = pattern.lstrip('/')
    if p.endswith('/'): return rel.startswith(p) if anchored else (rel.startswith(p) or f'/{p}' in f'/{rel}')
    if anchored: return fnmatch.fnmatch(rel, p)
    parts = rel.split('/')
    return any(fnmatch.fnmatch('/'.join(parts[i:]), p) for i in range(len(parts)))


def rendered_pages(site: Path, render: list | None = None) -> list[str]:
    """The input files Quarto renders in `site` (relative paths). Default: every .qmd/.ipynb/.md/.Rmd file whose
    path has no part starting with "_" or "." and that is not README.md/.qmd; `project: render` in _quarto.yml
    replaces that list (its "!" entries exclude). https://quarto.org/docs/projects/quarto-projects.html#render-targets"""
    files = sorted(str(p.relative_to(site)) for p in site.rglob('*') if p.is_file() and p.suffix in PAGE_EXT
                   and not _hidden(p.relative_to(site)) and p.name not in ('README.md', 'README.qmd'))
    if not render: return files
    inc = [g for g in render if not str(g).startswith('!')]
    exc = [str(g)[1:] for g in render if str(g).startswith('!')]
    return [f for f in files if any(_glob_match(g, f) for g in inc) and not any(_glob_match(g, f) for g in exc)]


def page_meta(path: Path, bad: list | None = None, rel: str = '') -> dict:
    "A page's front matter: a notebook's first raw cell (nbdev writes it), a .qmd/.md file's YAML header."
    bad = [] if bad is None else bad
    if path.suffix == '.ipynb':
        try: nb = json.loads(path.read_text(encoding='utf-8'))
        except ValueError as e:
            bad.append(f'{rel}: not valid notebook JSON ({e})')
            return {}
        c = (nb.get('cells') or [{}])[0]
        src = ''.join(c.get('source', ''))
        if c.get('cell_type') != 'raw' or not src.strip().startswith('---'): return {}
        m = re.match(r'\s*---\s*\n(.*?)\n---', src, re.DOTALL)
    else:
        m = re.match(r'---\s*\n(.*?)\n---\s*(\n|$)', path.read_text(encoding='utf-8'), re.DOTALL)
    if not m: return {}
    d = _yaml(m.group(1), f'{rel} front matter', bad)
    if d is not None and not isinstance(d, dict):
        bad.append(f'{rel} front matter: not a YAML mapping')
        return {}
    return d or {}


def output_path(rel: str, meta: dict) -> str:
    """The HTML file a page becomes: `output-file` from its front matter (relative to its folder; nbdev sets it
    for every notebook to its name lower-cased without the `NN_`/`NNa_` prefix, nbdev.doclinks._nbpath2html),
    else its name with .html."""
    r = Path(rel)
    of = meta.get('output-file')
    if not of and r.suffix == '.ipynb':
        of = re.sub(r'^\d+[a-zA-Z0-9]*_', '', r.name.lower())
    of = Path(str(of or r.name))
    if of.suffix != '.html': of = of.with_suffix('.html')
    return (r.parent / of).as_posix()


# ---------------------------------------------------------------- page contents

_FENCE = re.compile(r'^[ \t]*(```+|~~~+).*?^[ \t]*\1[ \t]*$', re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r'(`+)(?!`).+?(?<!`)\1', re.DOTALL)
_LINK = re.compile(r'!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(?:\s+(?:"[^"]*"|\'[^\']*\'))?\s*\)')
_HTML_REF = re.compile(r'<(?:img|a|iframe|source|script|link)\b[^>]*?\b(?:src|href)\s*=\s*["\']([^"\']+)["\']', re.IGNORECASE)
_HEADING = re.compile(r'^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$', re.MULTILINE)
_EXPLICIT_ID = re.compile(r'\{[^}]*#([\w.:-]+)[^}]*\}')


def _text(x) -> str: return ''.join(x) if isinstance(x, list) else (x or '')


def page_markdown(path: Path) -> list[tuple[str, str]]:
    "(where, markdown) pieces of a page as Quarto sees them: markdown cells and markdown outputs, or the file's body."
    if path.suffix != '.ipynb':
        t = path.read_text(encoding='utf-8')
        return [('', re.sub(r'\A---\s*\n.*?\n---\s*\n', '', t, flags=re.DOTALL))]
    nb = json.loads(path.read_text(encoding='utf-8'))
    out = []
    for i, c in enumerate(nb.get('cells', [])):
        if c.get('cell_type') == 'markdown': out.append((f'cell {i}', _text(c.get('source'))))
        for o in c.get('outputs', []):
            if 'text/markdown' in o.get('data', {}): out.append((f'cell {i} output', _text(o['data']['text/markdown'])))
    return out


def pandoc_id(heading: str) -> str:
    """Pandoc's automatic identifier of a heading (https://pandoc.org/MANUAL.html#extension-auto_identifiers):
    formatting and links dropped, everything but letters, digits, _ - . removed, spaces → "-", lower case,
    up to the first letter dropped; "section" if nothing is left."""
    t = _EXPLICIT_ID.sub('', heading)
    t = re.sub(r'\{[^}]*\}\s*$', '', t)
    t = re.sub(r'!?\[([^\]]*)\]\([^)]*\)', r'\1', t)
    t = re.sub(r'<[^>]+>', '', t)
    t = re.sub(r'[`*]', '', t)
    t = re.sub(r'(?<![\w])_+|_+(?![\w])', '', t)  # _emphasis_ markers, not snake_case
    t = re.sub(r'[^\w\s.-]', '', t.strip().lower())
    t = re.sub(r'\s+', '-', t)
    t = re.sub(r'^[^a-z]+', '', t)
    return t or 'section'


def page_anchors(path: Path) -> set:
    "The identifiers a page will have: its headings' (markdown cells, markdown outputs such as show_doc's) and explicit {#id}s."
    ids, seen = set(), {}
    for _, md in page_markdown(path):
        md = _FENCE.sub('', md)
        for _, h in _HEADING.findall(md):
            m = _EXPLICIT_ID.search(h)
            if m:
                ids.add(m.group(1))
                continue
            base = pandoc_id(h)
            n = seen.get(base, 0)
            seen[base] = n + 1
            ids.add(base if n == 0 else f'{base}-{n}')
        ids.update(_EXPLICIT_ID.findall(_FENCE.sub('', md)))
        ids.update(re.findall(r'\bid\s*=\s*["\']([^"\']+)["\']', md))
    return ids


def page_links(path: Path) -> list[tuple[str, str, str]]:
    "(where, text, target) of every markdown link, image and HTML src/href on a page, outside code blocks and spans."
    out = []
    for where, md in page_markdown(path):
        md = _FENCE.sub('', md)
        out += [(where, text, t) for text, t in _LINK.findall(md)]  # nbdev's links have `code` as their text
        out += [(where, '', t) for t in _HTML_REF.findall(_INLINE_CODE.sub('', md))]
    return out


# ---------------------------------------------------------------- stored outputs

# The page-text patterns are the ones a results page is tidied with (cifake_nb.report), so the check and the tidying agree.
from cifake_nb.report import ANSI as _ANSI, DIRTY as _DIRTY, MACHINE_PATH, WANDB_LINE as _WANDB  # noqa: E402
_LOCAL_IFRAME = re.compile(r'<iframe\b[^>]*\bsrc\s*=\s*["\']?(https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0)[^"\'\s>]*)', re.IGNORECASE)


def output_texts(o: dict) -> list[str]:
    "The text a stored output shows (stream text, text/plain, markdown, HTML), without ANSI colour codes."
    ts = [_text(o.get('text'))] if o.get('output_type') == 'stream' else []
    ts += [_text(o.get('data', {}).get(m)) for m in ('text/plain', 'text/markdown', 'text/html', 'text/latex') if m in o.get('data', {})]
    if o.get('output_type') == 'error': ts.append('\n'.join(o.get('traceback', [])))
    return [_ANSI.sub('', t) for t in ts if t]


def output_problems(nb: dict, rel: str) -> list[str]:
    "Stored outputs that should not be on the site: localhost iframes, machine paths, W&B chatter, +dirty versions."
    bad = []
    state = ((nb.get('metadata') or {}).get('widgets') or {}).get('application/vnd.jupyter.widget-state+json') or {}
    if state.get('state'):  # saved widgets (execnb adds an empty state to every notebook nbdev executes: not flagged)
        bad.append(f'{rel}: the notebook metadata holds Jupyter widget state: Quarto then loads require.js and jQuery from a CDN; drop metadata.widgets')
    for i, c in enumerate(nb.get('cells', [])):
        for o in c.get('outputs', []):
            for t in output_texts(o):
                if m := _LOCAL_IFRAME.search(t):
                    bad.append(f'{rel}: cell {i} stores an iframe to {m.group(1)} (a launch() output): it shows as a blank box; clear that output')
                if m := MACHINE_PATH.search(t):
                    bad.append(f'{rel}: cell {i} output shows the machine path {m.group(0)[:80]}: print paths relative to the project (or clean the published copy)')
                if 'text/html' in o.get('data', {}) or 'application/javascript' in o.get('data', {}):
                    bad.append(f'{rel}: cell {i} has an HTML/JavaScript output: Quarto then loads require.js and jQuery from cdnjs '
                               f'for the page (DataFrames are turned into Markdown tables by cifake_nb.docs:dataframes_as_markdown)')
                if _WANDB.search(t):
                    bad.append(f'{rel}: cell {i} output holds W&B chatter ("wandb: ..."): keep it in the run folder, not on the page')
                if m := _DIRTY.search(t):
                    line = next(l for l in t.splitlines() if '+dirty' in l).strip()
                    bad.append(f'{rel}: cell {i} output shows a "+dirty" version ({line[:80]}): say "uncommitted changes" or publish a clean run')
    return list(dict.fromkeys(bad))


# ---------------------------------------------------------------- the whole site

def site_url_of(site: Path) -> str:
    "The site's address (website.site-url in nbdev.yml, which nbdev writes from settings.ini), without a trailing slash."
    import yaml
    p = site / 'nbdev.yml'
    d = yaml.safe_load(p.read_text()) if p.exists() else {}
    return str(((d or {}).get('website') or {}).get('site-url') or '').rstrip('/')


def check_site(site: Path, cfg_path: Path | None = None, site_url: str | None = None, label: str = '') -> list[str]:
    """Problems Quarto would fail on or mis-render in the processed site folder `site` (nbdev's _proc/),
    whose configuration is `cfg_path` (default site/_quarto.yml). `label` prefixes page names in messages."""
    bad = []
    cfg_path = cfg_path or site / '_quarto.yml'
    cfg = _yaml(cfg_path.read_text(), cfg_path.name, bad) if cfg_path.exists() else None
    if cfg is None and not bad: bad.append(f'{cfg_path}: missing')
    cfg = cfg if isinstance(cfg, dict) else {}
    meta_files = {}
    for m in cfg.get('metadata-files') or []:
        p = site / m
        if not p.exists():
            bad.append(f'{m} (listed in metadata-files in _quarto.yml) is missing')
            continue
        meta_files[m] = _yaml(p.read_text(), m, bad) or {}
    site_url = site_url if site_url is not None else site_url_of(site)

    pages = rendered_pages(site, (cfg.get('project') or {}).get('render'))
    metas = {p: page_meta(site / p, bad, label + p) for p in pages}
    out_of = {p: output_path(p, metas[p]) for p in pages}
    by_out = {}
    for p, o in out_of.items(): by_out.setdefault(o, []).append(p)
    for o, ps in sorted(by_out.items()):
        if len(ps) > 1:
            bad.append(f'output-path clash: {" and ".join(label + p for p in ps)} both render to {o} (nbdev names a notebook\'s page '
                       f'after its file without the NN_ prefix): Quarto stops with "NotFound ... rename"; rename one, or leave one out '
                       f'of the render (`project: render` in _quarto.yml)')
    page_of_html = {o: ps[0] for o, ps in by_out.items()}
    rendered = set(pages)

    # navbar, sidebar and site-level files
    website = dict(cfg.get('website') or {})
    for d in meta_files.values():
        for k, v in ((d or {}).get('website') or {}).items(): website.setdefault(k, v)
    nav = website.get('navbar') or {}
    hrefs = [(f'navbar {side}', i.get('href')) for side in ('left', 'right') for i in (nav.get(side) or []) if isinstance(i, dict) and i.get('href')]
    for i in (nav.get('left') or []) + (nav.get('right') or []):
        if isinstance(i, dict) and i.get('menu'): hrefs += [('navbar menu', j.get('href') if isinstance(j, dict) else j) for j in i['menu']]
    sb = {'website': {'sidebar': website.get('sidebar') or {}}}
    sp, sg = sidebar_pages(sb)
    hrefs += [('sidebar', p) for p in sp]
    for kind, h in hrefs:
        if not h or re.match(r'^[a-z]+:', str(h)): continue
        h = str(h).split('#')[0]
        if h not in rendered: bad.append(f'{kind} entry {h}: ' + ('not rendered (left out by project: render)' if (site / h).exists() else 'no such page'))
    for g in sg:
        if not [p for p in pages if fnmatch.fnmatch(Path(p).name, g) or fnmatch.fnmatch(p, g)]: bad.append(f'sidebar glob {g!r} matches no rendered page')
    for key in ('favicon', 'image'):
        v = website.get(key)
        if v and not re.match(r'^[a-z]+:', str(v)) and not (site / str(v)).exists(): bad.append(f'website.{key} {v}: no such file')
    theme = ((cfg.get('format') or {}).get('html') or {}).get('theme')
    themes = [theme] if isinstance(theme, str) else list(theme or [])
    scss = [t for t in themes if str(t).endswith('.scss')]
    for t in scss:
        if not (site / t).exists(): bad.append(f'format.html.theme {t}: no such file')
    if any(not str(t).endswith('.scss') for t in themes) and not any(
            re.search(r'^\s*\$web-font-path\s*:\s*false', (site / t).read_text(), re.MULTILINE) for t in scss if (site / t).exists()):
        bad.append(f'format.html.theme {themes}: a Bootswatch theme imports its web font from Google Fonts; add a .scss layer with `$web-font-path: false;`')
    css = ((cfg.get('format') or {}).get('html') or {}).get('css')
    for c in ([css] if isinstance(css, str) else css or []):
        if not (site / c).exists(): bad.append(f'format.html.css {c}: no such file')

    # links, images and anchors on every rendered page
    anchors = {}
    def anchors_of(p):
        if p not in anchors: anchors[p] = page_anchors(site / p)
        return anchors[p]
    base = urlparse(site_url + '/') if site_url else None
    for p in pages:
        here = Path(p).parent
        for where, text, t in page_links(site / p):
            t = t.strip()
            url = urlparse(t)
            target_page, frag = None, unquote(url.fragment)
            if url.scheme in ('http', 'https') and base and url.netloc == base.netloc and url.path.startswith(base.path):
                rel_html = url.path[len(base.path):] or 'index.html'
                if rel_html.endswith('/'): rel_html += 'index.html'
                target_page = page_of_html.get(rel_html)
                if target_page is None:
                    bad.append(f'{label}{p} ({where}): link {t}: the site will have no page {rel_html}')
                    continue
            elif url.scheme or t.startswith(('#', '//', 'mailto:', 'data:')) or not url.path:
                if t.startswith('#') and frag and frag not in anchors_of(p):
                    bad.append(f'{label}{p} ({where}): link {t}: no heading or id #{frag} on this page')
                continue
            else:
                rel = os.path.normpath((here / unquote(url.path)).as_posix()).replace(os.sep, '/')
                if rel.startswith('../'):
                    bad.append(f'{label}{p} ({where}): link {t} leaves the site folder (link to GitHub instead)')
                    continue
                if rel in out_of.values(): target_page = page_of_html[rel]
                elif Path(rel).suffix in PAGE_EXT:
                    if rel in rendered: target_page = rel
                    else:
                        why = 'left out of the render (project: render in _quarto.yml)' if (site / rel).exists() else 'no such page'
                        bad.append(f'{label}{p} ({where}): link {t}: {why}; link to the file on GitHub instead' if (site / rel).exists()
                                   else f'{label}{p} ({where}): link {t}: {why}')
                        continue
                elif not (site / rel).exists():
                    bad.append(f'{label}{p} ({where}): {"image" if Path(rel).suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp") else "link"} {t}: no such file')
                    continue
            if target_page and frag and frag not in anchors_of(target_page):
                name = text.strip('` ')
                hint = (f' (nbdev links `{name}` there: add a `show_doc({name})` cell to {label}{target_page})'
                        if text.startswith('`') and name.lower() == frag else '')
                bad.append(f'{label}{p} ({where}): link {t}: {label}{target_page} has no anchor #{frag}{hint}')

    # signatures (nbdev's show_doc blocks): Markdown shows literally in a code block
    for p in pages:
        for where, md in (page_markdown(site / p) if p.endswith('.ipynb') else []):
            if 'output' not in where: continue
            for blk in re.findall(r'```python\n(.*?)```', md, re.DOTALL):
                name = (re.search(r'def (\w+)\(', blk) or re.search(r'(\w+)', blk)).group(1)
                if re.search(r'\]\(https?://', blk): bad.append(f'{label}{p} ({where}): the signature of {name} shows a raw Markdown link (settings.ini procs = cifake_nb.docs:clean_signatures removes them)')
                if ':NoneType=None' in blk: bad.append(f'{label}{p} ({where}): the signature of {name} types an argument NoneType (annotate it, or keep cifake_nb.docs:clean_signatures in settings.ini procs)')

    # stored outputs
    for p in pages:
        if p.endswith('.ipynb'):
            bad += output_problems(json.loads((site / p).read_text(encoding='utf-8')), label + p)
    return list(dict.fromkeys(bad))


TABLE_START, TABLE_END = '<!-- TrainConfig table: python scripts/check_docs.py --trainconfig-table -->', '<!-- end of TrainConfig table -->'


def trainconfig_table(root: Path = ROOT) -> str:
    """Every `TrainConfig` field with its default and its meaning and unit, the comments of the papermill training
    notebook's parameters cell (nbs/train.ipynb mirrors the dataclass, one commented line per field), as markdown."""
    import dataclasses
    from cifake_nb.docs import empty_strings_as_code, placeholders_as_code  # a .qmd page is not processed by nbdev: '' → ’’, <x> → a tag
    from cifake_nb.train import TrainConfig
    nb = json.loads((root / 'nbs' / 'train.ipynb').read_text(encoding='utf-8'))
    cell = next(c for c in nb['cells'] if 'parameters' in (c.get('metadata') or {}).get('tags', []))
    notes, section = {}, None
    for line in _text(cell['source']).splitlines():
        if m := re.match(r'^#\s*([a-z][a-z ]{0,20})$', line.strip()):
            section = m.group(1)
            continue
        if m := re.match(r'^(\w+) = .+?(?:\s+#\s*(.*))?$', line): notes[m.group(1)] = (section, re.sub(r'\s*\[smoke size\]\s*$', '', m.group(2) or ''))
    d, rows, sec = TrainConfig(), ['| field | default | meaning (unit) |', '|---|---|---|'], None
    for f in dataclasses.fields(TrainConfig):
        s, note = notes.get(f.name, (None, ''))
        if s and s != sec:
            rows.append(f'| **{s}** | | |')
            sec = s
        rows.append(f"| `{f.name}` | `{repr(getattr(d, f.name))}` | {placeholders_as_code(empty_strings_as_code(note)).replace('|', chr(92) + '|')} |")
    return '\n'.join(rows)


def check(root: Path) -> list[str]:
    "Problems found in `root`/_proc after processing (empty: all good)."
    import yaml
    bad = []
    cache, nbs = root / '_proc', root / 'nbs'
    if not (nbs / '_quarto.yml').is_symlink() or (nbs / '_quarto.yml').resolve() != (root / '_quarto.yml').resolve():
        bad.append('nbs/_quarto.yml must be a symlink to ../_quarto.yml')
    if not (cache / '_quarto.yml').exists() or (cache / '_quarto.yml').read_text() != (root / '_quarto.yml').read_text():
        bad.append('_proc/_quarto.yml is missing or differs from _quarto.yml: the symlink was not followed')
    # _proc/ is a cache that nbdev only adds to: a page whose source is gone would still be rendered here
    for p in sorted(cache.rglob('*')):
        r = p.relative_to(cache)
        if p.is_file() and p.suffix in PAGE_EXT and not _hidden(r) and not (nbs / r).exists():
            print(f'note: removing _proc/{r}: its source nbs/{r} no longer exists')
            p.unlink()
    bad += check_site(cache, label='')
    tut = nbs / 'tutorials' / 'train.qmd'
    if tut.exists():
        t = tut.read_text(encoding='utf-8')
        got = t.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip() if TABLE_START in t and TABLE_END in t else None
        if got != trainconfig_table(root).strip():
            bad.append('tutorials/train.qmd: its TrainConfig table is missing or out of date (fields, defaults, meanings): '
                       'paste the output of `python scripts/check_docs.py --trainconfig-table` between its markers')
    cfg = yaml.safe_load((root / '_quarto.yml').read_text()) or {}
    rendered = set(rendered_pages(cache, (cfg.get('project') or {}).get('render')))
    pages, globs = sidebar_pages(yaml.safe_load((nbs / 'sidebar.yml').read_text()) or {})
    api = [p for p in expand_globs(globs, nbs) if p in rendered]
    if globs and not api: bad.append(f'the sidebar globs {globs} match no notebook')
    for p in pages + api:
        d = cache / p
        if not d.exists():
            bad.append(f'sidebar page {p}: not produced in _proc/ (missing or skipped source nbs/{p})')
            continue
        if d.suffix == '.ipynb':
            fm = front_matter(json.loads(d.read_text()))
            title = str(fm.get('title', ''))
            if not title: bad.append(f'{p}: no title (the first markdown cell must start with "# Title")')
            elif title.startswith('#'): bad.append(f'{p}: title {title!r} starts with "#": its markdown cells are commented out ("# # Title")')
    idx = cache / 'index.ipynb'
    if idx.exists():
        md = ''.join(''.join(o['data']['text/markdown']) for o in outputs_of(json.loads(idx.read_text()), 'text/markdown'))
        if '| model | test accuracy |' not in md: bad.append('index.ipynb: the results table was not rendered (its #| exec_doc cell did not run)')
        if (nbs / 'results' / 'shipped.json').exists() == ('No published run yet' in md):
            bad.append('index.ipynb: the results table disagrees with nbs/results/shipped.json (present ⇔ rows of ours)')
    from cifake_nb.results import stale_pages
    bad += [f'{p} does not say what the results store (nbs/results/*.json) says: run `python scripts/publish_results.py --refresh`'
            for p in stale_pages(nbs.parent)]
    card = cache / 'model_cards' / 'default.ipynb'
    if card.exists() and not outputs_of(json.loads(card.read_text()), 'text/markdown'): bad.append('model_cards/default.ipynb: the card was not rendered')
    for p in sorted((cache / 'results').glob('*.ipynb')):
        if f'results/{p.name}' in rendered and not outputs_of(json.loads(p.read_text()), 'image/png'):
            bad.append(f'results/{p.name}: no image/png output left after processing')
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--no-proc', action='store_true', help='check an existing _proc/ without processing again')
    ap.add_argument('--trainconfig-table', action='store_true', help='print the TrainConfig table of tutorials/train.qmd and exit')
    a = ap.parse_args(argv)
    if a.trainconfig_table:
        print(trainconfig_table(ROOT))
        return
    readme = ROOT / 'README.md'
    before = hashlib.sha256(readme.read_bytes()).hexdigest() if readme.exists() else None
    if not a.no_proc: print(f'nbdev_proc_nbs: {proc(ROOT):.1f} s')
    bad = check(ROOT)
    after = hashlib.sha256(readme.read_bytes()).hexdigest() if readme.exists() else None
    if before != after: bad.append('README.md changed during processing: something ran nbdev_readme')
    import yaml
    cfg = yaml.safe_load((ROOT / '_quarto.yml').read_text()) or {}
    n = len(rendered_pages(ROOT / '_proc', (cfg.get('project') or {}).get('render')))
    if bad:
        print(f'{len(bad)} problem(s) in the docs pages:', *[f'  - {b}' for b in bad], sep='\n')
        sys.exit(1)
    print(f'docs pages OK: {n} pages to render in _proc/, ready for `cd _proc && quarto render`')


if __name__ == '__main__': main()
