"""Code-shape figures for issue 11 (before/after): module sizes, the longest functions, exported-cell lengths, `;`-joined lines.

    .venv/bin/python scripts/code_stats.py [--json]
"""
import ast, json, statistics, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def functions(path: Path):
    "(qualified name, lines) for every function and method in a module."
    tree = ast.parse(path.read_text())
    out = []
    def walk(node, prefix=''):
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((f'{path.stem}.{prefix}{ch.name}', ch.end_lineno - ch.lineno + 1))
                walk(ch, prefix + ch.name + '.')
            elif isinstance(ch, ast.ClassDef): walk(ch, prefix + ch.name + '.')
    walk(tree)
    return out

def semicolon_lines(path: Path) -> int:
    "Lines holding two statements joined by `;` (string contents ignored)."
    tree = ast.parse(path.read_text())
    rows = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try, ast.AsyncFunctionDef)):
            rows.setdefault(node.lineno, []).append(node)
    return sum(1 for v in rows.values() if len(v) > 1)

def exported_cells(nbs: Path):
    "Line counts of the exported code cells of every library notebook (directives and blank lines not counted)."
    sizes, defs = [], []
    for nb in sorted(nbs.glob('[0-9]*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            src = ''.join(c['source'])
            if c['cell_type'] != 'code' or not any(l.strip() in ('#| export', '#|export') for l in src.splitlines()): continue
            lines = [l for l in src.splitlines() if l.strip() and not l.lstrip().startswith('#|')]
            if not lines: continue
            sizes.append(len(lines))
            try: defs.append(sum(isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) for n in ast.parse(src).body))
            except SyntaxError: pass
    return sizes, defs

def main():
    lib = sorted(p for p in (ROOT / 'cifake_nb').glob('*.py') if p.name not in ('_modidx.py', '__init__.py'))
    mods = {p.name: len(p.read_text().splitlines()) for p in lib}
    fns = sorted((f for p in lib for f in functions(p)), key=lambda f: -f[1])
    semis = {p.name: semicolon_lines(p) for p in lib}
    sizes, defs = exported_cells(ROOT / 'nbs')
    res = dict(modules=mods, total_lines=sum(mods.values()), longest_functions=fns[:10], semicolon_lines=sum(semis.values()),
               exported_cells=len(sizes), median_exported_cell_lines=statistics.median(sizes) if sizes else 0,
               max_exported_cell_lines=max(sizes, default=0), median_defs_per_exported_cell=statistics.median(defs) if defs else 0)
    if '--json' in sys.argv:
        print(json.dumps(res, indent=1))
        return
    print('module lines: ' + ', '.join(f'{k} {v}' for k, v in mods.items()) + f' (total {res["total_lines"]})')
    print('10 longest functions: ' + ', '.join(f'{n} {l}' for n, l in res['longest_functions']))
    print(f'`;`-joined lines: {res["semicolon_lines"]}')
    print(f'exported cells: {res["exported_cells"]}, median {res["median_exported_cell_lines"]} lines (max {res["max_exported_cell_lines"]}), '
          f'median {res["median_defs_per_exported_cell"]} definitions per cell')

if __name__ == '__main__': main()
