"""Ensemble selection (Caruana et al., 2004) over the out-of-fold predictions of the best trials."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import KFold

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
    return _weights(_picks(predictions, y, metric, size, costs or {}, allowance, weight))


def _weights(picks: list[int]) -> dict[int, float]:
    """Each picked trial's share of the picks."""
    return {number: count / len(picks) for number, count in Counter(picks).items()}


def _picks(
    predictions: Mapping[int, np.ndarray],
    y: np.ndarray,
    metric: Metric,
    size: int,
    costs: Mapping[int, float],
    allowance: float,
    weight: np.ndarray | None,
) -> list[int]:
    """Ensemble selection's picks, in order, up to its best-scoring ensemble (empty without predictions)."""
    numbers = list(predictions)
    if not numbers:
        return []
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
    return picks[:best_length]


#: Folds of the cross-fitting that tells whether an ensemble beats its best member on rows it was not selected on.
CROSS_FIT_FOLDS = 5
#: On a large table, ensemble selection is judged on a fixed sample of this many rows: enough to tell, and quick.
SAMPLE_ROWS = 20_000


def sampled_rows(n: int) -> np.ndarray | None:
    """The same ``SAMPLE_ROWS`` of ``n`` rows every time, in order; None when there are no more than that."""
    return (
        np.sort(np.random.default_rng(0).choice(n, SAMPLE_ROWS, replace=False)) if n > SAMPLE_ROWS else None
    )


def cross_fitted_gain(
    predictions: Mapping[int, np.ndarray],
    y: np.ndarray,
    metric: Metric,
    size: int,
    costs: Mapping[int, float] | None = None,
    allowance: float = math.inf,
    weight: np.ndarray | None = None,
) -> float:
    """How much ensemble selection of ``size`` picks beats the best single trial on rows it did not select on.

    Selection scores its blends on the very rows it picks them by, so on a small table its
    score is optimistic and a blend of near-equals can look better than it is. Here each fold's
    rows are blended with the weights selected on the other folds, and the score of these blends
    is compared with the best single trial's on the same rows. ``size`` is best the number of picks
    the selection on all rows made: more would cost time for blends it found no better.
    """
    rows = sampled_rows(len(y))
    if rows is not None:
        predictions = {number: prediction[rows] for number, prediction in predictions.items()}
        y, weight = y[rows], None if weight is None else weight[rows]
    crossed = np.zeros_like(next(iter(predictions.values())), dtype=float)
    for train, test in KFold(CROSS_FIT_FOLDS, shuffle=True, random_state=0).split(y):
        weights = ensemble_selection(
            {number: prediction[train] for number, prediction in predictions.items()},
            y[train],
            metric,
            size,
            costs,
            allowance,
            None if weight is None else weight[train],
        )
        crossed[test] = blend({number: predictions[number][test] for number in weights}, weights)
    single = max(metric.score(y, prediction, weight) for prediction in predictions.values())
    return metric.score(y, crossed, weight) - single


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
    """The ensemble of the best complete trials, when it has two members or more and beats the best
    of them on rows it was not selected on (``cross_fitted_gain``); else None.

    ``spec`` holds the preset's ``candidates`` (how many trials to consider) and ``size``
    (selection steps); ``refit_cost`` of a leaderboard row is its expected refit time, and
    the members' summed refit time stays within ``allowance`` seconds.
    """
    top = diverse_candidates(complete, int(spec.get("candidates", 20)))
    kept = {n: predictions[n] for n in top["number"] if n in predictions}
    costs = {row.number: refit_cost(row) for row in top.itertuples()}
    picks = _picks(kept, y, metric, int(spec.get("size", 20)), costs, allowance, weight)
    weights = _weights(picks)
    if len(weights) < 2 or cross_fitted_gain(kept, y, metric, len(picks), costs, allowance, weight) <= 0:
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
