"""The GitHub workflows and the commands the docs show: they run what a developer runs.

* every `cifake-run ...` line in a workflow or a docs page is parsed by the real `cifake-run` CLI
  (its runners stubbed), with the params files it names present;
* the GPU workflow runs `cifake-run pipeline <params> <eval_params>` with the defaults the docs name;
* publishing steps of the deploy workflow run only when their secrets are set (a fork passes);
* nothing in CI regenerates README.md (no nbdev_readme / nbdev_docs / nbdev_prepare);
* the Space staging writes the files the Gradio SDK expects;
* CI hygiene (what zizmor checks, kept so without it): every action pinned to a commit SHA with its
  version in a comment, no permissions at the workflow level and only what each job uses, checkout
  keeps no credentials, no `${{ }}` expression inside a `run:` script (values pass through `env:`),
  secrets only ever through `env:`, the Hub dataset downloaded at an explicit revision.
(Workflow syntax itself: actionlint and the GitHub workflow JSON schema, see the report of issue 6.)
"""
import re, shlex, sys, tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WF = ROOT / '.github' / 'workflows'
sys.path.insert(0, str(ROOT / 'scripts'))


def load(name: str) -> dict:
    d = yaml.safe_load((WF / name).read_text())
    d['on'] = d.pop(True, d.get('on'))  # YAML 1.1 reads the key `on` as True
    return d


WORKFLOWS = {p.name: load(p.name) for p in sorted(WF.glob('*.y*ml'))}


def steps(wf: dict):
    for jn, job in wf['jobs'].items():
        for st in job.get('steps', []): yield jn, job, st


def run_lines(wf: dict):
    "(job, step, one shell line) for every line of every run: block."
    for jn, job, st in steps(wf):
        for line in st.get('run', '').splitlines(): yield job, st, line.strip()


def expr_default(v: str) -> str:
    "`${{ inputs.x || 'default' }}` → 'default' (what a push without inputs gets)."
    m = re.search(r"\|\|\s*'([^']*)'", str(v))
    return m.group(1) if m else str(v)


def substitute(line: str, env: dict) -> str:
    return re.sub(r'"?\$\{?(\w+)\}?"?', lambda m: env.get(m.group(1), m.group(0)), line)


def shell_lines(page: Path) -> list[str]:
    "The lines of the ```sh / ```bash blocks of a docs page (qmd, or a notebook's markdown cells)."
    if page.suffix == '.ipynb':
        import json
        text = '\n\n'.join(''.join(c['source']) for c in json.loads(page.read_text())['cells'] if c['cell_type'] == 'markdown')
    else: text = page.read_text()
    blocks = re.findall(r'^```(?:sh|bash|shell)\s*\n(.*?)^```', text, re.MULTILINE | re.DOTALL)
    return [l.strip() for b in blocks for l in b.splitlines() if l.strip()]


def cifake_run_calls(argv: list[str], monkeypatch) -> list:
    "Parse `cifake-run ARGV` with the real CLI; the runners are stubbed and record their calls."
    from cifake_nb import runs
    calls = []
    monkeypatch.setattr(runs, 'run_train', lambda params, overrides=None, runs_dir=None, keep_failed=False: calls.append(('train', params, overrides)) or Path('runs/x'))
    monkeypatch.setattr(runs, 'run_evaluate', lambda params, ckpts, overrides=None, runs_dir=None, keep_failed=False: calls.append(('evaluate', params, ckpts)) or Path('runs/e'))
    monkeypatch.setattr(runs, 'run_sweep_file', lambda path, overrides=None, runs_dir=None: calls.append(('sweep', path, overrides)) or [])
    out = Path(tempfile.mkdtemp())  # --seeds: the summary folder (the stubbed runs have no metrics)
    monkeypatch.setattr(runs, 'new_run_folder', lambda parent, name: out)
    monkeypatch.setattr(runs, 'seed_summary', lambda folders: {'runs': [str(f) for f in folders]})
    monkeypatch.setattr(runs, 'seed_summary_markdown', lambda summ, title: title)
    runs.main(argv)
    return calls


