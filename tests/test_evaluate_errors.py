"""Bad input to the evaluation notebook stops it early with a message naming the problem."""
import json
from pathlib import Path
import numpy as np, pytest
from PIL import Image

pm = pytest.importorskip('papermill')
ROOT = Path(__file__).resolve().parent.parent

def _run(tmp_path, **params):
    params = {'out_dir': str(tmp_path / 'eval'), 'robustness': False, 'cam': False, 'n_boot': 0, **params}
    pm.execute_notebook(str(ROOT / 'nbs' / 'evaluate.ipynb'), str(tmp_path / 'out.ipynb'), parameters=params,
                        cwd=str(ROOT), progress_bar=False, kernel_name='python3')

@pytest.fixture
def tiny_ckpt(tmp_path):
    from cifake_nb.models import create_model
    from cifake_nb.train import save_checkpoint
    def make(**meta_over):
        d = tmp_path / f'ck{len(list(tmp_path.glob("ck*")))}'
        meta = {'model': 'speednet', 'model_kwargs': {'widths': [8, 8, 8, 8]}, 'label_names': ['REAL', 'FAKE'], 'input_size': [32, 32], **meta_over}
        save_checkpoint(create_model('speednet', widths=(8, 8, 8, 8)), d / 'model.safetensors', meta)
        return d
    return make

def test_missing_checkpoint(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match='checkpoint\\(s\\) not found'):
        _run(tmp_path, checkpoints=[str(tmp_path / 'no-such-run')])

def test_label_names_that_do_not_match(tmp_path, tiny_ckpt, data_dir):
    with pytest.raises(pm.PapermillExecutionError, match="label names \\['FAKE', 'REAL'\\] differ"):
        _run(tmp_path, checkpoints=[str(tiny_ckpt(label_names=['FAKE', 'REAL']))], data_source=str(data_dir), limit_test=200, limit_val=200)

def test_input_size_that_does_not_match(tmp_path, tiny_ckpt, data_dir):
    with pytest.raises(pm.PapermillExecutionError, match='input_size \\[64, 64\\] != data image size \\[32, 32\\]'):
        _run(tmp_path, checkpoints=[str(tiny_ckpt(input_size=[64, 64]))], data_source=str(data_dir), limit_test=200, limit_val=200)

def test_empty_test_split(tmp_path, tiny_ckpt):
    root = tmp_path / 'kaggle'
    for c in ('REAL', 'FAKE'):
        (root / 'train' / c).mkdir(parents=True); (root / 'test' / c).mkdir(parents=True)
        for i in range(3): Image.fromarray(np.full((32, 32, 3), 40 * i, np.uint8)).save(root / 'train' / c / f'{i}.png')
    with pytest.raises(pm.PapermillExecutionError, match="split 'test' of .* holds no images"):
        _run(tmp_path, checkpoints=[str(tiny_ckpt())], data_source=str(root))
