"""Acceptance tests of the data layer on the real CIFAKE shards (../shared/cifake)."""
import os, subprocess, sys
from pathlib import Path
import numpy as np, pytest
from PIL import Image

from cifake_nb.data import (load_cifake, train_val_split, parquet_label_names, Batches, random_flip,
                            random_translate, LABEL_NAMES, FAKE, REAL, DataError)

def test_full_cifake_counts_and_balance(cifake):
    assert len(cifake.train) == 100_000 and len(cifake.test) == 20_000
    for s in (cifake.train, cifake.test):
        assert s.images.shape == (len(s), 32, 32, 3) and s.images.dtype == np.uint8
        assert (s.labels == FAKE).sum() == (s.labels == REAL).sum() == len(s) // 2
        assert set(np.unique(s.categories)) == set(range(10))
    assert cifake.errors == []

def test_label_mapping_against_classlabel(cifake, data_dir):
    """The shard's own ClassLabel names decide: a row stored with name 'FAKE' must be our label 1 (FAKE = positive)."""
    import pyarrow.parquet as pq
    f = sorted(Path(data_dir).rglob('test-*.parquet'))[0]
    names = parquet_label_names(f)
    assert sorted(names) == ['FAKE', 'REAL']
    t = pq.read_table(f, columns=['image', 'label'])
    raw = t.column('label').to_numpy(); paths = t.column('image').combine_chunks().field('path').to_pylist()
    expected = np.array([LABEL_NAMES.index(names[r]) for r in raw])
    np.testing.assert_array_equal(cifake.test.labels, expected)
    # and the file names agree with the labels (REAL/… and FAKE/… folders in the original archive)
    assert all(p.startswith(LABEL_NAMES[l] + '/') for p, l in zip(paths[:2000], expected[:2000]))

def test_validation_split_is_stratified_seeded_disjoint(cifake):
    tr, va = train_val_split(cifake.train, 10_000, seed=0)
    assert len(va) == 10_000 and len(tr) == 90_000
    assert not set(zip(tr.paths, tr.labels)) & set(zip(va.paths, va.labels))
    assert (va.labels == FAKE).sum() == 5_000
    for c in range(10):  # stratified by category too: each category within ±2 images of its share
        share = (cifake.train.categories == c).mean() * 10_000
        assert abs((va.categories == c).sum() - share) <= 2
    _, va2 = train_val_split(cifake.train, 10_000, seed=0); _, va3 = train_val_split(cifake.train, 10_000, seed=1)
    np.testing.assert_array_equal(va.paths, va2.paths)
    assert (va.paths != va3.paths).any()

def test_hub_id_loads_from_a_local_mirror_of_the_hub_layout(tmp_path, data_dir):
    """The Hub code path (snapshot_download) on a local HF cache laid out exactly as the Hub download leaves it."""
    repo = tmp_path / 'hub' / 'datasets--dragonintelligence--CIFAKE-image-dataset'
    snap = repo / 'snapshots' / ('0' * 40) / 'data'; snap.mkdir(parents=True)
    (repo / 'refs').mkdir(); (repo / 'refs' / 'main').write_text('0' * 40)
    for f in ['test-00000-of-00001.parquet', 'train-00000-of-00005.parquet']:
        os.symlink(Path(data_dir, 'data', f).resolve(), snap / f)
    code = ("from cifake_nb.data import load_cifake; ds = load_cifake('dragonintelligence/CIFAKE-image-dataset', "
            f"cache_dir={str(tmp_path / 'c')!r}, progress=False); print(len(ds.train), len(ds.test), int(ds.test.labels.sum()))")
    env = {**os.environ, 'HF_HUB_CACHE': str(tmp_path / 'hub'), 'HF_HUB_OFFLINE': '1'}
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['20000', '20000', '10000']

def test_hub_id_offline_fails_fast_with_hint(tmp_path):
    env = {**os.environ, 'HF_HUB_CACHE': str(tmp_path), 'HF_HUB_OFFLINE': '1'}
    code = "from cifake_nb.data import load_cifake\nload_cifake('dragonintelligence/CIFAKE-image-dataset')"
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True, timeout=60)  # fast: no network wait
    assert out.returncode != 0 and 'Pass a local folder instead' in out.stderr

