"""The docs site's sources: its configuration, the sidebar, the pages, their links and stored outputs,
and what nbdev executes when it builds them.

How the site is built (see _quarto.yml): nbdev copies nbs/ into _proc/ and runs its notebook processors,
which execute only import, export, `show_doc` and `#| exec_doc` cells; Quarto renders the result and
executes nothing. So a page shows the outputs stored in its notebook, and a cell that nbdev executes
runs *without the cells before it*. These tests are static (seconds), except one in-process run of
nbdev's processors on the two pages whose content is computed at build time (home, model card).
The full build check, every notebook through `nbdev_proc_nbs` (about a minute), is
`python scripts/check_docs.py`, which the docs workflow runs before Quarto.
"""
import ast, configparser, copy, json, re, sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
sys.path.insert(0, str(ROOT / 'scripts'))
import check_docs  # noqa: E402  (scripts/, not a package)
from cifake_nb import publish as publish_results  # noqa: E402  (scripts/publish_results.py is its command line)
from cifake_nb import report, results  # noqa: E402

SETTINGS = configparser.ConfigParser(delimiters=['='])
SETTINGS.read(ROOT / 'settings.ini')
CFG = SETTINGS['DEFAULT']
UNLISTED_OK = {'train.ipynb', 'evaluate.ipynb'}  # the papermill run notebooks: pages linked from the tutorials, not in the sidebar


def load_nb(p: Path) -> dict: return json.loads(p.read_text(encoding='utf-8'))
def src(c) -> str: return ''.join(c.get('source', ''))


def site_files(ext=('.ipynb', '.qmd', '.md')) -> list[Path]:
    "Files under nbs/ that Quarto renders as pages (names starting with _ or . are not pages)."
    return sorted(p for p in NBS.rglob('*') if p.suffix in ext and p.is_file()
                  and not any(s.startswith(('_', '.')) for s in p.relative_to(NBS).parts))


def directives(source: str) -> dict:
    "nbdev directives (`#| key value`) at the top of a cell."
    d = {}
    for line in source.splitlines():
        m = re.match(r'\s*#\|\s*([\w-]+):?\s*(.*)$', line)
        if m: d[m.group(1)] = m.group(2).strip()
        elif line.strip() and not line.strip().startswith('#'): break
    return d


SIDEBAR = yaml.safe_load((NBS / 'sidebar.yml').read_text())
PAGES, GLOBS = check_docs.sidebar_pages(SIDEBAR)


# ---------------------------------------------------------------- configuration

def test_quarto_config_is_one_file_used_from_nbs():
    cfg = yaml.safe_load((ROOT / '_quarto.yml').read_text())
    link = NBS / '_quarto.yml'
    assert link.is_symlink() and link.resolve() == (ROOT / '_quarto.yml').resolve(), 'nbs/_quarto.yml must be a symlink to ../_quarto.yml'
    assert cfg['project']['type'] == 'website'
    assert cfg['execute']['enabled'] is False, 'Quarto must not execute notebooks: pages show stored outputs'
    assert {'nbdev.yml', 'sidebar.yml'} <= set(cfg['metadata-files'])
    assert (NBS / cfg['format']['html']['css']).exists()
    # nbdev's refresh_quarto_yml deletes nbs/_quarto.yml when settings.ini says custom_quarto_yml = False
    assert CFG.get('custom_quarto_yml', 'True').lower() not in ('false', '0', 'no')
    assert CFG['custom_sidebar'].lower() == 'true', 'nbdev would overwrite nbs/sidebar.yml'
    hrefs = [i.get('href') for i in cfg['website']['navbar'].get('right', []) if 'github.com' in str(i.get('href'))]
    assert hrefs == [CFG['git_url']], f'navbar GitHub link {hrefs} != settings.ini git_url'
    for i in cfg['website']['navbar'].get('left', []): assert (NBS / i['href']).exists(), i


