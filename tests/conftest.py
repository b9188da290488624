"""Shared test settings: offline hubs and W&B, headless plots, and where the real CIFAKE is.

Tests that need the real data take the `data_dir`, `cifake` or `cifake_test_parquet` fixture. Without the data
they all skip from one place, so `pytest -rs` folds them into ONE line saying why and what to do."""
import os
from pathlib import Path
import pytest

for k, v in dict(HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1', WANDB_MODE='offline', GRADIO_ANALYTICS_ENABLED='False', MPLBACKEND='Agg').items():
    os.environ.setdefault(k, v)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get('CIFAKE_SOURCE', ROOT.parent / 'shared' / 'cifake'))
TEST_SHARD = DATA / 'data' / 'test-00000-of-00001.parquet'
NO_DATA = (f'needs the real CIFAKE, not found at {DATA}: set CIFAKE_SOURCE to its parquet folder '
           '(or put it at ../shared/cifake) to run these')
_NO_DATA_LINE = next(i for i, line in enumerate(Path(__file__).read_text().splitlines(), 1) if line.startswith('NO_DATA'))


def pytest_report_header(config):
    return f'data: {DATA} (real CIFAKE)' if DATA.exists() else f'data: none at {DATA}; tests that need the real CIFAKE skip'


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    "Every skip for missing data is reported at this file, so `-rs` folds them into one line however many tests skip."
    rep = yield
    if rep.skipped and isinstance(rep.longrepr, tuple) and NO_DATA in str(rep.longrepr[2]):
        rep.longrepr = (__file__, _NO_DATA_LINE, rep.longrepr[2])
    return rep


@pytest.fixture(scope='session')
def root(): return ROOT


@pytest.fixture(scope='session')
def data_dir():
    "The real CIFAKE parquet folder; skips the test (one shared reason) when it is absent."
    if not DATA.exists(): pytest.skip(NO_DATA)
    return DATA


@pytest.fixture(scope='session')
def cifake_test_parquet(data_dir):
    "The CIFAKE test shard (original JPEG bytes)."
    if not TEST_SHARD.exists(): pytest.skip(f'{data_dir} has no {TEST_SHARD.name}: expected the parquet layout data/test-*.parquet')
    return TEST_SHARD


@pytest.fixture(scope='session')
def cifake(data_dir):
    from cifake_nb.data import load_cifake
    return load_cifake(data_dir, progress=False)


@pytest.fixture(scope='session')
def tiny_folder(tmp_path_factory) -> Path:
    "`cifake_nb.data.tiny_cifake()` written as a Kaggle-style image folder (train|test/REAL|FAKE/*.png): a data source on disk, no real data needed."
    from PIL import Image
    from cifake_nb.data import tiny_cifake
    d = tmp_path_factory.mktemp('tiny') / 'data'
    for name, s in tiny_cifake().splits.items():
        for im, path in zip(s.images, s.paths):
            (d / name / Path(path).parent).mkdir(parents=True, exist_ok=True)
            Image.fromarray(im).save(d / name / path)
    return d


@pytest.fixture(scope='session')
def sgd_checkpoint():
    """A function `(ds, path, seed=0, steps=30, **meta)`: a tiny speednet given `steps` SGD steps on `ds`'s training images,
    saved at `path` (a run folder's model.safetensors) with the sidecar training writes; `meta` adds to or overrides it."""
    def make(ds, path, seed: int = 0, steps: int = 30, **meta) -> Path:
        import torch
        from cifake_nb.checkpoint import save_checkpoint
        from cifake_nb.core import LABEL_NAMES, to_input
        from cifake_nb.models import create_model
        torch.manual_seed(seed)
        m = create_model('speednet', widths=[8, 8, 8, 8])
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        x, y = torch.from_numpy(to_input(ds.train.images)), torch.from_numpy(ds.train.labels)
        for _ in range(steps):
            b = torch.randint(0, len(y), (64,))
            loss = torch.nn.functional.cross_entropy(m(x[b]), y[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        side = dict(model='speednet', model_kwargs={'widths': [8, 8, 8, 8]}, label_names=list(LABEL_NAMES), input_size=[32, 32],
                    data_fingerprint=ds.fingerprint, data_source=ds.source, config=dict(n_val=64, val_seed=0, seed=seed))
        save_checkpoint(m.eval(), Path(path), {**side, **meta})
        return Path(path)
    return make


@pytest.fixture(scope='session')
def int8_copy(tmp_path_factory) -> Path:
    """A copy of the shipped model with a current int8 sibling quantized here (64 random calibration images, a 300-image int8
    reference profile when the data is at hand): the shipped model's own int8 copy was refused (issue 27: it moved three edits
    by more than 0.2 points), and the int8 serving paths are still tested on a real quantization of the real model."""
    import json, shutil
    import numpy as np
    from cifake_nb.data import default_source
    from cifake_nb.export import quantize_folder
    from cifake_nb.inference import default_model_dir
    m = tmp_path_factory.mktemp('int8copy') / 'model'
    shutil.copytree(default_model_dir(), m, ignore=shutil.ignore_patterns('int8'))
    info = json.loads((m / 'model.json').read_text()); info['int8'] = {}
    (m / 'model.json').write_text(json.dumps(info))
    src = default_source()
    quantize_folder(m, np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8),
                    reference_images=300 if Path(str(src)).exists() else 0, data_source=src)
    return m
