"""Shared test settings: offline hubs and W&B, headless plots, the real CIFAKE data location."""
import os
from pathlib import Path
import pytest

for k, v in dict(HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1', WANDB_MODE='offline', GRADIO_ANALYTICS_ENABLED='False', MPLBACKEND='Agg').items():
    os.environ.setdefault(k, v)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get('CIFAKE_SOURCE', ROOT.parent / 'shared' / 'cifake'))

@pytest.fixture(scope='session')
def root(): return ROOT

@pytest.fixture(scope='session')
def data_dir():
    if not DATA.exists(): pytest.skip(f'CIFAKE data not found at {DATA} (set CIFAKE_SOURCE)')
    return DATA

@pytest.fixture(scope='session')
def cifake(data_dir):
    from cifake_nb.data import load_cifake
    return load_cifake(data_dir, progress=False)
