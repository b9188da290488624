"""The floor plan (issue 29): notebook numbers order the modules, and a module imports only modules of
lower-numbered notebooks, lazily or not. So there is no cycle, evaluation tooling and the launcher sit above
what they use, and the serving path (the app and all it imports) stays torch-free. Static and fast (AST only),
except one subprocess that imports the app's modules."""
import ast, json, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / 'cifake_nb'


def floors() -> dict[str, tuple[int, str]]:
    "module → its notebook's number as a sortable `(00, 'a')`, from `#| default_exp` of nbs/NN*_name.ipynb."
    out = {}
    for p in sorted((ROOT / 'nbs').glob('[0-9][0-9]*.ipynb')):
        m = re.match(r'(\d\d)([a-z]?)_', p.name)
        cells = json.loads(p.read_text(encoding='utf-8'))['cells']
        exp = [re.search(r'#\|\s*default_exp\s+(\S+)', ''.join(c['source'])) for c in cells if c['cell_type'] == 'code']
        names = [e.group(1) for e in exp if e]
        assert m and len(names) == 1, f'{p.name}: a numbered notebook is named NN[a-z]_name and has one #| default_exp'
        assert names[0] not in out, f'{names[0]} is exported by two notebooks'
        out[names[0]] = (int(m.group(1)), m.group(2))
    return out


def package_imports(module: str) -> set[str]:
    "The cifake_nb modules `module` imports anywhere in its source (top level or inside functions)."
    tree = ast.parse((PKG / f'{module}.py').read_text(encoding='utf-8'))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            name = '.'.join(['cifake_nb'] * bool(node.level) + [node.module] * bool(node.module))
            if name.startswith('cifake_nb.'): out.add(name.split('.')[1])
            elif name == 'cifake_nb':  # `from cifake_nb import x`: a module, or the package's __version__
                out |= {a.name for a in node.names if (PKG / f'{a.name}.py').exists()}
        elif isinstance(node, ast.Import):
            out |= {a.name.split('.')[1] for a in node.names if a.name.startswith('cifake_nb.')}
    return out - {module}


def modules() -> list[str]:
    return sorted(p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_'))


def closure(module: str) -> set[str]:
    "`module` and every cifake_nb module it imports, directly or through others."
    seen, todo = set(), [module]
    while todo:
        m = todo.pop()
        if m not in seen: seen.add(m); todo += package_imports(m)
    return seen


def test_every_module_has_a_numbered_notebook():
    assert set(modules()) == set(floors()), 'cifake_nb/*.py and the numbered notebooks disagree: run nbdev_export'


def test_modules_import_only_lower_floors():
    fl = floors()
    bad = [f'{m} ({"".join(map(str, fl[m]))}) imports {i} ({"".join(map(str, fl[i]))})'
           for m in modules() for i in sorted(package_imports(m)) if fl[i] >= fl[m]]
    assert not bad, 'a module may import only modules of lower-numbered notebooks:\n' + '\n'.join(bad)


def test_export_never_imports_training():
    assert 'train' not in closure('export'), 'exporting a checkpoint must not load the training loop (issue 29)'


def test_no_torch_on_the_serving_path_of_the_app():
    "`cifake-demo` and everything it imports run in the torch-free serving image."
    mods = sorted(closure('app'))
    code = (f'import importlib, sys; [importlib.import_module("cifake_nb." + m) for m in {mods!r}]; '
            'bad = [m for m in ("torch", "torchvision", "timm", "matplotlib") if m in sys.modules]; assert not bad, bad; print("ok")')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == 'ok', (mods, out.stderr[-2000:])
