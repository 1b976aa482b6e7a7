"""How well predicted probabilities match observed frequencies, and an optional map that makes them match better.

A binary task is read on the positive class's probability; a multiclass one on its top label
(the most probable class's probability against how often that class is right). Rows are
grouped into equal-width bins of probability; the expected calibration error is the row-weighted
mean gap between a bin's mean probability and its observed frequency.

``calibration="isotonic"`` or ``"sigmoid"`` (binary tasks) fits a map of the positive class's
probability on the chosen model's out-of-fold predictions, and keeps it only when it lowers their
cross-fitted log loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from automl.smoothing import smooth

#: Equal-width probability bins of the reliability diagram.
BINS = 10


@dataclass(frozen=True)
class Reliability:
    """Per bin: rows, mean predicted probability and observed frequency; and the expected calibration error."""

    table: pd.DataFrame
    ece: float
    what: str


def reliability(y: np.ndarray, proba: np.ndarray, bins: int = BINS) -> Reliability:
    """The reliability of class probabilities ``proba`` (rows x classes) for the encoded labels ``y``."""
    if proba.shape[1] == 2:
        confidence, hit, what = proba[:, 1], (y == 1).astype(float), "the positive class's probability"
    else:
        confidence = proba.max(axis=1)
        hit = (proba.argmax(axis=1) == y).astype(float)
        what = "the most probable class's probability (top label)"
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "confidence": confidence, "frequency": hit})
    table = frame.groupby("bin").agg(
        rows=("confidence", "size"), confidence=("confidence", "mean"), frequency=("frequency", "mean")
    )
    table["low"], table["high"] = edges[table.index], edges[table.index + 1]
    ece = float((table.rows * (table.confidence - table.frequency).abs()).sum() / len(y))
    return Reliability(table.reset_index(drop=True), ece, what)


#: Folds of the cross-fitting that decides whether a calibration map is kept.
CALIBRATION_FOLDS = 5
CALIBRATION_METHODS = ("isotonic", "sigmoid")


class Calibrator:
    """A map of a binary task's positive-class probability, fitted on out-of-fold predictions.

    ``isotonic``: the best non-decreasing step function; ``sigmoid``: Platt scaling, a logistic
    regression on the log-odds.
    """

    def __init__(self, method: str) -> None:
        self.method = method

    def fit(self, p: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> Calibrator:
        if self.method == "isotonic":
            self.map_: Any = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(p, y, weights)
        else:
            self.map_ = LogisticRegression(C=1e6).fit(_logit(p)[:, None], y, weights)
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            return np.asarray(self.map_.predict(p), dtype=float)
        return self.map_.predict_proba(_logit(p)[:, None])[:, 1]

    def apply(self, proba: np.ndarray, weight: float) -> np.ndarray:
        """Calibrated class probabilities, smoothed again at ``weight`` (isotonic steps reach 0 and 1)."""
        positive = self.transform(proba[:, 1])
        return smooth(np.column_stack([1 - positive, positive]), weight)


@dataclass(frozen=True)
class CalibrationResult:
    """Whether a calibration map was kept: the out-of-fold log loss without it and, cross-fitted, with it."""

    method: str
    kept: bool
    log_loss_before: float
    log_loss_after: float


def calibrate(
    method: str,
    y: np.ndarray,
    proba: np.ndarray,
    weight: float,
    seed: int | None,
    sample_weight: np.ndarray | None = None,
) -> tuple[Calibrator | None, CalibrationResult]:
    """A calibration map of out-of-fold probabilities, kept only when it lowers their log loss.

    Its log loss is cross-fitted (each fold mapped by a map fitted on the other folds), since a
    map scored on the rows it was fitted on always looks better; ``sample_weight`` weighs the rows
    in the fit and in the log loss.
    """
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    crossed = np.empty(len(y))
    folds = StratifiedKFold(CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(proba, y):
        fitted = Calibrator(method).fit(proba[train, 1], y[train], w[train])
        crossed[test] = fitted.apply(proba[test], weight)[:, 1]
    before = log_loss(y, proba[:, 1], labels=[0, 1], sample_weight=w)
    after = log_loss(y, crossed, labels=[0, 1], sample_weight=w)
    kept = after < before
    result = CalibrationResult(method, bool(kept), float(before), float(after))
    return (Calibrator(method).fit(proba[:, 1], y, w) if kept else None), result


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))
