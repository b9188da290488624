"""`make docs`' checks of the rendered site (cifake_nb.sitecheck, scripts/build_docs.py) on a tiny planted site:
a clean one passes; each planted defect (dead link, dead anchor, missing image, empty section, long float, Quarto error
line, "uncommitted changes" on a headline page) fails it with a line that names the page and the problem. Seconds: the
pages are written by hand in the shape Quarto gives them; one test renders a two-page Quarto project when `quarto` is
installed, so the checks are seen to read real Quarto output too."""
import os, shutil, subprocess, sys
from pathlib import Path

import pytest

from cifake_nb.sitecheck import check_site, quarto_problems

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'scripts'))
import build_docs  # noqa: E402  (scripts/, not a package)

PAGE = '''<!DOCTYPE html><html><head><link href="site_libs/quarto.css" rel="stylesheet"></head><body>
<nav class="navbar"><a href="./index.html">Home</a><a href="./results/index.html">Results</a><a href="https://github.com/x/y">GitHub</a></nav>
<main class="content" id="quarto-document-content">
<header id="title-block-header"><h1 class="title">{title}</h1></header>
{body}
</main></body></html>'''

CLEAN = {
    'index.html': ('Home', '<p>Test accuracy <strong>97.71%</strong> [97.49, 97.92] (see <a href="results/index.html#headline">Results</a>).</p>'
                           '<section id="demo" class="level2"><h2 class="anchored">Demo</h2><p><img src="assets/card.png" alt="card"></p></section>'),
    'results/index.html': ('Results', '<section id="headline" class="level2"><h2 class="anchored">Headline</h2>'
                                      '<p>cifake_nb 0.1.0 (git 0123abc), seeds 0, 1 and 2; <a href="../api.html#check_site">check_site</a>.</p>'
                                      '<div class="cell"><div class="cell-output cell-output-stdout"><pre><code>loss 0.123456789</code></pre></div></div>'
                                      '</section>'),
    'api.html': ('API', '<section id="check_site" class="level3"><h3 class="anchored">check_site</h3>'
                        '<div class="sourceCode"><pre><code># writes to /tmp/site by default</code></pre></div></section>'),
}


def write_site(root: Path, pages: dict) -> Path:
    "A tiny rendered site: the pages (path → (title, body)), the files they load, one image."
    for rel, (title, body) in pages.items():
        f = root / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        depth = '../' * rel.count('/')
        f.write_text(PAGE.format(title=title, body=body).replace('href="./', f'href="{depth}').replace('"site_libs/', f'"{depth}site_libs/'))
    (root / 'site_libs').mkdir(exist_ok=True)
    (root / 'site_libs' / 'quarto.css').write_text('body {}')
    (root / 'assets').mkdir(exist_ok=True)
    (root / 'assets' / 'card.png').write_bytes(b'\x89PNG')
    return root


def planted(tmp_path, rel: str, old: str, new: str) -> list[str]:
    "The problems of the clean site with `old` replaced by `new` on page `rel`."
    pages = dict(CLEAN)
    title, body = pages[rel]
    assert old in body
    pages[rel] = (title, body.replace(old, new))
    return check_site(write_site(tmp_path, pages))


def test_clean_site_passes(tmp_path):
    assert check_site(write_site(tmp_path, CLEAN)) == []


def test_dead_link(tmp_path):
    assert planted(tmp_path, 'index.html', 'href="results/index.html#headline"', 'href="results/gone.html"') == [
        'index.html: dead link results/gone.html (no such file in the site)']


def test_dead_anchor(tmp_path):
    assert planted(tmp_path, 'results/index.html', 'api.html#check_site', 'api.html#check-site') == [
        'results/index.html: dead anchor api.html#check-site (api.html has no id "check-site")']


def test_missing_image(tmp_path):
    assert planted(tmp_path, 'index.html', 'assets/card.png', 'assets/gone.png') == [
        'index.html: missing image assets/gone.png (no such file in the site)']


def test_empty_section(tmp_path):
    assert planted(tmp_path, 'results/index.html', '</pre></div></div>', '</pre></div></div><section class="level3"><h3>Robustness to corruptions</h3>'
                   '</section><section class="level3"><h3>Runs</h3><p>2 runs</p></section>') == [
        'results/index.html: empty section "Robustness to corruptions" (a heading with nothing under it)']


def test_long_float(tmp_path):
    assert planted(tmp_path, 'index.html', '[97.49, 97.92]', 'accuracy_ci [0.9749, 0.9792012499999999]') == [
        'index.html: a number with 16 decimals outside code: "accuracy_ci [0.9749, 0.9792012499999999] (see" '
        '(round it where it is formatted)']