def test_workflows_are_complete():
    assert set(WORKFLOWS) >= {'test.yaml', 'train.yaml', 'docs.yaml', 'deploy.yaml'}
    for name, wf in WORKFLOWS.items():
        assert wf['on'] and wf['jobs'], name
        assert wf.get('defaults', {}).get('run', {}).get('shell') == 'bash', f'{name}: `shell: bash` (pipefail) for every run step'
        for jn, job in wf['jobs'].items():
            assert 'runs-on' in job, (name, jn)
            if 'steps' in job and not any('deploy-pages' in str(s.get('uses')) for s in job['steps']):
                assert job.get('timeout-minutes'), f'{name}/{jn}: set timeout-minutes'


def test_test_workflow():
    wf = WORKFLOWS['test.yaml']
    assert {'push', 'pull_request'} <= set(wf['on'])
    job = wf['jobs']['test']
    assert job['runs-on'] == 'ubuntu-latest' and job['strategy']['matrix']['python-version'] == ['3.11', '3.12']
    py = next(s for _, _, s in steps(wf) if str(s.get('uses', '')).startswith('actions/setup-python'))
    assert py['with']['cache'] == 'pip' and py['with']['cache-dependency-path'] == 'requirements.txt'
    lines = [l for _, _, l in run_lines(wf)]
    assert 'bash .ci/run' in lines, 'CI runs the same checks as the CI entry point'
    assert any(l.endswith('cifake-run pipeline params/smoke.yaml params/eval_smoke.yaml') for l in lines)
    assert any('chromium' in l for l in lines)
    dl = next(s for _, _, s in steps(wf) if 'hf download' in s.get('run', ''))
    assert '--repo-type dataset --revision "$CIFAKE_HUB_REVISION" --local-dir ../shared/cifake' in dl['run'] and 'cache-hit' in dl['if']
    assert wf['env']['CIFAKE_HUB_ID'] == 'dragonintelligence/CIFAKE-image-dataset'
    assert dl['env']['HF_HUB_OFFLINE'] == '0'
    up = next(s for _, _, s in steps(wf) if str(s.get('uses', '')).startswith('actions/upload-artifact'))
    assert 'runs/*/*.ipynb' in up['with']['path'] and up.get('if') == 'always()'


def test_every_cifake_run_command_parses(monkeypatch):
    "Workflows and docs pages call cifake-run in ways the CLI accepts, with params files that exist."
    found = []
    for name, wf in WORKFLOWS.items():
        for job, st, line in run_lines(wf):
            if 'cifake-run ' not in line or line.startswith('#'): continue
            env = {k: expr_default(v) for k, v in {**wf.get('env', {}), **job.get('env', {}), **st.get('env', {})}.items()}
            found.append((name, shlex.split(substitute(line.split('|')[0], env))))
    for page in [*(ROOT / 'nbs').rglob('*.qmd'), ROOT / 'nbs' / 'index.ipynb']:
        for line in shell_lines(page):
            if line.startswith('cifake-run '): found.append((page.name, shlex.split(line.split(' #')[0])))
    assert len(found) >= 6, found
    for where, argv in found:
        argv = argv[[Path(a).name for a in argv].index('cifake-run') + 1:]  # also .venv/bin/cifake-run
        calls = cifake_run_calls(argv, monkeypatch)
        assert calls and calls[0][0] in ('train', 'evaluate', 'sweep'), (where, argv)
        for kind, params, _ in calls:
            for f in ([params] if isinstance(params, str) else params):  # layered params: several files
                assert (ROOT / f).exists() or f.startswith('runs/'), f'{where}: `cifake-run {" ".join(argv)}` names {f}, which does not exist'


