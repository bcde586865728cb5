"""Classification metrics on held-out scores: AUROC, AUPRC, accuracy, Sn, Sp, MCC."""

from __future__ import annotations

import math

import numpy as np

from mhsa_bio.stats import auroc


def auprc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: Σ (R_k − R_{k−1}) P_k over score thresholds (ties form one step)."""
    labels = np.asarray(labels, dtype=bool)
    n_pos = int(labels.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=float), kind="mergesort")
    s = np.asarray(scores, dtype=float)[order]
    y = labels[order]
    tp = np.cumsum(y)
    fp = np.cumsum(~y)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), y.size - 1]  # last index of each tie group
    precision = tp[last] / (tp[last] + fp[last])
    recall = tp[last] / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def binary_metrics(labels: np.ndarray, scores: np.ndarray, *, threshold: float = 0.5) -> dict[str, float]:
    """AUROC, AUPRC, and accuracy, sensitivity, specificity and MCC at ``threshold``."""
    labels = np.asarray(labels, dtype=bool)
    pred = np.asarray(scores) >= threshold
    tp = int(np.sum(pred & labels))
    tn = int(np.sum(~pred & ~labels))
    fp = int(np.sum(pred & ~labels))
    fn = int(np.sum(~pred & labels))
    denom = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {
        "auroc": auroc(labels, scores),
        "auprc": auprc(labels, scores),
        "accuracy": (tp + tn) / max(labels.size, 1),
        "sensitivity": tp / (tp + fn) if tp + fn else float("nan"),
        "specificity": tn / (tn + fp) if tn + fp else float("nan"),
        "mcc": (tp * tn - fp * fn) / denom if denom else 0.0,
        "threshold": threshold,
        "n_positive": tp + fn,
        "n_negative": tn + fp,
    }


def multiclass_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Accuracy and macro one-vs-rest AUROC / AUPRC for (N, C) class probabilities."""
    labels = np.asarray(labels)
    n_classes = probs.shape[1]
    if n_classes == 2:
        return binary_metrics(labels == 1, probs[:, 1])
    aurocs = [auroc(labels == c, probs[:, c]) for c in range(n_classes)]
    auprcs = [auprc(labels == c, probs[:, c]) for c in range(n_classes)]
    return {
        "auroc": float(np.nanmean(aurocs)),
        "auprc": float(np.nanmean(auprcs)),
        "accuracy": float(np.mean(probs.argmax(1) == labels)),
    }


def mcc_threshold(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The probability threshold that maximises MCC on (labels, scores), and that MCC.

    A record is called positive when its score is ``>= threshold``. The candidates are 0.5 and
    the midpoints between consecutive distinct scores; among those with the highest MCC the one
    nearest 0.5 wins, and of two equally near the lower. With a single class present the answer
    is 0.5 (nothing to choose on).
    """
    labels = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=float)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return 0.5, binary_metrics(labels, s)["mcc"]
    distinct = np.unique(s)
    cand = np.unique(np.r_[0.5, (distinct[:-1] + distinct[1:]) / 2])
    # records called positive at each candidate: scores >= t, counted from the sorted scores
    order = np.argsort(s, kind="mergesort")
    sorted_s, sorted_y = s[order], labels[order]
    below = np.searchsorted(sorted_s, cand, side="left")  # records with score < t
    pos_below = np.r_[0, np.cumsum(sorted_y)][below]
    tp = n_pos - pos_below
    fp = (labels.size - below) - tp
    fn = n_pos - tp
    tn = n_neg - fp
    denom = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mcc = np.where(denom > 0, (tp * tn - fp * fn) / np.where(denom > 0, denom, 1), 0.0)
    best = mcc.max()
    tied = np.flatnonzero(mcc >= best - 1e-12)
    dist = np.round(np.abs(cand[tied] - 0.5), 12)  # equally near up to rounding: a tie
    pick = tied[np.lexsort((cand[tied], dist))[0]]
    return float(cand[pick]), float(mcc[pick])
