#!/usr/bin/env python
"""`make docs`: build the site exactly as .github/workflows/docs.yaml does, then check what a reader gets.

    python scripts/build_docs.py              # make docs: check_docs.py, `cd _proc && quarto render`, then the checks
    python scripts/build_docs.py --no-render  # check the rendered site (_proc/_docs) again

Quarto: `quarto` on PATH, else the kit beside the clone (`bash ../shared/quarto/install.sh`, about 15 s, once),
else one line saying how to get it. The steps, as the docs workflow runs them:

1. `python scripts/check_docs.py`: nbdev prepares the pages in _proc/ and they are checked before Quarto;
2. `cd _proc && quarto render`: the site, in _proc/_docs (settings.ini doc_path). Its output is shown as it comes,
   and every ERROR/WARN/FATAL line counts as a failure (`cifake_nb.sitecheck.quarto_problems`): Quarto can print
   thousands of Lua filter errors and still exit 0;
3. `cifake_nb.sitecheck.check_site` over _proc/_docs: dead links, anchors and images, empty sections, numbers with
   more than 4 decimals outside code, machine paths, "uncommitted changes" on a page that publishes a headline.

Every step runs even when one before it failed (as long as there is something to check), and all the problems are
listed together at the end. Exit status 1 if there is any.
"""
from __future__ import annotations
import argparse, configparser, os, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KIT = ROOT.parent / 'shared' / 'quarto' / 'install.sh'
GET_QUARTO = ('Quarto is needed to build the site: put `quarto` (1.9.38, as requirements-docs.txt pins) on PATH '
              '(https://quarto.org/docs/get-started/), or clone this project beside a shared/ folder holding quarto/install.sh')


def find_quarto(kit: Path | None = None) -> str | None:
    "The quarto executable: on PATH, else installed from the kit at `kit` (its install.sh prints the path last), else None."
    if q := shutil.which('quarto'): return q
    kit = kit or KIT
    if not kit.is_file(): return None
    print(f'quarto is not on PATH: installing it with `bash {os.path.relpath(kit, ROOT)}`', flush=True)
    r = subprocess.run(['bash', str(kit)], stdout=subprocess.PIPE, text=True)
    lines = r.stdout.strip().splitlines()
    return lines[-1] if r.returncode == 0 and lines and Path(lines[-1]).is_file() else None


def run_shown(cmd: list[str], cwd: Path, env: dict) -> tuple[int, str]:
    "Run `cmd`, showing its output (stdout and stderr together) as it comes; returns (exit status, that output)."
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors='replace')
    out = []
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        out.append(line)
    return p.wait(), ''.join(out)


def site_dir(root: Path = ROOT) -> Path:
    "Where Quarto writes the site: _proc/<doc_path from settings.ini> (nbdev writes it into nbs/nbdev.yml as output-dir)."
    c = configparser.ConfigParser(delimiters=['='])
    c.read(root / 'settings.ini')
    return root / '_proc' / c['DEFAULT'].get('doc_path', '_docs')


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--no-render', action='store_true', help='only check the rendered site again (no check_docs.py, no Quarto)')
    a = ap.parse_args(argv)
    from cifake_nb.sitecheck import check_site, quarto_problems
    problems, t0, site = [], time.perf_counter(), site_dir()
    if not a.no_render:
        quarto = find_quarto()
        if not quarto:
            print(GET_QUARTO)
            return 1
        env = {**os.environ, 'PATH': f'{Path(quarto).parent}{os.pathsep}{os.environ.get("PATH", "")}'}
        print('\n== python scripts/check_docs.py (nbdev prepares the pages in _proc/)', flush=True)
        rc, _ = run_shown([sys.executable, 'scripts/check_docs.py'], ROOT, env)
        if rc: problems.append(f'scripts/check_docs.py failed (exit status {rc}): its problems are listed above')
        if (ROOT / '_proc' / '_quarto.yml').exists():
            print(f'\n== cd _proc && quarto render ({quarto})', flush=True)
            t = time.perf_counter()
            rc, log = run_shown([quarto, 'render'], ROOT / '_proc', env)
            print(f'quarto render: {time.perf_counter() - t:.0f} s', flush=True)
            if rc: problems.append(f'quarto render failed (exit status {rc})')
            problems += quarto_problems(log)
    print(f'\n== checking the rendered site in {site.relative_to(ROOT)}', flush=True)
    problems += check_site(site)
    n = sum(1 for p in site.rglob('*.html') if 'site_libs' not in p.parts) if site.exists() else 0
    if problems:
        print(f'\nmake docs: {len(problems)} problem(s):', *[f'  - {p}' for p in problems], sep='\n')
        return 1
    print(f'\nmake docs: OK, {n} pages in {site.relative_to(ROOT)} ({time.perf_counter() - t0:.0f} s)')
    return 0


if __name__ == '__main__': sys.exit(main())
