"""Ensemble selection (Caruana et al., 2004) over the out-of-fold predictions of the best trials."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from automl.candidates import Candidate
from automl.metrics import Metric


def diverse_candidates(complete: pd.DataFrame, count: int) -> pd.DataFrame:
    """The ``count`` best trials taken round-robin over families: each family's best, then second best...

    A search that favours one family can fill its top 20 with near copies of one model, which
    leaves ensemble selection nothing to combine.
    """
    rank = complete.groupby("family")["score"].rank(ascending=False, method="first")
    return complete.assign(rank=rank).sort_values(["rank", "score"], ascending=[True, False]).head(count)


def ensemble_selection(
    predictions: Mapping[int, np.ndarray],
    y: np.ndarray,
    metric: Metric,
    size: int,
    costs: Mapping[int, float] | None = None,
    allowance: float = math.inf,
    weight: np.ndarray | None = None,
) -> dict[int, float]:
    """Greedy forward selection with replacement; returns trial number -> weight (weights sum to 1).

    Starts from the best single trial and adds, up to ``size`` times, the trial whose addition
    scores best on the averaged out-of-fold predictions; the best-scoring of these ensembles
    is returned, so it never scores below the best single trial. With ``costs``, a trial not
    yet in the ensemble joins only while the members' summed cost stays within ``allowance``
    (the best single trial always stands), so one pass respects a refit time limit. ``weight``:
    the rows' sample weights in every score.
    """
    numbers = list(predictions)
    if not numbers:
        return {}
    costs = costs or {}
    total = np.zeros_like(predictions[numbers[0]], dtype=float)
    picks: list[int] = []
    spent, best_score, best_length = 0.0, -np.inf, 1
    for _ in range(max(size, 1)):
        affordable = [n for n in numbers if not picks or n in picks or spent + costs.get(n, 0.0) <= allowance]
        scores = [metric.score(y, (total + predictions[n]) / (len(picks) + 1), weight) for n in affordable]
        best = int(np.argmax(scores))
        pick = affordable[best]
        if pick not in picks:
            spent += costs.get(pick, 0.0)
        picks.append(pick)
        total += predictions[pick]
        if scores[best] > best_score:
            best_score, best_length = scores[best], len(picks)
    counts = Counter(picks[:best_length])
    return {number: count / best_length for number, count in counts.items()}


def ensemble_candidate(
    complete: pd.DataFrame,
    predictions: Mapping[int, np.ndarray],
    y: np.ndarray,
    metric: Metric,
    spec: Mapping[str, Any],
    refit_cost: Callable[[Any], float],
    allowance: float,
    weight: np.ndarray | None = None,
) -> Candidate | None:
    """The ensemble of the best complete trials, when it has two members or more; else None.

    ``spec`` holds the preset's ``candidates`` (how many trials to consider) and ``size``
    (selection steps); ``refit_cost`` of a leaderboard row is its expected refit time, and
    the members' summed refit time stays within ``allowance`` seconds.
    """
    top = diverse_candidates(complete, int(spec.get("candidates", 20)))
    kept = {n: predictions[n] for n in top["number"] if n in predictions}
    costs = {row.number: refit_cost(row) for row in top.itertuples()}
    weights = ensemble_selection(kept, y, metric, int(spec.get("size", 20)), costs, allowance, weight)
    if len(weights) < 2:
        return None
    score = metric.score(y, blend(kept, weights), weight)
    return Candidate.ensemble(complete.set_index("number"), weights, score)


def blend(predictions: Mapping[int, np.ndarray], weights: Mapping[int, float]) -> np.ndarray:
    """The weighted average of the predictions (probabilities or values) of the trials in ``weights``."""
    return np.sum([weights[n] * predictions[n] for n in weights], axis=0)


class EnsembleModel(BaseEstimator):
    """A weighted average of fitted pipelines: probabilities for classifiers, values for regressors.

    Parameters
    ----------
    members : list of fitted pipelines
        The same task; classifiers may have seen different subsets of the classes.
    weights : list of float
        One per member, summing to 1.
    """

    def __init__(self, members: Sequence[Any], weights: Sequence[float]) -> None:
        self.members = members
        self.weights = weights

    @property
    def classes_(self) -> np.ndarray:
        return self.members[0].classes_

    def predict_proba(self, X: Any) -> np.ndarray:
        n_classes = len(self.classes_)
        total = np.zeros((len(X), n_classes))
        for member, weight in zip(self.members, self.weights, strict=True):
            total[:, np.searchsorted(self.classes_, member.classes_)] += weight * member.predict_proba(X)
        return total

    def predict(self, X: Any) -> np.ndarray:
        if hasattr(self.members[0], "predict_proba"):
            return self.classes_[self.predict_proba(X).argmax(axis=1)]
        values = [
            w * np.asarray(m.predict(X), dtype=float) for m, w in zip(self.members, self.weights, strict=True)
        ]
        return np.sum(values, axis=0)