def test_gpu_workflow_runs_the_local_command(monkeypatch):
    wf = WORKFLOWS['train.yaml']
    inputs = wf['on']['workflow_dispatch']['inputs']
    assert inputs['params']['default'] == 'params/gpu.yaml' and inputs['eval_params']['default'] == 'params/eval.yaml'
    assert wf['on']['push']['paths'] == ['params/**']
    job = wf['jobs']['train']
    assert job['runs-on'] == ['self-hosted', 'gpu']
    env = {k: expr_default(v) for k, v in job['env'].items()}
    assert env['PARAMS'] == inputs['params']['default'] and env['EVAL_PARAMS'] == inputs['eval_params']['default']
    [line] = [l for _, _, l in run_lines(wf) if l.startswith('cifake-run ')]
    argv = shlex.split(substitute(line.split('|')[0], env))
    assert argv == ['cifake-run', 'pipeline', 'params/gpu.yaml', 'params/eval.yaml'], 'the same command as a local run (tutorials/train.qmd)'
    assert [c[:2] for c in cifake_run_calls(argv[1:], monkeypatch)] == [('train', 'params/gpu.yaml'), ('evaluate', 'params/eval.yaml')]
    assert 'cifake-run pipeline params/gpu.yaml params/eval.yaml' in (ROOT / 'nbs' / 'deploy.qmd').read_text()
    up = next(s for _, _, s in steps(wf) if str(s.get('uses', '')).startswith('actions/upload-artifact'))
    for pat in ('runs/*/*.ipynb', 'runs/*/*.json', 'runs/*/model.safetensors'): assert pat in up['with']['path']
    pub = next(s for _, _, s in steps(wf) if 'publish_results.py' in s.get('run', ''))
    assert pub['if'] == "env.PUBLISH == 'true'" and '--train "$TRAIN_RUN" --eval "$EVAL_RUN"' in pub['run']
    pr = next(s for _, _, s in steps(wf) if str(s.get('uses', '')).startswith('peter-evans/create-pull-request'))
    assert 'nbs/results/**' in pr['with']['add-paths'] and pr['if'] == "env.PUBLISH == 'true'"


def test_docs_workflow():
    wf = WORKFLOWS['docs.yaml']
    lines = [l for _, _, l in run_lines(wf)]
    assert 'python scripts/check_docs.py' in lines and 'cd _proc && quarto render' in lines
    q = next(s for _, _, s in steps(wf) if str(s.get('uses', '')).startswith('quarto-dev/quarto-actions/setup'))
    assert q['with']['version'] == '${{ steps.quarto.outputs.version }}'
    pin = re.search(r'^quarto-cli==([\d.]+)$', (ROOT / 'requirements-docs.txt').read_text(), re.MULTILINE)
    assert pin, 'requirements-docs.txt pins quarto-cli==X.Y.Z (the version the docs workflow installs)'
    art = next(s for _, _, s in steps(wf) if str(s.get('uses', '')).startswith('actions/upload-pages-artifact'))
    assert art['with']['path'] == '_proc/_docs'  # nbdev.yml (from settings.ini doc_path) sets output-dir: _docs
    import configparser
    c = configparser.ConfigParser(delimiters=['='])
    c.read(ROOT / 'settings.ini')
    assert c['DEFAULT']['doc_path'] == '_docs'
    dep = wf['jobs']['deploy']
    assert dep['permissions'] == {'pages': 'write', 'id-token': 'write'} and dep['needs'] == 'build'
    assert 'pull_request' in dep['if'] and any('deploy-pages' in str(s.get('uses')) for s in dep['steps'])


def test_nothing_in_ci_regenerates_the_readme():
    "README.md is kept by hand; nbdev_readme (also run by nbdev_docs and nbdev_prepare) would overwrite it from nbs/index.ipynb."
    texts = {p: '\n'.join(l for l in p.read_text().splitlines() if not l.lstrip().startswith('#'))
             for p in [*WF.glob('*.y*ml'), ROOT / 'Makefile', ROOT / '.ci' / 'run'] if p.exists()}
    for p, t in texts.items():
        for cmd in ('nbdev_readme', 'nbdev_docs', 'nbdev_prepare', 'nbdev-readme', 'nbdev-docs'):
            assert cmd not in t, f'{p.name} runs {cmd}, which overwrites README.md'