def test_nbdev_copies_the_config_through_the_symlink(tmp_path):
    from nbdev.serve import _proc_file
    _proc_file(NBS / '_quarto.yml', tmp_path, NBS)  # what proc_nbs does with nbs/_quarto.yml
    assert not (tmp_path / '_quarto.yml').is_symlink()
    assert (tmp_path / '_quarto.yml').read_text() == (ROOT / '_quarto.yml').read_text()


# ---------------------------------------------------------------- sidebar and pages

def test_sidebar_pages_exist():
    missing = [p for p in PAGES if not (NBS / p).exists()]
    assert not missing, f'pages listed in nbs/sidebar.yml but missing in nbs/: {missing}'
    assert check_docs.expand_globs(GLOBS, NBS), f'sidebar globs {GLOBS} match no notebook'
    assert {s.get('section') for s in SIDEBAR['website']['sidebar']['contents'] if isinstance(s, dict)} >= {'Tutorials', 'Results', 'API', 'Deploy'}


def test_every_page_is_reachable():
    listed = set(PAGES) | set(check_docs.expand_globs(GLOBS, NBS))
    render = (yaml.safe_load((ROOT / '_quarto.yml').read_text()).get('project') or {}).get('render')
    orphans = [p for p in check_docs.rendered_pages(NBS, render) if p not in listed | UNLISTED_OK]  # pages Quarto renders
    assert not orphans, f'pages in nbs/ that the sidebar does not list (add them to nbs/sidebar.yml): {orphans}'


def test_api_section_is_the_numbered_notebooks():
    api = next(s for s in SIDEBAR['website']['sidebar']['contents'] if isinstance(s, dict) and s.get('section') == 'API')
    numbered = sorted(p.name for p in NBS.glob('[0-9]*.ipynb'))
    assert sorted(check_docs.expand_globs([api['contents']], NBS)) == numbered


def test_results_section_matches_published_notebooks():
    res = next(s for s in SIDEBAR['website']['sidebar']['contents'] if isinstance(s, dict) and s.get('section') == 'Results')
    assert res['contents'] == results.sidebar_results(results.ResultsStore.load(NBS / 'results')), \
        'the Results section of nbs/sidebar.yml is out of date: run scripts/publish_results.py --refresh (it rebuilds it)'
    assert (NBS / 'sidebar.yml').read_text() == results.render_sidebar(SIDEBAR), \
        'nbs/sidebar.yml is not in the form scripts/publish_results.py writes (its header, block YAML): re-render it'


def test_the_results_store_points_at_existing_pages():
    store = results.ResultsStore.load(NBS / 'results')   # every record through its schema
    if store.shipped is None: pytest.skip('no published run yet (nbs/results/shipped.json): the home page says so')
    for name, r in store.runs.items():
        assert r.name == name and 0 < r.test_accuracy <= 1 and r.n_test > 0, r
        for page in r.train_pages + [r.eval_page, *r.figures.values()]: assert (NBS / page).exists(), f'{name}: {page} is missing'
    for rec in store.recipes.values():
        for s in rec.seeds:
            for page in s.train_pages + ([s.eval_page] if s.eval_page else []): assert (NBS / page).exists(), f'{rec.recipe} seed {s.seed}: {page} is missing'
    used = {Path(f).name for r in store.runs.values() for f in r.figures.values()} | {Path(b.figure).name for b in store.budgets.values()} | {'tradeoff.png'}
    assert sorted(p.name for p in (NBS / 'results' / 'figures').glob('*.png') if p.name not in used) == [], 'figures no record names'
    assert store.problems() == []


# ---------------------------------------------------------------- notebook contents

def page_notebooks(): return [p for p in site_files(('.ipynb',))]


