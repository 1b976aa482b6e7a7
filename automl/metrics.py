"""Metrics by scikit-learn scorer name, computed from stored predictions.

Scores follow scikit-learn's convention (greater is better: losses are negated), so the
study always maximises. Computing from predictions, not from a fitted estimator, lets the
same metric score out-of-fold predictions and ensembles of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import get_scorer, get_scorer_names

from automl.compat import scorer_parts
from automl.errors import ConfigError
from automl.tasks import is_regression

DEFAULTS = {"binary": "roc_auc", "multiclass": "neg_log_loss", "regression": "neg_root_mean_squared_error"}
ALIASES = {
    "auc": "roc_auc",
    "rmse": "neg_root_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "mse": "neg_mean_squared_error",
    "log_loss": "neg_log_loss",
    "logloss": "neg_log_loss",
}


@dataclass(frozen=True)
class Metric:
    """A scorer's function, sign and the kind of prediction it reads."""

    name: str
    func: Callable[..., float]
    sign: int
    response: str
    kwargs: dict[str, Any]

    @property
    def display_name(self) -> str:
        return self.name.removeprefix("neg_") if self.sign < 0 else self.name

    def score(self, y: np.ndarray, prediction: np.ndarray) -> float:
        """Score ``prediction`` (class probabilities, or values for regression) against ``y``."""
        if prediction.ndim == 2:
            if self.response == "predict":
                prediction = prediction.argmax(axis=1)
            elif prediction.shape[1] == 2:
                prediction = prediction[:, 1]
            else:
                labels = {"labels": np.arange(prediction.shape[1])} if "log_loss" in self.name else {}
                return self.sign * float(self.func(y, prediction, **{**labels, **self.kwargs}))
        return self.sign * float(self.func(y, prediction, **self.kwargs))

    def display(self, score: float) -> float:
        """The score as people quote it (a loss positive again)."""
        return self.sign * score


def get_metric(name: str | None, task: str) -> Metric:
    """The metric called ``name`` (a scikit-learn scorer name or an alias), or the task's default."""
    name = ALIASES.get(name, name) if name else DEFAULTS[task]
    if task == "multiclass" and name == "roc_auc":
        name = "roc_auc_ovr"
    if name not in get_scorer_names():
        raise ConfigError(
            f"unknown metric {name!r}; use a scikit-learn scorer name such as {DEFAULTS[task]!r} (see "
            "sklearn.metrics.get_scorer_names())"
        )
    parts = scorer_parts(get_scorer(name))
    response = "predict" if parts.response_method == "predict" else "proba"
    is_classification_metric = response == "proba" or name in CLASSIFICATION_ONLY
    if is_regression(task) == is_classification_metric:
        raise ConfigError(
            f"metric {name!r} does not fit the task '{task}'; the default for it is {DEFAULTS[task]!r}"
        )
    return Metric(name=name, func=parts.score_func, sign=parts.sign, response=response, kwargs=parts.kwargs)


def check_metric(metric: Metric, task: str, y: np.ndarray) -> None:
    """Score a trivial prediction of ``y`` once: a metric that cannot score this task fails before the search."""
    sample = y
    if is_regression(task):
        prediction = np.full(len(sample), float(np.mean(sample)))
    else:
        classes = int(np.max(y)) + 1
        prediction = np.full((len(sample), classes), 1.0 / classes)
    try:
        metric.score(sample, prediction)
    except (ValueError, TypeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        hint = (
            " (for more than two classes, use its _macro or _weighted form, e.g. f1_macro)"
            if task == "multiclass"
            else ""
        )
        raise ConfigError(f"metric {metric.name!r} cannot score this {task} task: {first}{hint}") from None


CLASSIFICATION_ONLY = {
    n
    for n in get_scorer_names()
    if any(
        n.startswith(p)
        for p in (
            "accuracy",
            "balanced_accuracy",
            "f1",
            "precision",
            "recall",
            "jaccard",
            "matthews",
            "top_k",
        )
    )
}