def test_deploy_steps_are_gated_on_their_secrets():
    wf = WORKFLOWS['deploy.yaml']
    job = wf['jobs']['deploy']
    secret_env = {k for k, v in job['env'].items() if 'secrets.' in str(v)}
    assert secret_env >= {'HF_TOKEN', 'GCP_WORKLOAD_IDENTITY_PROVIDER', 'GCP_SERVICE_ACCOUNT', 'GCP_PROJECT'}
    for _, _, st in steps(wf):
        cond = str(st.get('if', ''))
        assert 'secrets.' not in cond, f'step {st.get("name")}: secrets cannot be read in `if:`; map them into env'
        used = set(re.findall(r'env\.(\w+)', str(st.get('with', '')))) | {v for v in secret_env if re.search(rf'\${v}\b|\${{{v}}}', st.get('run', ''))}
        for v in used & secret_env:
            assert f"env.{v} != ''" in cond, f'step {st.get("name") or st.get("uses")} uses {v} but runs even when it is not set'
    gated = [st for _, _, st in steps(wf) if 'google-github-actions' in str(st.get('uses')) or 'hf upload' in st.get('run', '')]
    assert len(gated) == 3 and all(st.get('if') for st in gated)
    build = next(st for _, _, st in steps(wf) if 'docker build' in st.get('run', ''))
    assert 'if' not in build, 'the image is built (and checked) on every run, forks included'


def test_space_staging(tmp_path):
    import stage_space
    root = tmp_path / 'proj'
    (root / 'cifake_nb' / 'assets' / 'default').mkdir(parents=True)
    for f in ('app.py', 'requirements-serve.txt', 'settings.ini'): (root / f).write_text((ROOT / f).read_text())
    (root / 'cifake_nb' / '__init__.py').write_text('')
    with pytest.raises(SystemExit, match='model.onnx is missing'): stage_space.stage(tmp_path / 'out', root)
    for f in ('model.onnx', 'model.json'): (root / 'cifake_nb' / 'assets' / 'default' / f).write_bytes(b'x')
    (root / 'cifake_nb' / 'assets' / 'default' / 'MODEL_CARD.md').write_text('# Model card\n\nspeednet')
    out = stage_space.stage(tmp_path / 'out', root)
    assert sorted(p.name for p in out.iterdir()) == ['README.md', 'app.py', 'cifake_nb', 'requirements.txt']
    readme = (out / 'README.md').read_text()
    fm = yaml.safe_load(readme.split('---')[1])
    gradio = re.search(r'^gradio==(\S+)$', (ROOT / 'requirements.txt').read_text(), re.MULTILINE).group(1)
    assert fm['sdk'] == 'gradio' and fm['app_file'] == 'app.py' and str(fm['sdk_version']) == gradio, 'the Space runs the gradio we test'
    reqs = [l.split('==')[0] for l in (out / 'requirements.txt').read_text().splitlines() if l.strip() and not l.startswith('#')]
    assert readme.rstrip().endswith('speednet') and 'torch' not in reqs and 'onnxruntime' in reqs
    assert (out / 'cifake_nb' / 'assets' / 'default' / 'model.onnx').exists()


def _top_level_names(module_file: Path) -> set:
    import ast
    tree = ast.parse(module_file.read_text())
    names = set()
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign)):
            for t in (n.targets if isinstance(n, ast.Assign) else [n.target]):
                names |= {e.id for e in ast.walk(t) if isinstance(e, ast.Name)}
        elif isinstance(n, (ast.Import, ast.ImportFrom)): names |= {(a.asname or a.name).split('.')[0] for a in n.names}
    return names