@pytest.mark.parametrize('nb', page_notebooks(), ids=lambda p: str(p.relative_to(NBS)))
def test_title_and_markdown(nb):
    "The first markdown cell is `# Title` (nbdev makes it the page title); markdown is not commented out."
    cells = load_nb(nb)['cells']
    has_fm = cells and cells[0]['cell_type'] == 'raw' and 'title:' in src(cells[0])
    md = [src(c) for c in cells if c['cell_type'] == 'markdown']
    if not has_fm:
        assert md and re.match(r'# [^#>\s]', md[0]), f'{nb.name}: the first markdown cell must start with "# Title", got {md[0][:40]!r}'
    commented = [m.splitlines()[0] for m in md if re.search(r'^# (#|> )', m, re.MULTILINE)]
    assert not commented, f'{nb.name}: markdown cells with a "# " comment prefix left from a .py source (they render as "# ..." headings): {commented[:3]}'


@pytest.mark.parametrize('nb', page_notebooks(), ids=lambda p: str(p.relative_to(NBS)))
def test_no_stored_errors_or_widgets(nb):
    "Stored outputs are what the site shows: no tracebacks, no widget outputs (no widget state is saved)."
    outs = [o for c in load_nb(nb)['cells'] for o in c.get('outputs', [])]
    assert not [o for o in outs if o.get('output_type') == 'error'], f'{nb.name} stores an error output: the page would show the traceback'
    assert not [o for o in outs if publish_results.WIDGET in o.get('data', {})], f'{nb.name} stores widget outputs that render empty'


def results_notebooks(): return sorted((NBS / 'results').glob('*.ipynb'))


@pytest.mark.parametrize('nb', results_notebooks() or [pytest.param(None, marks=pytest.mark.skip(reason='no published run yet'))],
                         ids=lambda p: p.name if p else 'none')
def test_results_notebooks_keep_their_record(nb):
    "A results page is an executed run: outputs (with figures) stored, cleaned as nbdev_clean would, and not huge."
    d = load_nb(nb)
    assert publish_results.has_png(d), f'{nb.name}: no image/png output, so no figure on its page'
    assert sum(bool(c.get('outputs')) for c in d['cells'] if c['cell_type'] == 'code') >= 3
    cleaned = publish_results.clean_like_nbdev(copy.deepcopy(d), ROOT)
    assert cleaned == d, f'{nb.name} is not clean: `make sync-check` would fail (publish with scripts/publish_results.py)'
    assert nb.stat().st_size < 10 * 2**20, f'{nb.name} is {nb.stat().st_size / 2**20:.1f} MiB'


def _docs_time_violations(nb: Path) -> list[str]:
    "Cells nbdev would execute at build time (they contain an import) that also hold other code."
    cells = load_nb(nb)['cells']
    code = [c for c in cells if c['cell_type'] == 'code']
    runs_at_build = any(set(directives(src(c))) & {'export', 'exports', 'exec_doc'} or re.search(r'^show_doc', src(c), re.MULTILINE) for c in code)
    if not runs_at_build: return []
    bad = []
    for c in code:
        s, d = src(c), directives(src(c))
        if set(d) & {'export', 'exports', 'exporti', 'exec_doc'} or d.get('eval', '').lower() == 'false' or 'nbdev_export()' in s: continue
        try: tree = ast.parse(s)
        except SyntaxError: continue
        if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree)) and \
           not all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body):
            bad.append(s.strip().splitlines()[0][:70])
    return bad


@pytest.mark.parametrize('nb', page_notebooks(), ids=lambda p: str(p.relative_to(NBS)))
def test_cells_nbdev_runs_at_build_time_are_imports_only(nb):
    """nbdev executes every cell containing an import when it builds the docs, without the cells before it:
    a demo cell that also imports fails the build (NameError) or does its work at build time. Move the import
    to the notebook's import cell (house style: never mix imports with other code)."""
    bad = _docs_time_violations(nb)
    assert not bad, f'{nb.name}: cells mixing imports with other code (nbdev runs them alone at docs time): {bad}'


# ---------------------------------------------------------------- links

