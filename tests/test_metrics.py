import math

import numpy as np
import pytest

from mhsa_bio.metrics import auprc, binary_metrics, multiclass_metrics
from mhsa_bio.stats import auroc


def test_auroc_hand_cases():
    assert auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert auroc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert auroc([0, 1], [0.5, 0.5]) == 0.5
    # one inversion among 2 x 2 pairs
    assert auroc([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(0.75)
    assert math.isnan(auroc([1, 1], [0.2, 0.3]))


def test_auprc_hand_case():
    # ranked: 1 (P=1, R=.5), 0, 1 (P=2/3, R=1) -> AP = .5*1 + .5*2/3
    assert auprc([1, 0, 1], [0.9, 0.8, 0.7]) == pytest.approx(0.5 + 1 / 3)
    assert auprc([1, 0], [0.5, 0.5]) == pytest.approx(0.5)


def test_binary_metrics_confusion():
    labels = np.array([1, 1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.2, 0.1, 0.6, 0.3])
    m = binary_metrics(labels, scores)
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["mcc"] == pytest.approx((2 * 2 - 1 * 1) / math.sqrt(3 * 3 * 3 * 3))


def test_multiclass_metrics_perfect():
    probs = np.eye(3)[[0, 1, 2, 1]]
    m = multiclass_metrics(np.array([0, 1, 2, 1]), probs)
    assert m["accuracy"] == 1.0 and m["auroc"] == 1.0 and m["auprc"] == 1.0
