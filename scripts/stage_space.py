#!/usr/bin/env python
"""Stage the Hugging Face Space (Gradio SDK) in a folder, ready for `hf upload`.

    python scripts/stage_space.py _space
    hf upload "$HF_SPACE" _space . --repo-type space --delete 'cifake_nb/**'

The Space runs the same code as `cifake-demo` and the Docker image: `app.py` (the Space entry point at
the project root), the `cifake_nb/` package with the shipped model in `cifake_nb/assets/default/`,
`requirements.txt` = requirements-serve.txt (no torch), and a README.md whose front matter configures
the Space (`sdk: gradio`, `sdk_version` = the gradio pin of requirements-serve.txt) followed by the
shipped model's card. Used by .github/workflows/deploy.yaml.
"""
from __future__ import annotations
import argparse, re, shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = Path('cifake_nb/assets/default')


def gradio_pin(requirements: Path) -> str:
    "The exact gradio version pinned in `requirements` (the Space's sdk_version must match it)."
    m = re.search(r'^gradio==([\w.]+)\s*$', requirements.read_text(), re.MULTILINE)
    if not m: raise SystemExit(f'stage_space.py: {requirements} pins no exact gradio version (gradio==X.Y.Z): the Space needs one for sdk_version')
    return m.group(1)


def space_readme(card: str, sdk_version: str, repo_url: str) -> str:
    front = '\n'.join(['---', 'title: CIFAKE real or AI-generated', 'emoji: 🔎', 'colorFrom: gray', 'colorTo: blue', 'sdk: gradio',
                       f'sdk_version: {sdk_version}', 'app_file: app.py', 'pinned: false', 'license: mit',
                       'short_description: Is a 32x32 image a photo or Stable Diffusion? With its evidence map.', '---', ''])
    return front + f'\nSource, training and evaluation: {repo_url}\n\n' + card


def stage(out, root=ROOT) -> Path:
    "Write the Space's files into `out` (emptied first); returns `out`."
    root, out = Path(root), Path(out)
    card = root / MODEL / 'MODEL_CARD.md'
    for need in (root / 'app.py', root / MODEL / 'model.onnx', root / MODEL / 'model.json', card):
        if not need.exists():
            raise SystemExit(f'stage_space.py: {need.relative_to(root)} is missing: the Space would have no {"model" if "assets" in str(need) else "entry point"} '
                             f'(ship a model with scripts/publish_results.py --ship)')
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy2(root / 'app.py', out / 'app.py')
    shutil.copytree(root / 'cifake_nb', out / 'cifake_nb', ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    shutil.copy2(root / 'requirements-serve.txt', out / 'requirements.txt')
    repo_url = next((l.split('=', 1)[1].strip() for l in (root / 'settings.ini').read_text().splitlines() if l.startswith('git_url')), '')
    (out / 'README.md').write_text(space_readme(card.read_text(encoding='utf-8'), gradio_pin(root / 'requirements-serve.txt'), repo_url), encoding='utf-8')
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('out', help='folder to write (replaced)')
    p = stage(ap.parse_args().out)
    print(f'staged the Space in {p}: ' + ', '.join(sorted(x.name for x in p.iterdir())))