_LINK = re.compile(r'\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
_FENCE = re.compile(r'^(```|~~~).*?^\1', re.MULTILINE | re.DOTALL)


def _markdown_of(p: Path) -> str:
    if p.suffix == '.ipynb': return '\n\n'.join(src(c) for c in load_nb(p)['cells'] if c['cell_type'] == 'markdown')
    return p.read_text(encoding='utf-8')


def _anchors(p: Path) -> set:
    "Pandoc's automatic identifiers of the headings in `p`."
    text = _FENCE.sub('', _markdown_of(p))
    out = set()
    for h in re.findall(r'^#{1,6}\s+(.+?)\s*$', text, re.MULTILINE):
        if m := re.search(r'\{[^}]*#([\w.:-]+)[^}]*\}', h):
            out.add(m.group(1))
            continue  # an explicit {#id}
        h = re.sub(r'`|\*|_', '', h.split('{')[0]).strip().lower()
        out.add(re.sub(r'\s+', '-', re.sub(r'[^\w\s.-]', '', h)))
    return out


def links_in(p: Path) -> list[str]:
    text = re.sub(r'`[^`\n]*`', '', _FENCE.sub('', _markdown_of(p)))
    return [t for t in _LINK.findall(text) if not re.match(r'^(https?:|mailto:|#|data:)', t)]


@pytest.mark.parametrize('page', site_files(), ids=lambda p: str(p.relative_to(NBS)))
def test_internal_links_resolve(page):
    bad = []
    for t in links_in(page):
        path, _, frag = t.partition('#')
        target = (page.parent / path).resolve()
        if not target.exists(): bad.append(f'{t} (no file {target.relative_to(ROOT) if ROOT in target.parents else target})')
        elif NBS.resolve() not in target.parents: bad.append(f'{t} (outside nbs/: not part of the site; link to GitHub instead)')
        elif frag and target.suffix == '.qmd' and frag not in _anchors(target): bad.append(f'{t} (no heading #{frag})')
    assert not bad, f'{page.relative_to(NBS)}: broken links: {bad}'


def test_link_checker_sees_links():
    assert 'data_card.qmd' in links_in(NBS / 'index.ipynb') and '../02_train.ipynb' in links_in(NBS / 'tutorials' / 'train.qmd')
    assert 'publishing-a-result' in _anchors(NBS / 'tutorials' / 'evaluate.qmd')


# ---------------------------------------------------------------- pages computed at build time

def _process(nb_path: Path):
    "Run nbdev's docs processors on one notebook, in this process (what nbdev_proc_nbs does per file)."
    from execnb.nbio import read_nb
    from nbdev.processors import FilterDefaults
    nb = read_nb(nb_path)
    FilterDefaults()(nb)
    return nb


def _markdown_outputs(nb) -> str:
    return '\n'.join(''.join(o['data']['text/markdown']) for c in nb.cells for o in c.get('outputs', []) if 'text/markdown' in o.get('data', {}))


def test_home_page_renders_the_results_table():
    nb = _process(NBS / 'index.ipynb')
    md = _markdown_outputs(nb)
    assert '| model | test accuracy |' in md and '92.98%' in md and 'Bird & Lotfi' in md
    published = (NBS / 'results' / 'shipped.json').exists()
    assert ('No published run yet' in md) != published and ('**ours' in md) == published
    assert 'make main' in src(nb.cells[-1]) or any('make main' in src(c) for c in nb.cells)
    fm = yaml.safe_load(src(nb.cells[0]).strip().strip('-'))
    assert fm['title'] == 'cifake_nb'
    assert not any('def results_markdown' in src(c) for c in nb.cells), 'the helper cells must be hidden on the page'
    shown = [c for c in nb.cells if c.cell_type == 'code']
    assert shown and all('#| echo: false' in src(c) for c in shown), 'code on the home page must be hidden (echo: false)'


def test_model_card_page_renders():
    nb = _process(NBS / 'model_cards' / 'default.ipynb')
    md = _markdown_outputs(nb)
    card = ROOT / CFG['lib_path'] / 'assets' / 'default' / 'MODEL_CARD.md'
    assert md and (('No model is shipped yet' in md) != card.exists())


# ---------------------------------------------------------------- one source for every number

def _store_numbers() -> dict:
    "The results store as one dict of numbers: each run's record, each recipe seed's figures and each recipe's mean ± std, the references."
    st = results.ResultsStore.load(NBS / 'results')
    runs = {n: r.to_dict() for n, r in st.runs.items()}
    for name, rec in st.recipes.items():
        runs[f'_recipe_{name}'] = {'summary': {k: v[:2] for k, v in rec.summary.items()}, 'per_seed': [s.to_dict() for s in rec.seeds]}
    return {'runs': runs, 'published': [r.to_dict() for r in st.references]}
_PCT = re.compile(r'(?<![\d.≥≤<>~])(?<![≥≤<>~] )(\d{1,3}\.\d{1,2})%')           # 97.68%  (targets like "≥ 96.0%" are not claims)
_CI = re.compile(r'\[(\d{1,3}\.\d{1,2})%?, (\d{1,3}\.\d{1,2})%?\]')  # [97.46, 97.89]
_FRAC = re.compile(r'(?<![\d.])(0\.\d{3,4})(?!\d)')                 # 0.9968, 0.006
_RANGE = re.compile(r'(\d{1,3}\.\d{1,2})[–-](\d{1,3}\.\d{1,2})%')      # 95.6–97.5% (whole-number percentages are not checked)


def _numbers(d: dict) -> list[float]:
    "Every number of the published runs and references in the store (`_store_numbers`; nested lists and dicts included)."
    out = []
    def walk(x):
        if isinstance(x, bool): return
        if isinstance(x, (int, float)): out.append(float(x))
        elif isinstance(x, dict): [walk(v) for k, v in x.items() if k not in ('eval_params', 'n_params', 'seeds', 'train_seconds')]
        elif isinstance(x, list): [walk(v) for v in x]
    walk(d.get('runs'))
    walk([p.get('test_accuracy') for p in d.get('published') or []])
    return out


def _allowed(d: dict) -> set[str]:
    "Each number of the store as the site shows it under the one rounding rule (cifake_nb.report.pct / rounded)."
    vals = _numbers(d)
    return ({report.pct(v, n)[:-1] for v in vals if 0 <= v <= 1 for n in (1, 2)}
            | {report.rounded(v, n) for v in vals for n in (3, 4)})


def _claims(text: str) -> list[str]:
    "The accuracy / AUC / ECE / CI numbers quoted in `text`: percentages, CI bounds, ranges, 3-4 decimal fractions."
    text = re.sub(r'\(\s*97\.675% → 97\.68%\s*\)|97\.675% → 97\.68%', '', text)  # the rounding rule's own example
    out = _PCT.findall(text) + [x for m in _CI.findall(text) for x in m] + [x for m in _RANGE.findall(text) for x in m]
    return out + _FRAC.findall(text)


def _readme_results() -> str:
    "README's Results section and the rows that state a test accuracy (the params and benchmark tables)."
    t = (ROOT / 'README.md').read_text(encoding='utf-8')
    sec = t.split('\n## Results', 1)[1].split('\n## ', 1)[0]
    rows = [l for l in t.splitlines() if l.startswith('|') and 'test accuracy' in l and l not in sec]
    return sec + '\n' + '\n'.join(rows)


def _shown_docs() -> dict[str, str]:
    "Where the site, the README and the model card quote results: the text a reader sees (of the card, its test_ rows: not the training metrics)."
    home = _markdown_outputs(_process(NBS / 'index.ipynb'))
    card = _markdown_outputs(_process(NBS / 'model_cards' / 'default.ipynb'))
    return {'README.md': _readme_results(), 'nbs/index.ipynb (rendered)': home,
            'nbs/model_cards/default.ipynb (rendered)': '\n'.join(l for l in card.splitlines() if 'test_' in l or '| test: ' in l), 'nbs/results/index.qmd': (NBS / 'results' / 'index.qmd').read_text(encoding='utf-8')}


def disagreements(docs: dict[str, str], d: dict) -> list[str]:
    ok = _allowed(d)
    return [f'{where}: {x} is no number of the results store (nbs/results/) under the rounding rule (half up on the stored value)'
            for where, text in docs.items() for x in _claims(text) if x not in ok]


@pytest.mark.skipif(not (NBS / 'results' / 'shipped.json').exists(), reason='no published run yet')
def test_every_quoted_result_equals_the_results_json():
    "Every accuracy / AUC / ECE / CI number on the home page, the Results page, the README and the model card is the results store's."
    d = _store_numbers()
    docs = _shown_docs()
    bad = disagreements(docs, d)
    store = results.ResultsStore.load(NBS / 'results')
    for b in store.budgets.values():  # the Benchmarks page quotes the budget records' own tables (not checked here: not a headline page)
        import bench_budget
        assert b.table.split('\n', 1)[1] == bench_budget.table_md(b.rows, 'x').split('\n', 1)[1], f'{b.hardware}: its table is not its rows'
    assert not bad, '\n'.join(bad)
    run = store.shipped_run
    acc, (lo, hi), auc = run.test_accuracy, run.test_accuracy_ci95, run.test_roc_auc
    headline = f"{report.pct(acc)} [{report.pct(lo)[:-1]}, {report.pct(hi)[:-1]}]"
    for where in ('README.md', 'nbs/index.ipynb (rendered)', 'nbs/results/index.qmd'):
        text = docs[where].replace('**', '')
        assert headline in text, f'{where} does not quote the headline {headline}'
        assert report.rounded(auc, 4) in text, f'{where} does not quote the ROC AUC {report.rounded(auc, 4)}'
    from cifake_nb.core import ModelInfo
    info = ModelInfo.from_json(ROOT / CFG['lib_path'] / 'assets' / 'default' / 'model.json')
    test = info.evaluation.get('test') or {}
    assert test.get('accuracy') == acc and test.get('roc_auc') == auc, 'the shipped model.json records another evaluation'
    assert f"| test: accuracy | {report.rounded(acc, 4)} |" in docs['nbs/model_cards/default.ipynb (rendered)']


def test_the_consistency_check_catches_a_disagreement():
    d = {'runs': {'cpu': {'test_accuracy': 0.97675, 'test_accuracy_ci95': [0.97455, 0.9789], 'test_roc_auc': 0.99676839,
                          'metrics': {'ece': 0.005802}}}, 'published': [{'test_accuracy': 0.9298}]}
    good = {'x': '**97.68%** [97.46, 97.89] 95% CI, AUC 0.9968, ECE 0.006; Bird & Lotfi 92.98%; targets ≥ 96.0%'}
    assert disagreements(good, d) == []
    assert [b.split(':')[1].strip().split()[0] for b in disagreements({'x': '97.67% [97.45, 97.89], AUC 0.9967'}, d)] == ['97.67%'[:-1], '97.45', '0.9967']


# ---------------------------------------------------------------- scripts/check_docs.py on small made-up sites

SITE_URL = 'https://cifake-nb.github.io/cifake_nb'


def _nbj(*cells) -> str:
    return json.dumps({'cells': list(cells), 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5})
def _mdc(s): return {'cell_type': 'markdown', 'metadata': {}, 'source': s}
def _out_cell(src, *outputs): return {'cell_type': 'code', 'metadata': {}, 'source': src, 'execution_count': 1, 'outputs': list(outputs)}
def _md_out(md): return {'output_type': 'display_data', 'metadata': {}, 'data': {'text/markdown': md, 'text/plain': '<Markdown>'}}


def _site(tmp_path, files: dict, render=None) -> Path:
    site = tmp_path / 'site'
    cfg = {'project': {'type': 'website', **({'render': render} if render else {})}, 'website': {'navbar': {'left': [{'href': 'index.qmd'}]}}}
    for rel, text in {'_quarto.yml': yaml.safe_dump(cfg), 'index.qmd': '---\ntitle: Home\n---\n\nHello.\n', **files}.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    return site


def test_check_docs_catches_an_output_clash(tmp_path):
    "nbdev names nbs/02_train.ipynb's page train.html, like nbs/train.ipynb's: Quarto stops on that."
    files = {'02_train.ipynb': _nbj(_mdc('# Training')), 'train.ipynb': _nbj(_mdc('# Training run'))}
    bad = check_docs.check_site(_site(tmp_path / 'a', files), site_url=SITE_URL)
    assert [b for b in bad if b.startswith('output-path clash: 02_train.ipynb and train.ipynb both render to train.html')], bad
    fixed = check_docs.check_site(_site(tmp_path / 'b', files, render=['*.qmd', '*.ipynb', '!train.ipynb']), site_url=SITE_URL)
    assert not [b for b in fixed if 'clash' in b], fixed
    qmd = {'a.qmd': '---\ntitle: A\noutput-file: b.html\n---\n', 'b.qmd': '---\ntitle: B\n---\n'}
    assert any('a.qmd and b.qmd both render to b.html' in b for b in check_docs.check_site(_site(tmp_path / 'c', qmd), site_url=SITE_URL))


def test_check_docs_catches_a_dead_method_anchor(tmp_path):
    "A backticked `Predictor.predict`, which nbdev's own linker turns into a link, needs a show_doc entry on the target page."
    from nbdev.processors import add_links
    from execnb.nbio import mk_cell
    c = mk_cell('`Predictor.predict` reads one image.', 'markdown')
    add_links(c)  # what nbdev_proc_nbs does to markdown cells
    assert f'{SITE_URL}/inference.html#predictor.predict' in c.source, c.source
    doc = lambda *names: _out_cell('show_doc(...)', *[_md_out(f'---\n\n### {n}\n\n> {n}(...)\n') for n in names])
    files = {'07_inference.ipynb': _nbj(_mdc('# Inference'), doc('Predictor')), 'guide.qmd': f'---\ntitle: Guide\n---\n\n{c.source}\n'}
    bad = check_docs.check_site(_site(tmp_path / 'a', files), site_url=SITE_URL)
    assert [b for b in bad if 'guide.qmd' in b and '07_inference.ipynb has no anchor #predictor.predict' in b
            and 'add a `show_doc(Predictor.predict)` cell' in b], bad
    files['07_inference.ipynb'] = _nbj(_mdc('# Inference'), doc('Predictor', 'Predictor.predict'))
    assert check_docs.check_site(_site(tmp_path / 'b', files), site_url=SITE_URL) == []


def test_check_docs_catches_a_localhost_iframe_and_other_stored_noise(tmp_path):
    iframe = {'output_type': 'display_data', 'metadata': {}, 'data': {'text/html': '<div><iframe src="http://127.0.0.1:7860/" width="100%" height="500"></iframe></div>'}}
    noise = {'output_type': 'stream', 'name': 'stdout', 'text': 'run folder: /work/main/runs/x\nwandb: Tracking run\ncifake_nb 0.1.0 (git 9dd5e8c+dirty)\n'}
    files = {'08_app.ipynb': _nbj(_mdc('# App'), _out_cell('demo.launch()', iframe), _out_cell('train()', noise))}
    bad = check_docs.check_site(_site(tmp_path, files), site_url=SITE_URL)
    assert any('08_app.ipynb: cell 1 stores an iframe to http://127.0.0.1:7860/' in b for b in bad), bad
    assert any('machine path /work/main/runs/x' in b for b in bad) and any('W&B chatter' in b for b in bad) and any('+dirty' in b for b in bad)
    prose = _out_cell('show_doc(code_version)', _md_out('*`cifake_nb <version>` plus the git commit (and `+dirty`)*, see https://x.org/home/a'))
    assert check_docs.check_site(_site(tmp_path / 'ok', {'x.ipynb': _nbj(_mdc('# X'), prose)}), site_url=SITE_URL) == [], 'prose about +dirty and URLs are fine'


def test_check_docs_catches_broken_links_images_sidebar_and_yaml(tmp_path):
    files = {'a.qmd': '---\ntitle: A\n---\n\n[run notebook](train.ipynb) · [gone](nope.qmd) · ![fig](figures/x.png) · [sec](b.qmd#nowhere) · [ok](b.qmd#there)\n',
             'b.qmd': '---\ntitle: B\n---\n\n## There\n', 'train.ipynb': _nbj(_mdc('# Run')), 'c.qmd': '---\ntitle: [unclosed\n---\n',
             'sidebar.yml': yaml.safe_dump({'website': {'sidebar': {'contents': ['a.qmd', 'missing.qmd', 'train.ipynb']}}})}
    site = _site(tmp_path, files, render=['*.qmd', '*.ipynb', '!train.ipynb'])
    cfg = yaml.safe_load((site / '_quarto.yml').read_text())
    cfg['metadata-files'] = ['sidebar.yml']
    cfg['format'] = {'html': {'theme': 'cosmo'}}
    (site / '_quarto.yml').write_text(yaml.safe_dump(cfg))
    bad = check_docs.check_site(site, site_url=SITE_URL)
    want = ['format.html.theme [\'cosmo\']: a Bootswatch theme imports its web font', 'a.qmd (): link train.ipynb: left out of the render', 'a.qmd (): link nope.qmd: no such page', 'a.qmd (): image figures/x.png: no such file',
            'a.qmd (): link b.qmd#nowhere: b.qmd has no anchor #nowhere', 'c.qmd front matter: YAML error', 'sidebar entry missing.qmd: no such page',
            'sidebar entry train.ipynb: not rendered']
    for w in want: assert any(b.startswith(w) for b in bad), (w, bad)
    assert not any('#there' in b for b in bad)


def test_check_docs_passes_on_the_real_site():
    "The whole build check, as the docs workflow runs it (nbdev_proc_nbs, then every check): exit status 0."
    import subprocess
    r = subprocess.run([sys.executable, str(ROOT / 'scripts' / 'check_docs.py')], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert 'docs pages OK' in r.stdout


def test_api_overview_lists_every_module():
    "nbs/api.qmd (navbar: API) has one line per numbered notebook, naming its module and linking its page."
    page = (NBS / 'api.qmd').read_text(encoding='utf-8')
    for nb in sorted(NBS.glob('[0-9]*.ipynb')):
        mod = next(re.search(r'#\|\s*default_exp\s+(\S+)', src(c)).group(1) for c in load_nb(nb)['cells']
                   if c['cell_type'] == 'code' and re.search(r'#\|\s*default_exp', src(c)))
        assert f'`{CFG["lib_name"]}.{mod}` | [' in page and f']({nb.name})' in page, f'nbs/api.qmd has no line for {nb.name} ({mod})'
    cfg = yaml.safe_load((ROOT / '_quarto.yml').read_text())
    assert 'api.qmd' in [i.get('href') for i in cfg['website']['navbar']['left']]


def test_check_docs_catches_links_and_nonetype_in_signatures(tmp_path):
    sig = _md_out('---\n\n### f\n\n```python\ndef f(\n    x, # a [`Predictor`](https://cifake-nb.github.io/cifake_nb/inference.html#predictor)\n    ax:NoneType=None\n):\n```\n')
    files = {'x.ipynb': _nbj(_mdc('# X'), _out_cell('show_doc(f)', sig)), '07_inference.ipynb': _nbj(_mdc('# Inference'), _out_cell('show_doc(Predictor)', _md_out('### Predictor\n')))}
    bad = check_docs.check_site(_site(tmp_path, files), site_url=SITE_URL)
    assert any('the signature of f shows a raw Markdown link' in b for b in bad) and any('the signature of f types an argument NoneType' in b for b in bad), bad
