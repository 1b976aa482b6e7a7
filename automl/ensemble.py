"""Ensemble selection (Caruana et al., 2004) over the out-of-fold predictions of the best trials."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from automl.metrics import Metric


def ensemble_selection(predictions: Mapping[int, np.ndarray], y: np.ndarray, metric: Metric, size: int) -> dict[int, float]:
    """Greedy forward selection with replacement; returns trial number -> weight (weights sum to 1).

    Starts from the best single trial and adds, up to ``size`` times, the trial whose addition
    scores best on the averaged out-of-fold predictions; the best-scoring of these ensembles
    is returned, so it never scores below the best single trial.
    """
    numbers = list(predictions)
    if not numbers:
        return {}
    total = np.zeros_like(predictions[numbers[0]], dtype=float)
    picks: list[int] = []
    best_score, best_length = -np.inf, 1
    for _ in range(max(size, 1)):
        scores = [metric.score(y, (total + predictions[n]) / (len(picks) + 1)) for n in numbers]
        pick = int(np.argmax(scores))
        picks.append(numbers[pick])
        total += predictions[numbers[pick]]
        if scores[pick] > best_score:
            best_score, best_length = scores[pick], len(picks)
    counts = Counter(picks[:best_length])
    return {number: count / best_length for number, count in counts.items()}


def blend(predictions: Mapping[int, np.ndarray], weights: Mapping[int, float]) -> np.ndarray:
    return sum(weights[n] * predictions[n] for n in weights)


class EnsembleModel(BaseEstimator):
    """A weighted average of fitted pipelines: probabilities for classifiers, values for regressors."""

    def __init__(self, members: Sequence[Any], weights: Sequence[float]) -> None:
        self.members = members
        self.weights = weights

    @property
    def classes_(self) -> np.ndarray:
        return self.members[0].classes_

    def predict_proba(self, X: Any) -> np.ndarray:
        n_classes = len(self.classes_)
        total = np.zeros((len(X), n_classes))
        for member, weight in zip(self.members, self.weights):
            total[:, np.searchsorted(self.classes_, member.classes_)] += weight * member.predict_proba(X)
        return total

    def predict(self, X: Any) -> np.ndarray:
        if hasattr(self.members[0], "predict_proba"):
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        return sum(w * np.asarray(m.predict(X), dtype=float) for m, w in zip(self.members, self.weights))
