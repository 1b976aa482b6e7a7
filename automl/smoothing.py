"""Laplace smoothing of class probabilities, so one surprising row cannot cost unbounded log loss.

A model trained on ``n`` rows has no evidence that a class is impossible, only that it was not
seen; Laplace's rule of succession gives such a class a probability near ``1 / (n + 1)``. Mixing
the model's probabilities with the uniform distribution at that weight keeps every class above
``1 / (k (n + 1))``: a confidently wrong answer then costs at most ``log(k (n + 1))`` instead of
35 nats, and a confidently right one gives up only about ``1 / (n + 1)``. The mixture keeps each
column's ranking, so ROC AUC and the predicted class are unchanged.
"""

from __future__ import annotations

import numpy as np


def laplace_weight(n_rows: int) -> float:
    """The uniform distribution's share in the mixture, for a model trained on ``n_rows`` rows."""
    return 1.0 / (n_rows + 1)


def smooth(proba: np.ndarray, weight: float) -> np.ndarray:
    """``proba`` (rows of class probabilities) mixed with the uniform distribution at ``weight``.

    Rows are renormalised first, in float64: a model fed float32 features returns float32
    probabilities, whose rows miss summing to 1 by more than log loss accepts.
    """
    proba = np.asarray(proba, dtype=np.float64)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return (1.0 - weight) * proba + weight / proba.shape[1]