def test_machine_path_in_an_output_and_unclean_evidence_on_a_headline_page(tmp_path):
    pages = dict(CLEAN)
    pages['results/index.html'] = (pages['results/index.html'][0], pages['results/index.html'][1]
                                   .replace('(git 0123abc)', '(git 0123abc, uncommitted changes)').replace('loss 0.123456789', 'saved /work/main/runs/x'))
    pages['api.html'] = (pages['api.html'][0], pages['api.html'][1] + '<p>A tree with uncommitted changes is named so.</p>')  # not a headline page
    assert check_site(write_site(tmp_path, pages)) == [
        'results/index.html: says "uncommitted changes" on a page that publishes a headline: '
        '"cifake_nb 0.1.0 (git 0123abc, uncommitted changes), seeds 0, 1 and 2;" (publish from a clean tree)',
        'results/index.html: a machine path: "saved /work/main/runs/x"']


def test_quarto_error_line():
    log = '[1/2] index.qmd\n[2/2] api.qmd\nOutput created: _docs/index.html\n'
    assert quarto_problems(log) == []
    bad = log.replace('[2/2] api.qmd\n', "[2/2] api.qmd\n\x1b[31mERROR (jog.lua:173) Don't know how to traverse TableBody\x1b[39m\n" * 2000)
    assert quarto_problems(bad) == ["quarto: ERROR (jog.lua:173) Don't know how to traverse TableBody (×2000)"]
    assert quarto_problems('WARN: Unable to resolve link target: gone.qmd') == ['quarto: WARN: Unable to resolve link target: gone.qmd']


def test_build_docs_without_quarto_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('PATH', str(tmp_path))  # no quarto on PATH
    assert build_docs.find_quarto(kit=tmp_path / 'no-kit' / 'install.sh') is None
    monkeypatch.setattr(build_docs, 'KIT', tmp_path / 'no-kit' / 'install.sh')
    assert build_docs.main([]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [build_docs.GET_QUARTO] and 'quarto' in out[0] and 'install.sh' in out[0]


def test_build_docs_reports_every_problem_at_once(tmp_path, monkeypatch, capsys):
    pages = dict(CLEAN)
    pages['index.html'] = ('Home', CLEAN['index.html'][1].replace('assets/card.png', 'gone.png').replace('#headline', '#nowhere'))
    monkeypatch.setattr(build_docs, 'site_dir', lambda: write_site(tmp_path / 'repo' / '_proc' / '_docs', pages))
    monkeypatch.setattr(build_docs, 'ROOT', tmp_path / 'repo')
    assert build_docs.main(['--no-render']) == 1
    out = capsys.readouterr().out
    assert 'make docs: 2 problem(s):' in out and 'dead anchor results/index.html#nowhere' in out and 'missing image gone.png' in out


QUARTO = shutil.which('quarto') or (str(Path.home() / '.local/quarto/bin/quarto') if (Path.home() / '.local/quarto/bin/quarto').exists() else None)


@pytest.mark.skipif(QUARTO is None, reason='quarto is not installed (make docs installs it from ../shared/quarto)')
def test_a_real_quarto_render_is_checked(tmp_path):
    "A two-page Quarto website rendered for real: the checks read Quarto's HTML (its navbar, TOC, sections and anchors)."
    (tmp_path / '_quarto.yml').write_text('project:\n  type: website\nwebsite:\n  title: tiny\n  navbar:\n    left: [index.qmd, results.qmd]\n'
                                          'format:\n  html:\n    toc: true\n')
    (tmp_path / 'index.qmd').write_text('---\ntitle: Home\n---\n\nSee [the headline](results.qmd#headline) and [gone](results.qmd#gone).\n\n'
                                        '## Robustness to corruptions\n\n## Runs\n\nAccuracy 0.9792012499999999, in code `0.9792012499999999`.\n')
    (tmp_path / 'results.qmd').write_text('---\ntitle: Results\n---\n\n## Headline {#headline}\n\n97.71% ![card](card.png)\n')
    r = subprocess.run([QUARTO, 'render'], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={**os.environ, 'PATH': f'{Path(QUARTO).parent}{os.pathsep}{os.environ["PATH"]}'})
    assert r.returncode == 0, r.stderr[-2000:]
    assert quarto_problems(r.stdout + r.stderr) == []
    assert check_site(tmp_path / '_site') == [
        'index.html: dead anchor results.html#gone (results.html has no id "gone")',
        'results.html: missing image card.png (no such file in the site)',
        'index.html: empty section "Robustness to corruptions" (a heading with nothing under it)',
        'index.html: a number with 16 decimals outside code: "Accuracy 0.9792012499999999, in code" (round it where it is formatted)']


def test_a_word_in_angle_brackets_that_became_a_tag(tmp_path):
    "`<model>-<utc time>` in a parameters table: pandoc passes it on as HTML and the reader sees only the dash."
    assert planted(tmp_path, 'results/index.html', 'seeds 0, 1 and 2', 'run folder &lt;name&gt;: ‘<model>-<utc time="">’</utc></model>') == [
        'results/index.html: <model> is not HTML: a word in angle brackets that pandoc passed on as a tag, so the page shows nothing there (write it as code)',
        'results/index.html: <utc> is not HTML: a word in angle brackets that pandoc passed on as a tag, so the page shows nothing there (write it as code)']
