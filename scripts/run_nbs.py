"""Execute the library notebooks in place, so their stored outputs (tables, sample grids, plots) appear on
the docs site, whose build does not execute notebooks (see _quarto.yml).

    .venv/bin/python scripts/run_nbs.py [nbs/00b_data.ipynb ...]    # default: every nbs/NN*_*.ipynb

Cells flagged `#| slow` or `#| gpu` (settings.ini tst_flags), `#| eval: false` and the export footer are
skipped, exactly as `nbdev_test` skips them; a failing cell stops with its traceback and nothing is written.
Run `nbdev_clean` afterwards (CI checks that it changes nothing).
"""
import os, re, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from fastcore.xtras import working_directory

SKIP = {'slow', 'gpu'}

def _skip(cell) -> bool:
    if cell.cell_type != 'code': return True
    src = cell.source
    if 'nbdev_export' + '(' in src: return True
    flags = {m.group(1).strip() for m in re.finditer(r'^\s*#\|\s*([\w:]+(?:\s*false)?)', src, re.M)}
    return bool(flags & SKIP) or any(f.replace(' ', '') == 'eval:false' for f in flags)

def run(fn: Path) -> float:
    nb = read_nb(fn)
    t = time.time()
    k = CaptureShell(fn)
    with working_directory(fn.parent):
        k.run_all(nb, exc_stop=True, preproc=_skip)
    write_nb(nb, fn)
    return time.time() - t

if __name__ == '__main__':
    os.environ.setdefault('MPLBACKEND', 'module://matplotlib_inline.backend_inline')
    root = Path(__file__).resolve().parent.parent
    files = [Path(f) for f in sys.argv[1:]] or sorted((root / 'nbs').glob('[0-9][0-9]*_*.ipynb'))
    for f in files:
        print(f'{f.name}: ', end='', flush=True)
        print(f'{run(f.resolve()):.1f} s', flush=True)
