"""Metrics by scikit-learn scorer name, scorer object or function, computed from stored predictions.

Scores follow scikit-learn's convention (greater is better: losses are negated), so the
study always maximises. Computing from predictions, not from a fitted estimator, lets the
same metric score out-of-fold predictions and ensembles of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import cloudpickle
import numpy as np
from sklearn.metrics import get_scorer, get_scorer_names, make_scorer, roc_auc_score

from automl.compat import is_scorer, scorer_parts
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
    #: A user's metric sees the original class labels, not automl's codes for them.
    labels: tuple[Any, ...] | None = None
    custom: bool = False

    def __getstate__(self) -> dict[str, Any]:
        """Picklable with a user's function too (a lambda, or one defined in a notebook)."""
        return {**self.__dict__, "func": cloudpickle.dumps(self.func)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({**state, "func": cloudpickle.loads(state["func"])})

    def for_labels(self, labels: Any) -> Metric:
        """This metric reading ``labels`` for automl's class codes 0, 1, ... (a user's metric only)."""
        return replace(self, labels=tuple(labels)) if self.custom else self

    @property
    def display_name(self) -> str:
        return self.name.removeprefix("neg_") if self.sign < 0 else self.name

    def score(self, y: np.ndarray, prediction: np.ndarray, weight: np.ndarray | None = None) -> float:
        """Score ``prediction`` (probabilities, or regression values) against ``y``, rows weighted by ``weight``."""
        kwargs = self.kwargs if weight is None else {**self.kwargs, "sample_weight": weight}
        if prediction.ndim == 2:
            if self.response == "predict":
                prediction = prediction.argmax(axis=1)
            elif prediction.shape[1] == 2:
                prediction = prediction[:, 1]
            elif "log_loss" in self.name:
                kwargs = {"labels": np.arange(prediction.shape[1]), **kwargs}
        fast = FAST.get(self.name) if not (self.custom or self.kwargs) else None
        if fast is not None and np.isfinite(prediction).all():
            return self.sign * fast(np.asarray(y), prediction, weight)
        if self.labels is not None:
            decode = np.asarray(self.labels, dtype=object)
            y = decode[np.asarray(y, dtype=int)]
            if self.response == "predict":
                prediction = decode[np.asarray(prediction, dtype=int)]
        return self.sign * float(self.func(y, prediction, **kwargs))

    def display(self, score: float) -> float:
        """The score as people quote it (a loss positive again)."""
        return self.sign * score


def _roc_auc(y: np.ndarray, score: np.ndarray, weight: np.ndarray | None) -> float:
    """The chance that a positive row scores above a negative one, ties counting half (rows weighted)."""
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float)
    _, level = np.unique(score, return_inverse=True)
    positive = np.bincount(level, w * (y == 1))
    negative = np.bincount(level, w * (y != 1))
    if not (((y == 0) | (y == 1)).all() and positive.sum() > 0 and negative.sum() > 0):
        return float(roc_auc_score(y, score, sample_weight=weight))  # raises scikit-learn's error
    below = np.cumsum(negative) - negative
    return float(np.sum(positive * (below + negative / 2)) / (positive.sum() * negative.sum()))


def _log_loss(y: np.ndarray, proba: np.ndarray, weight: np.ndarray | None) -> float:
    """Mean negative log probability of the true class, clipped as scikit-learn clips it."""
    y = np.asarray(y, dtype=int)
    picked = np.where(y == 1, proba, 1 - proba) if proba.ndim == 1 else proba[np.arange(len(y)), y]
    eps = np.finfo(proba.dtype if np.issubdtype(proba.dtype, np.floating) else float).eps
    return float(np.average(-np.log(np.clip(picked, eps, 1 - eps)), weights=weight))


def _rmse(y: np.ndarray, prediction: np.ndarray, weight: np.ndarray | None) -> float:
    return float(np.sqrt(np.average((y - prediction) ** 2, weights=weight)))


def _accuracy(y: np.ndarray, prediction: np.ndarray, weight: np.ndarray | None) -> float:
    return float(np.average(y == prediction, weights=weight))


#: The default metrics computed in NumPy, without scikit-learn's input checks: ensemble selection
#: scores thousands of blends, and those checks took most of its time. Each equals scikit-learn's.
FAST: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray | None], float]] = {
    "roc_auc": _roc_auc,
    "neg_log_loss": _log_loss,
    "neg_root_mean_squared_error": _rmse,
    "accuracy": _accuracy,
}


def get_metric(name: Any, task: str) -> Metric:
    """The metric ``name``: a scikit-learn scorer name or an alias, a scorer object, a function, or the default.

    A function ``f(y_true, y_pred) -> float`` is read as greater-is-better and scored on
    predicted labels (values for regression); wrap it in ``sklearn.metrics.make_scorer`` for a loss
    (``greater_is_better=False``) or to score probabilities (``response_method="predict_proba"``).
    """
    if callable(name):
        return _custom(name)
    name = ALIASES.get(name, name) if name else DEFAULTS[task]
    if task == "multiclass" and name == "roc_auc":
        name = "roc_auc_ovr"
    if name not in get_scorer_names():
        raise ConfigError(
            f"unknown metric {name!r}; use a scikit-learn scorer name such as {DEFAULTS[task]!r} (see "
            "sklearn.metrics.get_scorer_names()), a scorer from make_scorer, or a function (y_true, y_pred)"
        )
    parts = scorer_parts(get_scorer(name))
    response = "predict" if parts.response_method == "predict" else "proba"
    is_classification_metric = response == "proba" or name in CLASSIFICATION_ONLY
    if is_regression(task) == is_classification_metric:
        raise ConfigError(
            f"metric {name!r} does not fit the task '{task}'; the default for it is {DEFAULTS[task]!r}"
        )
    return Metric(name=name, func=parts.score_func, sign=parts.sign, response=response, kwargs=parts.kwargs)


def _custom(function: Any) -> Metric:
    """A user's scorer object (from ``make_scorer``) or plain function as a Metric."""
    try:
        parts = scorer_parts(function if is_scorer(function) else make_scorer(function))
    except (AttributeError, TypeError):
        raise ConfigError(
            f"metric {function!r} is neither a scikit-learn scorer nor a function (y_true, y_pred) -> float"
        ) from None
    methods = (parts.response_method,) if isinstance(parts.response_method, str) else parts.response_method
    response = "predict" if "predict" in methods else "proba"
    name = getattr(parts.score_func, "__name__", "custom metric")
    name = "custom metric" if name == "<lambda>" else name
    return Metric(name, parts.score_func, parts.sign, response, parts.kwargs, custom=True)


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
    except Exception as error:  # a user's metric may raise anything; the search must not start on it
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