def test_other_commands_in_the_docs_exist():
    "python -m / scripts / make / console scripts shown in the docs' shell blocks, and the imports of their Python examples."
    import configparser
    c = configparser.ConfigParser(delimiters=['='])
    c.read(ROOT / 'settings.ini')
    scripts = {l.split('=')[0].strip() for l in c['DEFAULT']['console_scripts'].splitlines() if l.strip()}
    make_targets = set(re.findall(r'^([\w-]+):', (ROOT / 'Makefile').read_text(), re.MULTILINE))
    pages = [*(ROOT / 'nbs').rglob('*.qmd'), ROOT / 'nbs' / 'index.ipynb']
    bad = []
    for page in pages:
        for line in shell_lines(page):
            for mod in re.findall(r'-m (cifake_nb\.\w+)', line):
                f = ROOT / (mod.replace('.', '/') + '.py')
                if not f.exists() or "__name__ == '__main__'" not in f.read_text():
                    bad.append(f'{page.name}: `{line}`: {f.name} has no `if __name__ == \'__main__\'` entry point')
            for s in re.findall(r'python (scripts/\S+\.py)', line):
                if not (ROOT / s).exists(): bad.append(f'{page.name}: {s} does not exist')
            if line.startswith('make '):
                t = line.split()[1]
                if t not in make_targets: bad.append(f'{page.name}: no make target {t!r}')
            if line.split()[0] in ('cifake-demo', 'cifake-train', 'cifake-export') and line.split()[0] not in scripts:
                bad.append(f'{page.name}: {line.split()[0]} is not a console script of settings.ini')
            if line.startswith('docker build') and not (ROOT / 'Dockerfile').exists(): bad.append('no Dockerfile')
        text = page.read_text()
        for block in re.findall(r'^```python\s*\n(.*?)^```', text, re.MULTILINE | re.DOTALL):
            compile(block, str(page), 'exec')
            for mod, names in re.findall(r'^from (cifake_nb\.\w+) import ([\w, ]+)$', block, re.MULTILINE):
                f = ROOT / (mod.replace('.', '/') + '.py')
                missing = {n.strip() for n in names.split(',')} - (_top_level_names(f) if f.exists() else set())
                if missing: bad.append(f'{page.name}: `from {mod} import` {sorted(missing)}: not defined in {f.name}')
    assert not bad, 'commands or examples in the docs that would not run:\n' + '\n'.join(bad)


def test_cifake_run_exits_zero_on_success(monkeypatch):
    """The console script is `sys.exit(main())`: a successful run must exit 0, or every workflow step
    that runs `cifake-run` fails after the run succeeded (sys.exit(<a list>) prints it and exits 1)."""
    from cifake_nb import runs
    monkeypatch.setattr(runs, 'run_train', lambda *a, **k: Path('runs/x'))
    monkeypatch.setattr(runs, 'run_evaluate', lambda *a, **k: Path('runs/e'))
    with pytest.raises(SystemExit) as e: sys.exit(runs.main(['pipeline', 'params/smoke.yaml', 'params/eval_smoke.yaml']))
    assert e.value.code in (None, 0), f'`cifake-run` exits with {e.value.code!r} after a successful run: main() must return None or 0'


# ---- CI hygiene (issue 9): what `zizmor --offline .github/workflows` checks, kept so without it ----

RAW = {p.name: p.read_text() for p in sorted(WF.glob('*.y*ml'))}
_USES_RE = re.compile(r'^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$', re.MULTILINE)
_WRITE_OK = {  # the only write scopes a job may hold, and why (anything else is an error)
    ('deploy.yaml', 'deploy'): {'packages', 'id-token'},     # push to ghcr.io; Workload Identity Federation
    ('docs.yaml', 'deploy'): {'pages', 'id-token'},          # GitHub Pages deployment
    ('train.yaml', 'train'): {'contents', 'pull-requests'},  # the results branch and pull request (publish)
}


def all_steps():
    for name, wf in WORKFLOWS.items():
        for jn, job, st in steps(wf): yield name, jn, job, st