def test_kaggle_folder_layout_with_corrupt_and_odd_images(tmp_path):
    rng = np.random.default_rng(0)
    for split in ('train', 'test'):
        for c in ('REAL', 'FAKE'):
            d = tmp_path / split / c; d.mkdir(parents=True)
            for i in range(50): Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(d / f'{i} ({i % 10 + 1}).jpg')
    Image.new('RGBA', (64, 40), (10, 20, 30, 255)).save(tmp_path / 'train' / 'REAL' / '99 (3).png')  # not 32×32, RGBA
    Image.new('L', (32, 32), 7).save(tmp_path / 'train' / 'FAKE' / '98 (4).png')                       # greyscale
    (tmp_path / 'train' / 'FAKE' / 'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 not really')
    with pytest.warns(UserWarning, match='1 of 103 images in split .train. could not be decoded'):
        ds = load_cifake(tmp_path, cache_dir=tmp_path / 'cache', max_bad_fraction=0.05, num_workers=2, progress=False)
    assert len(ds.train) == 102 and len(ds.test) == 100 and ds.errors[0][1] == 'FAKE/broken.jpg'
    i = list(ds.train.paths).index('REAL/99 (3).png'); assert ds.train.images[i].shape == (32, 32, 3)
    assert ds.train.images[i][0, 0].tolist() == [10, 20, 30] and ds.train.categories[i] == 2
    j = list(ds.train.paths).index('FAKE/98 (4).png'); assert ds.train.images[j][5, 5].tolist() == [7, 7, 7]

def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'): load_cifake(tmp_path / 'missing')
    with pytest.raises(FileNotFoundError, match='no CIFAKE data'): load_cifake(tmp_path)
    (tmp_path / 'f.txt').write_text('x')
    with pytest.raises(NotADirectoryError): load_cifake(tmp_path / 'f.txt')
    bad = tmp_path / 'pq'; bad.mkdir(); (bad / 'train-00000-of-00001.parquet').write_bytes(b'PAR1 nope')
    with pytest.raises(DataError, match='cannot read parquet shard'): load_cifake(bad, use_cache=False)

def test_corrupt_parquet_rows_are_counted_not_fatal(tmp_path, data_dir):
    """A parquet shard whose image bytes are partly garbage: counted, reported, skipped."""
    import pyarrow as pa, pyarrow.parquet as pq
    t = pq.read_table(Path(data_dir, 'data', 'test-00000-of-00001.parquet')).slice(0, 300)
    img = t.column('image').combine_chunks()
    blobs = img.field('bytes').to_pylist(); blobs[3] = b'garbage'; blobs[7] = blobs[7][:40]
    new = pa.StructArray.from_arrays([pa.array(blobs, pa.binary()), img.field('path')], fields=list(img.type))
    t = t.set_column(0, 'image', new)
    (tmp_path / 'data').mkdir(); pq.write_table(t, tmp_path / 'data' / 'test-00000-of-00001.parquet')
    with pytest.warns(UserWarning, match='2 of 300 images'):
        ds = load_cifake(tmp_path, cache_dir=tmp_path / 'c', progress=False)
    assert len(ds.test) == 298 and len(ds.errors) == 2
    with pytest.raises(DataError, match='looks broken'):
        load_cifake(tmp_path, cache_dir=tmp_path / 'c2', max_bad_fraction=0.001, progress=False)

def test_augmentations():
    import torch
    x = torch.rand(64, 3, 32, 32)
    g = torch.Generator().manual_seed(0)
    f = random_flip(x, g)
    flipped = [torch.equal(f[i], x[i].flip(-1)) for i in range(64)]; kept = [torch.equal(f[i], x[i]) for i in range(64)]
    assert all(a or b for a, b in zip(flipped, kept)) and 10 < sum(flipped) < 54
    t = random_translate(x, 3, g)
    assert t.shape == x.shape and t.dtype == x.dtype
    # a translated image is a shifted window of the reflect-padded original
    xp = torch.nn.functional.pad(x, (3,) * 4, mode='reflect')
    for i in range(8):
        assert any(torch.equal(t[i], xp[i, :, dy:dy + 32, dx:dx + 32]) for dy in range(7) for dx in range(7))
    b = Batches(np.zeros((10, 32, 32, 3), np.uint8), np.zeros(10), batch_size=4, flip=True, translate=2)
    shapes = [tuple(xb.shape) for xb, _ in b]; assert shapes == [(4, 3, 32, 32), (4, 3, 32, 32), (2, 3, 32, 32)]
    with pytest.raises(ValueError, match='uint8'): Batches(np.zeros((10, 32, 32, 3), np.float32), np.zeros(10))
