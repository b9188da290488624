#!/usr/bin/env python
"""Write the demo's clickable examples into cifake_nb/assets/examples/: a handful of CIFAKE test images (original JPEG
bytes) chosen by a fixed rule, never by whether the model gets them right, plus one of them enlarged ×4 to show what
resampling does to the detector.

    python scripts/make_examples.py [--source ../shared/cifake] [--per-class 3]

Rule: the first `--per-class` REAL and FAKE rows of the test shard, in file order, from distinct CIFAR-10 categories.
CIFAKE is distributed under the same terms as CIFAR-10 (MIT); the folder's README.md says so and cites both.
"""
import argparse, io, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'cifake_nb' / 'assets' / 'examples'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--source', default=str(ROOT.parent / 'shared' / 'cifake'))
    ap.add_argument('--per-class', type=int, default=3)
    a = ap.parse_args(argv)
    import pyarrow.parquet as pq
    from PIL import Image
    from cifake_nb.data import CIFAR10_CLASSES, category_from_path
    shard = Path(a.source) / 'data' / 'test-00000-of-00001.parquet'
    if not shard.exists(): sys.exit(f'make_examples: {shard} not found: pass --source (a folder with data/test-*.parquet)')
    t = pq.read_table(shard)
    names = json.loads(t.schema.metadata[b'huggingface'])['info']['features']['label']['names']  # FAKE=0, REAL=1 in the shard
    picked, seen = [], set()
    for row, lab in zip(t.column('image').to_pylist(), t.column('label').to_pylist()):
        label, cat = names[lab], category_from_path(row['path'])
        if sum(p[0] == label for p in picked) < a.per_class and (label, cat) not in seen and cat >= 0:
            picked.append((label, cat, row['bytes']))
            seen.add((label, cat))
        if len(picked) == 2 * a.per_class: break
    OUT.mkdir(parents=True, exist_ok=True)
    for f in OUT.glob('*.jpg'): f.unlink()
    for f in OUT.glob('*.png'): f.unlink()
    rows = []
    for label, cat, data in picked:
        name = f'{label.lower()}_{CIFAR10_CLASSES[cat]}.jpg'
        (OUT / name).write_bytes(data)
        rows.append({'file': name, 'label': label, 'category': CIFAR10_CLASSES[cat]})
    label, cat, data = next(p for p in picked if p[0] == 'FAKE')
    big = Image.open(io.BytesIO(data)).convert('RGB').resize((128, 128), Image.BICUBIC)
    name = f'fake_{CIFAR10_CLASSES[cat]}_upscaled_x4.png'
    big.save(OUT / name)
    rows.append({'file': name, 'label': 'FAKE', 'category': CIFAR10_CLASSES[cat], 'edit': 'enlarged ×4 (bicubic)'})
    (OUT / 'examples.json').write_text(json.dumps(rows, indent=1) + '\n')
    (OUT / 'README.md').write_text(
        '# Demo examples\n\nCIFAKE test images (Bird & Lotfi, IEEE Access 12, 2024; REAL = CIFAR-10 photos, Krizhevsky & Hinton 2009;\n'
        'FAKE = Stable Diffusion 1.4), original JPEG bytes, chosen by `scripts/make_examples.py` with a fixed rule (the first\n'
        'rows of each class in the test shard, distinct categories), not by whether the model gets them right. CIFAKE is\n'
        'distributed under the same terms as CIFAR-10 (MIT). `examples.json` gives each file\'s true label; the `_upscaled_x4`\n'
        'file is a FAKE image enlarged ×4, to show what resampling does to the detector.\n')
    for r in rows: print(r)


if __name__ == '__main__': main()