def test_every_action_is_pinned_to_a_commit_sha():
    found = 0
    for name, text in RAW.items():
        for m in _USES_RE.finditer(text):
            ref, rest = m['ref'].strip('\'"'), m['rest']
            if ref.startswith(('./', 'docker://')): continue  # local actions / digests are not tags
            found += 1
            action, _, sha = ref.partition('@')
            assert re.fullmatch(r'[0-9a-f]{40}', sha), f'{name}: `uses: {ref}` is not pinned to a 40-hex commit SHA (a tag can be moved)'
            assert re.match(r'\s+#\s*v\d+(\.\d+){0,2}\b', rest), f'{name}: `uses: {ref}` needs its release in a comment, e.g. `# v4.2.2`'
    assert found >= 15, found
    # one action, one commit: the same action is never pinned to two different SHAs across the workflows
    pins = {}
    for text in RAW.values():
        for m in _USES_RE.finditer(text):
            action, _, sha = m['ref'].partition('@')
            pins.setdefault(action, set()).add(sha)
    assert {a: s for a, s in pins.items() if len(s) > 1} == {}, 'an action pinned to two commits'


def test_permissions_least_privilege():
    for name, wf in WORKFLOWS.items():
        assert wf.get('permissions') == {}, f'{name}: set `permissions: {{}}` at the workflow level; give each job what it uses'
        for jn, job in wf['jobs'].items():
            perms = job.get('permissions')
            assert isinstance(perms, dict) and perms, f'{name}/{jn}: no job-level `permissions:` (it would inherit the default token scopes)'
            assert set(perms.values()) <= {'read', 'write', 'none'}, (name, jn, perms)
            writes = {k for k, v in perms.items() if v == 'write'}
            assert writes <= _WRITE_OK.get((name, jn), set()), f'{name}/{jn}: write access {sorted(writes)} beyond what the job needs'
            uses = ' '.join(str(s.get('uses', '')) for s in job.get('steps', []))
            if 'actions/checkout' in uses: assert perms.get('contents') in ('read', 'write'), f'{name}/{jn}: checkout needs contents: read'
            if 'id-token' in perms:
                assert any(a in uses for a in ('google-github-actions/auth', 'deploy-pages')), f'{name}/{jn}: id-token without an OIDC consumer'
    # every permission line says why
    for name, text in RAW.items():
        block = re.findall(r'^\s+(?:contents|packages|id-token|pages|pull-requests):\s*write.*$', text, re.MULTILINE)
        for line in block: assert '#' in line, f'{name}: `{line.strip()}`: say why the job needs it'


def test_checkout_keeps_no_credentials():
    n = 0
    for name, jn, job, st in all_steps():
        if str(st.get('uses', '')).startswith('actions/checkout@'):
            n += 1
            assert (st.get('with') or {}).get('persist-credentials') is False, f'{name}/{jn}: actions/checkout needs `persist-credentials: false`'
    assert n >= 4, n  # one per workflow that checks out (docs' deploy job does not)


def test_no_expressions_in_run_scripts():
    "A `${{ }}` inside `run:` is spliced into the script text before bash sees it (code injection); use env: instead."
    for name, jn, job, st in all_steps():
        if 'run' in st:
            assert '${{' not in st['run'], f'{name}/{jn}: step {st.get("name")!r} interpolates an expression into its script; pass it via env:'
    # the raw text too (a run: block YAML parses differently than expected would hide it from the check above)
    for name, text in RAW.items():
        for block in re.findall(r'^(\s*)run:\s*[|>]-?\s*\n((?:\1\s+.*\n|\s*\n)+)', text, re.MULTILINE):
            assert '${{' not in block[1], f'{name}: expression inside a run: block'


