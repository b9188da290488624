"""Tests beyond the notebook for cifake_nb.metrics: agreement with scikit-learn on random data (robustness: nbs/05_robustness.ipynb; evaluate.ipynb: tests/test_evaluate_notebook.py)."""
import json
from pathlib import Path
import numpy as np
import pytest
from sklearn import metrics as skm
from cifake_nb.metrics import (bootstrap_ci, choose_threshold, evaluate_predictions, expected_calibration_error, fake_probability,
                               fit_temperature, tpr_at_fpr)

ROOT = Path(__file__).resolve().parents[1]

def _data(n=2000, seed=0, sep=1.5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    logits = np.stack([rng.normal(0, 1, n), rng.normal(0, 1, n) + sep * (2 * y - 1)], 1)
    return y, logits

@pytest.mark.parametrize('seed', [0, 1, 2])
def test_evaluate_matches_sklearn(seed):
    y, lg = _data(seed=seed)
    p = fake_probability(lg, 1.3)
    pred = (p >= 0.45).astype(int)
    r = evaluate_predictions(y, lg, temperature=1.3, threshold=0.45, n_boot=0)
    assert r['accuracy'] == pytest.approx(skm.accuracy_score(y, pred))
    assert r['precision'] == pytest.approx(skm.precision_score(y, pred, pos_label=1))
    assert r['recall'] == pytest.approx(skm.recall_score(y, pred, pos_label=1))
    assert r['per_class']['REAL']['recall'] == pytest.approx(skm.recall_score(y, pred, pos_label=0))
    assert r['roc_auc'] == pytest.approx(skm.roc_auc_score(y, p))
    assert r['pr_auc'] == pytest.approx(skm.average_precision_score(y, p))
    assert r['confusion_matrix'] == skm.confusion_matrix(y, pred).tolist()
    json.dumps(r, allow_nan=False)  # strict JSON when every number is defined

def test_fake_is_positive_class():
    "Swapping the labels and the scores' direction must swap the per-class numbers, not leave them in place."
    y = np.array([0, 0, 1, 1, 1, 1]); p = np.array([.2, .8, .9, .7, .3, .1])
    r = evaluate_predictions(y, p, n_boot=0)
    assert r['precision'] == pytest.approx(2 / 3) and r['per_class']['REAL']['precision'] == pytest.approx(1 / 3)
    r_swapped = evaluate_predictions(1 - y, 1 - p, n_boot=0)  # REAL and FAKE exchanged
    assert r_swapped['precision'] == pytest.approx(1 / 3)
    assert r_swapped['per_class']['FAKE']['recall'] == pytest.approx(r['per_class']['REAL']['recall'])

def test_tpr_at_fpr_monotone_and_bounded():
    y, lg = _data(seed=3)
    vals = [tpr_at_fpr(y, lg, f) for f in (0.0, 0.01, 0.05, 0.2, 1.0)]
    assert all(0 <= v <= 1 for v in vals) and vals == sorted(vals) and vals[-1] == 1.0

def test_temperature_and_threshold_need_validation_arrays():
    y, lg = _data(seed=4)
    T = fit_temperature(logits_val=lg, y_val=y)
    t = choose_threshold(y_val=y, p_val=fake_probability(lg, T))
    assert 0.05 <= T <= 20 and 0 < t < 1
    with pytest.raises(TypeError): evaluate_predictions(y, lg, fit=True)  # evaluation has no way to fit on its own data

def test_ece_zero_when_calibrated_in_every_bin():
    y = np.array([1] * 9 + [0] * 1 + [0] * 9 + [1] * 1)
    p = np.array([0.9] * 10 + [0.1] * 10)  # 90% confidence, 90% right
    assert expected_calibration_error(y, p) == pytest.approx(0.0, abs=1e-12)

def test_bootstrap_seeded_and_ordered():
    y, lg = _data(seed=5)
    a, b = bootstrap_ci(y, lg, n_boot=200, seed=7), bootstrap_ci(y, lg, n_boot=200, seed=7)
    assert a == b and a['accuracy'][0] < a['accuracy'][1] and a['roc_auc'][0] < a['roc_auc'][1]
