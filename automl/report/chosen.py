"""What the report shows of the chosen model: its out-of-fold predictions and its feature importances."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.ensemble import blend
from automl.tasks import is_regression

#: Permutation importance is computed on at most this many training rows, to keep the report fast;
#: wide data gets fewer (rows x columns^2 shuffled cells at most), but never under the minimum.
PERMUTATION_ROWS = 1000
PERMUTATION_CELLS = 4_000_000
MIN_PERMUTATION_ROWS = 100
PERMUTATION_REPEATS = 3


class Unavailable(Exception):
    """A part of the report cannot be drawn for this model; the message says why, for the reader."""


def out_of_fold(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """(encoded target, the chosen model's out-of-fold prediction), as cross-validation saw them."""
    if not hasattr(model, "_train") or not hasattr(model, "oof_"):
        raise Unavailable(
            "The out-of-fold predictions and the training target are not saved with a model; "
            "write the report right after fit() to see these plots."
        )
    weights = model.chosen_.members
    missing = [n for n in weights if n not in model.oof_.predictions]
    if missing:
        raise Unavailable(
            f"The out-of-fold predictions of trial(s) {missing} were not kept "
            f"(only the best {model.oof_.keep} trials' are)."
        )
    return model._train[1][model.oof_rows_], blend(model.oof_.predictions, weights)


def feature_importances(model: Any) -> tuple[pd.Series, str]:
    """Importances by feature, largest first, and how they were obtained.

    The estimator's own importances are free; permutation importance on a sample of the
    training rows covers every other model (k-NN, MLP, ensembles).
    """
    pipeline = model.model_
    estimator = pipeline[-1] if hasattr(pipeline, "steps") else None
    if estimator is not None and (hasattr(estimator, "feature_importances_") or hasattr(estimator, "coef_")):
        names = [model.schema_.readable(str(n)) for n in pipeline[:-1].get_feature_names_out()]
        if hasattr(estimator, "feature_importances_"):
            values = np.asarray(estimator.feature_importances_, dtype=float)
            how = f"model-native: feature_importances_ of {type(estimator).__name__}, on the encoded features"
        else:
            values = np.abs(np.atleast_2d(estimator.coef_)).mean(axis=0)
            how = f"model-native: |coefficient| of {type(estimator).__name__}, on the encoded features"
        return pd.Series(values, index=names).sort_values(ascending=False), how
    if not hasattr(model, "_train"):
        raise Unavailable(
            f"{type(estimator or pipeline).__name__} has no importances of its own, and permutation "
            "importance needs the training data, which a saved model does not keep."
        )
    X, y = model._train[:2]
    n_rows = min(len(X), PERMUTATION_ROWS, max(MIN_PERMUTATION_ROWS, PERMUTATION_CELLS // X.shape[1] ** 2))
    rows = np.random.default_rng(0).permutation(len(X))[:n_rows]
    how = (
        f"permutation importance: how much worse {model.metric_.display_name} gets when a column is shuffled, "
        f"on {n_rows:,} training rows, mean of {PERMUTATION_REPEATS} shuffles"
    )
    return _permutation_importance(model, X.iloc[rows].reset_index(drop=True), y[rows]).sort_values(
        ascending=False
    ), how


def _permutation_importance(model: Any, X: pd.DataFrame, y: np.ndarray) -> pd.Series:
    """Score lost when each column is shuffled; works for any fitted model, ensembles included.

    All shuffled copies of one repeat go through a single prediction call, which costs far
    less than one call per column.
    """
    rng = np.random.default_rng(0)
    if is_regression(model.task_):

        def predict(frame: pd.DataFrame) -> np.ndarray:
            return np.asarray(model.model_.predict(frame), dtype=float)
    else:
        predict = model._proba
    baseline = model.metric_.score(y, predict(X))
    n = len(X)
    drops = np.zeros(X.shape[1])
    for _ in range(PERMUTATION_REPEATS):
        shuffled = pd.concat(
            [X.assign(**{column: rng.permutation(X[column].to_numpy())}) for column in X.columns],
            ignore_index=True,
        )
        predictions = predict(shuffled)
        drops += [
            baseline - model.metric_.score(y, predictions[i * n : (i + 1) * n]) for i in range(X.shape[1])
        ]
    return pd.Series(drops / PERMUTATION_REPEATS, index=X.columns)
