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


def test_mcc_threshold_hand_case():
    from mhsa_bio.metrics import mcc_threshold

    labels = np.array([1, 1, 0, 0, 1, 0])
    scores = np.array([0.9, 0.4, 0.35, 0.1, 0.3, 0.2])
    # at 0.5 only 0.9 is called: MCC 3 / sqrt(45); cutting at 0.375 (between 0.35 and 0.4) or at 0.25
    # (between 0.2 and 0.3) both give MCC 1/sqrt(2): the tie goes to the one nearer 0.5
    t, mcc = mcc_threshold(labels, scores)
    assert binary_metrics(labels, scores)["mcc"] == pytest.approx(3 / math.sqrt(45))
    assert t == pytest.approx(0.375) and mcc == pytest.approx(1 / math.sqrt(2))
    assert binary_metrics(labels, scores, threshold=t)["mcc"] == pytest.approx(mcc)
    # separable scores: any cut in the gap has MCC 1; 0.5 itself is in it, so 0.5 is kept
    assert mcc_threshold([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.8]) == (0.5, 1.0)
    # equally near 0.5 on both sides: the lower one
    assert mcc_threshold([0, 1, 0, 1], [0.125, 0.375, 0.625, 0.875])[0] == 0.25
    assert mcc_threshold([0, 1, 0, 1], [0.1, 0.3, 0.7, 0.9])[0] == pytest.approx(0.2)
    assert mcc_threshold([1, 1], [0.2, 0.3])[0] == 0.5  # one class: nothing to choose


def test_mcc_threshold_is_the_best_candidate_on_random_scores():
    from mhsa_bio.metrics import mcc_threshold

    rng = np.random.default_rng(3)
    for _ in range(50):
        labels = rng.random(30) < 0.3
        labels[:2] = [True, False]
        scores = np.round(rng.random(30), 1)  # ties
        t, mcc = mcc_threshold(labels, scores)
        grid = [g for g in np.linspace(0, 1, 201) if scores.min() < g <= scores.max()]
        assert mcc >= max(binary_metrics(labels, scores, threshold=g)["mcc"] for g in grid) - 1e-12
        assert binary_metrics(labels, scores, threshold=t)["mcc"] == pytest.approx(mcc)