def test_secrets_only_through_env():
    "Secrets (GITHUB_TOKEN included) appear only as `env:` values, never in `run:`, `if:` or `with:` text."
    for name, wf in WORKFLOWS.items():
        for jn, job, st in steps(wf):
            for key in ('run', 'if', 'with'):
                assert 'secrets.' not in str(st.get(key, '')) and 'github.token' not in str(st.get(key, '')), f'{name}/{jn}: secret in {key}: of {st.get("name")!r}'
    login = next(st for _, _, st in steps(WORKFLOWS['deploy.yaml']) if 'docker login ghcr.io' in st.get('run', ''))
    assert login['env']['GHCR_TOKEN'] == '${{ secrets.GITHUB_TOKEN }}' and '--password-stdin' in login['run'] and '"$GHCR_TOKEN"' in login['run']
    assert 'docker logout ghcr.io' in login['run'], 'the registry token is not left in ~/.docker/config.json'


def test_hub_downloads_name_a_revision():
    "Every `hf download` in CI reads an explicit revision ($CIFAKE_HUB_REVISION), defined next to the dataset id."
    n = 0
    for name, wf in WORKFLOWS.items():
        for jn, job, st in steps(wf):
            for line in st.get('run', '').splitlines():
                if re.search(r'\bhf download\b', line):
                    n += 1
                    assert '--revision "$CIFAKE_HUB_REVISION"' in line, f'{name}: `{line.strip()}` downloads whatever the Hub holds today'
                    env = {**wf.get('env', {}), **job.get('env', {}), **st.get('env', {})}
                    assert re.fullmatch(r'[0-9a-f]{40}|[\w.-]+', str(env.get('CIFAKE_HUB_REVISION', ''))), f'{name}: CIFAKE_HUB_REVISION is not set'
    assert n >= 2
    data = next(st for _, _, st in steps(WORKFLOWS['test.yaml']) if st.get('id') == 'data')
    assert 'env.CIFAKE_HUB_REVISION' in data['with']['key'], 'the cached parquet files are keyed by the revision they came from'


def test_zizmor_is_clean():
    "zizmor's offline audits (pedantic persona) find nothing; skipped where zizmor is not installed."
    import shutil, subprocess
    exe = shutil.which('zizmor') or (str(Path(sys.executable).with_name('zizmor')) if Path(sys.executable).with_name('zizmor').exists() else None)
    if not exe: pytest.skip('zizmor is not installed (pip install zizmor)')
    r = subprocess.run([exe, '--offline', '--persona=pedantic', '--no-progress', str(WF)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_params_file_validates():
    "Each params/*.yaml is valid for what reads it (training: TrainConfig, also layered under smoke.yaml; evaluation: EvalConfig)."
    from cifake_nb.runs import check_eval_params, check_train_params, read_params
    files = sorted((ROOT / 'params').glob('*.yaml'))
    assert {'cpu.yaml', 'cpu_robust.yaml', 'gpu.yaml', 'seed_cnn.yaml', 'smoke.yaml', 'eval.yaml', 'eval_smoke.yaml', 'sweep.yaml'} <= {f.name for f in files}
    for f in files:
        if f.name == 'monitor.yaml': continue  # nbs/monitor_report.ipynb's parameters (tests/test_monitoring.py runs it)
        if f.name.startswith('sweep'):  # a search: its recipe, and every end of its space, valid TrainConfigs
            from cifake_nb.sweep import SweepConfig
            SweepConfig.from_yaml(f)
        elif f.name.startswith('eval'): check_eval_params(read_params(str(f)))
        else:
            cfg = check_train_params(read_params(str(f)))
            if cfg.model == 'speednet': check_train_params(read_params([str(f), str(ROOT / 'params' / 'smoke.yaml')]))
    seed = check_train_params(read_params(str(ROOT / 'params' / 'seed_cnn.yaml')))
    assert (seed.model, seed.optimizer, seed.lr, seed.batch_size, seed.epochs, seed.weight_decay) == ('seed_cnn', 'adamw', 1e-3, 32, 2, 0.0)
    assert not seed.flip and seed.translate == 0 and seed.ema_decay == 0 and seed.label_smoothing == 0, 'the peer trains as shipped: no augmentation or EMA'
