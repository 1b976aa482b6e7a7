"""Per-row, per-column contributions (SHAP values) to the chosen model's predictions.

The scale is what the estimator returns: for classification the probabilities of
``predict_proba`` (the positive class for a binary task, every class for a multiclass one), for
regression the value of ``predict``. On that scale an ensemble's contributions are its members'
contributions weighted like their predictions, and ``base_value`` plus a row's contributions is
the row's prediction, to rounding. Columns the pipelines derive from one column (its one-hot
categories, its missing-value indicator) are summed back into it; unused columns get zero.

Each member is explained by the fastest exact method its model has:

- LightGBM: its own TreeSHAP (``pred_contrib``); histogram gradient boosting (binary and
  regression) and forests: shap's ``TreeExplainer`` (path-dependent, no background needed);
- linear models: shap's ``LinearExplainer`` against a background sample of training rows;
- anything else (k-NN, the MLP, multiclass histogram boosting): permutation SHAP (the algorithm
  of shap's ``PermutationExplainer``, batched over rows) on the probabilities, against a smaller
  background sample; it is exact in its sum but its cost grows with rows x columns x background rows.

Boosted trees and logistic regression explain log-odds. Their contributions are carried to the
probability scale by integrating the softmax's Jacobian along the straight line from the base
log-odds to the row's (integrated gradients in log-odds space), which keeps each row's sum exact
and each contribution's share of the log-odds movement; the base value is then the probability at
the base log-odds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMModel
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge

from automl.ensemble import EnsembleModel
from automl.errors import ConfigError
from automl.optional import require
from automl.smoothing import laplace_weight
from automl.tasks import is_regression

#: The sampled explainer compares each row with this many of the training rows kept with the model,
#: over this many antithetic permutations.
PERMUTATION_BACKGROUND = 50
PERMUTATIONS = 2
#: The sampled explainer predicts at most about this many rows at a time.
SAMPLED_BATCH_ROWS = 200_000
#: Gauss-Legendre nodes of the log-odds-to-probability integral: exact to rounding for log-odds moves below ~60.
QUADRATURE_NODES = 128

HIST_BOOSTING = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)
FORESTS = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)


@dataclass(frozen=True)
class Explanation:
    """Contributions of each column to each row's prediction.

    Attributes
    ----------
    values : DataFrame
        One row per explained row (indexed like X), one column per column of X; for a multiclass
        task the columns are a MultiIndex ``(class, column)``.
    base_value : float or Series
        The prediction before any column is known (per class for a multiclass task);
        ``base_value`` plus a row's values is the row's prediction.
    output : str
        What the values add up to.
    methods : tuple of str
        How each model (each ensemble member, heaviest first) was explained.
    """

    values: pd.DataFrame
    base_value: float | pd.Series
    output: str
    methods: tuple[str, ...]

    def predicted(self) -> pd.Series | pd.DataFrame:
        """``base_value`` plus each row's contributions: the prediction they explain."""
        if isinstance(self.values.columns, pd.MultiIndex):
            return self.values.T.groupby(level=0, sort=False).sum().T + self.base_value
        return self.values.sum(axis=1) + self.base_value

    def importance(self) -> pd.Series:
        """Mean absolute contribution of each column (summed over the classes), largest first."""
        magnitude = self.values.abs().mean()
        if isinstance(self.values.columns, pd.MultiIndex):
            magnitude = magnitude.groupby(level=1, sort=False).sum()
        return magnitude.sort_values(ascending=False)


def explain(model: Any, features: pd.DataFrame, index: pd.Index) -> Explanation:
    """The explanation of a fitted automl estimator's predictions for ``features`` (encoded rows)."""
    shap = require("shap", "explain", "explain()")
    schema = model.schema_
    fitted = model.model_
    members, weights = (
        (fitted.members, fitted.weights) if isinstance(fitted, EnsembleModel) else ([fitted], [1.0])
    )
    regression = is_regression(model.task_)
    n_outputs = 1 if regression else len(model.classes_)
    values = np.zeros((len(features), n_outputs, len(schema.used)))
    base = np.zeros(n_outputs)
    methods = []
    for member, weight in zip(members, weights, strict=True):
        background = getattr(model, "_background", None)  # a model saved before explain() keeps none
        member_values, member_base, method = _member(shap, member, features, background, regression)
        outputs = slice(None) if regression else np.searchsorted(fitted.classes_, member.classes_)
        values[:, outputs] += weight * member_values
        base[outputs] += weight * member_base
        methods.append(method)
    if not regression:  # predict_proba's Laplace smoothing is affine in each row's probabilities
        smoothing = laplace_weight(model.n_train_rows_)
        totals = base.sum() + values.sum(axis=(1, 2))
        values *= ((1 - smoothing) / totals)[:, None, None]
        base = (1 - smoothing) * base + smoothing / n_outputs
        calibrator = getattr(model, "calibrator_", None)
        if calibrator is not None:
            values, base = _calibrated(calibrator, smoothing, values, base)
    return _explanation(model, values, base, index, tuple(methods))


def _calibrated(
    calibrator: Any, smoothing: float, values: np.ndarray, base: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A binary task's contributions rescaled, row by row, to the move of the calibrated probability.

    Each row's contributions keep their shares of its move from the base probability; the base
    becomes the calibrated base probability.
    """
    before = base[None, :] + values.sum(axis=2)
    after = calibrator.apply(before, smoothing)
    new_base = calibrator.apply(base[None, :], smoothing)[0]
    moved = before - base[None, :]
    scale = np.divide(after - new_base[None, :], moved, out=np.zeros_like(moved), where=np.abs(moved) > 1e-12)
    return values * scale[:, :, None], new_base


def _explanation(
    model: Any, values: np.ndarray, base: np.ndarray, index: pd.Index, methods: tuple[str, ...]
) -> Explanation:
    """The contributions as a table over X's columns (zero for the unused ones), for the output(s) explained."""
    schema = model.schema_
    columns = list(schema.columns)
    membership = np.zeros((len(schema.used), len(columns)))  # a date's features sum into the date's column
    for position, feature in enumerate(schema.used):
        membership[position, columns.index(schema.source(feature))] = 1.0

    def table(output: int) -> np.ndarray:
        return values[:, output] @ membership

    if is_regression(model.task_):
        return Explanation(
            pd.DataFrame(table(0), index=index, columns=list(schema.columns)),
            float(base[0]),
            "the predicted value (predict)",
            methods,
        )
    classes = list(model.classes_)
    if len(classes) == 2:
        return Explanation(
            pd.DataFrame(table(1), index=index, columns=list(schema.columns)),
            float(base[1]),
            f"the probability of class {classes[1]} (predict_proba(X)[:, 1])",
            methods,
        )
    columns = pd.MultiIndex.from_product([classes, list(schema.columns)], names=["class", "column"])
    return Explanation(
        pd.DataFrame(
            np.concatenate([table(k) for k in range(len(classes))], axis=1), index=index, columns=columns
        ),
        pd.Series(base, index=pd.Index(classes, name="class")),
        "the probability of each class (predict_proba)",
        methods,
    )


def _member(
    shap: Any, pipeline: Any, features: pd.DataFrame, background: pd.DataFrame | None, regression: bool
) -> tuple[np.ndarray, np.ndarray, str]:
    """One fitted pipeline's contributions (rows x outputs x used columns), base value(s) and method.

    Outputs are the probabilities of the pipeline's own classes, or the predicted value.
    """
    preprocess, estimator = pipeline[:-1], pipeline[-1]
    name, kind = type(estimator).__name__, _kind(estimator)

    if kind == "lightgbm":
        transformed = preprocess.transform(features)
        contributions = np.asarray(estimator.predict(transformed, pred_contrib=True), dtype=float)
        blocks = contributions.reshape(len(features), -1, transformed.shape[1] + 1)
        margins, margin_base = blocks[:, :, :-1], blocks[0, :, -1]
        method = f"{name}: TreeSHAP (pred_contrib)"
    elif kind == "boosting":
        transformed = preprocess.transform(features)
        explainer = shap.TreeExplainer(estimator)
        margins = np.asarray(explainer.shap_values(transformed, check_additivity=False))[:, None, :]
        margin_base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
        method = f"{name}: shap TreeExplainer"
    elif kind == "forest":
        transformed = preprocess.transform(features)
        explainer = shap.TreeExplainer(estimator)
        raw = np.asarray(explainer.shap_values(transformed, check_additivity=False))
        values = raw[:, None, :] if raw.ndim == 2 else raw.transpose(0, 2, 1)
        base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
        return _fold(values, preprocess, features), base, f"{name}: shap TreeExplainer"
    elif kind == "linear":
        background = _kept(background, name)
        transformed = preprocess.transform(features)
        explainer = shap.LinearExplainer(
            estimator, shap.maskers.Independent(preprocess.transform(background))
        )
        raw = np.asarray(explainer.shap_values(transformed))
        margins = raw[:, None, :] if raw.ndim == 2 else raw.transpose(0, 2, 1)
        margin_base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
        method = f"{name}: shap LinearExplainer against {len(background)} training rows"
    else:
        background = _kept(background, name)
        values, base = _sampled(pipeline, features, background, regression)
        return (
            values,
            base,
            (
                f"{name}: permutation SHAP against {min(len(background), PERMUTATION_BACKGROUND)} "
                f"training rows, {PERMUTATIONS} antithetic permutations"
            ),
        )
    if not regression:
        if margins.shape[1] == 1:  # one log-odds: the first class's is zero
            margins = np.concatenate([np.zeros_like(margins), margins], axis=1)
            margin_base = np.concatenate([[0.0], margin_base])
        margins, margin_base = _to_probability(margins, margin_base)
    return _fold(margins, preprocess, features), margin_base, method


def _kept(background: pd.DataFrame | None, name: str) -> pd.DataFrame:
    """The training rows kept with the model, which linear and sampled explanations compare with."""
    if background is None:
        raise ConfigError(
            f"explaining {name} compares rows with a sample of training rows, which this model (saved by an "
            "earlier automl) does not keep; fit it again to explain it"
        )
    return background


def _kind(estimator: Any) -> str:
    """Which method explains ``estimator``: ``lightgbm``, ``boosting``, ``forest``, ``linear`` or ``sampled``."""
    if isinstance(estimator, LGBMModel):
        return "lightgbm"
    if isinstance(estimator, HIST_BOOSTING) and estimator.n_trees_per_iteration_ == 1:
        return "boosting"
    if isinstance(estimator, FORESTS):
        return "forest"
    if isinstance(estimator, (LogisticRegression, Ridge)):
        return "linear"
    return "sampled"


def _sampled(
    pipeline: Any, features: pd.DataFrame, background: pd.DataFrame, regression: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Permutation SHAP values of any pipeline, on the encoded columns (one per used column).

    The algorithm of shap's ``PermutationExplainer``, batched over rows: along each random order
    of the columns, and along its reverse, the columns of the row replace a background row's one
    at a time, and each column is credited with how much the mean prediction over the background
    moves when it does. Each pass's credits add up to the row's prediction minus the mean
    background prediction (the base value), so their mean does too.
    """
    columns, dtype = list(features.columns), features.dtypes.iloc[0]

    def predict(rows: np.ndarray) -> np.ndarray:
        frame = pd.DataFrame(rows.astype(dtype), columns=columns)
        if regression:
            return np.asarray(pipeline.predict(frame), dtype=float).reshape(len(rows), 1)
        return np.asarray(pipeline.predict_proba(frame), dtype=float)

    X, reference = features.to_numpy(), background.to_numpy()[:PERMUTATION_BACKGROUND]
    n_columns, n_reference = X.shape[1], len(reference)
    base = predict(reference).mean(axis=0)
    values = np.zeros((len(X), len(base), n_columns))
    chunk = max(1, SAMPLED_BATCH_ROWS // ((n_columns + 1) * n_reference))
    rng = np.random.default_rng(0)
    orders = [
        order
        for _ in range(PERMUTATIONS)
        for order in [rng.permutation(n_columns)]
        for order in (order, order[::-1])
    ]
    for start in range(0, len(X), chunk):
        rows = X[start : start + chunk]
        for order in orders:
            batch = np.broadcast_to(reference, (len(rows), n_columns + 1, n_reference, n_columns)).copy()
            for step, column in enumerate(order, start=1):
                batch[:, step:, :, column] = rows[:, None, None, column]
            means = (
                predict(batch.reshape(-1, n_columns))
                .reshape(len(rows), n_columns + 1, n_reference, -1)
                .mean(axis=2)
            )
            values[start : start + chunk][:, :, order] += np.diff(means, axis=1).transpose(0, 2, 1)
    return values / len(orders), base


def _to_probability(margins: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log-odds contributions (rows x classes x columns) as probability contributions, and the base probabilities.

    Each class's probability moves from ``softmax(base)`` to ``softmax(base + total)``; the mean
    Jacobian of the softmax along that line maps the log-odds contributions onto that move exactly.
    """
    total = margins.sum(axis=2)
    nodes, node_weights = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
    identity = np.eye(margins.shape[1])
    jacobian = np.zeros((len(margins), margins.shape[1], margins.shape[1]))
    for node, weight in zip((nodes + 1) / 2, node_weights / 2, strict=True):
        p = _softmax(base + node * total)
        jacobian += weight * (p[:, :, None] * identity - p[:, :, None] * p[:, None, :])
    return np.einsum("nkj,njm->nkm", jacobian, margins), _softmax(base[None, :])[0]


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _fold(values: np.ndarray, preprocess: Any, features: pd.DataFrame) -> np.ndarray:
    """Contributions of the transformed columns summed into the encoded column each one came from."""
    sources = _sources(preprocess[-1], list(features.columns))
    membership = np.zeros((len(sources), features.shape[1]))
    membership[np.arange(len(sources)), sources] = 1.0
    return values @ membership


def _sources(transformer: ColumnTransformer, features: Sequence[str]) -> np.ndarray:
    """For each output column of the fitted ``transformer``, the position of the input column it came from."""
    position = {name: i for i, name in enumerate(features)}
    sources = []
    for _, fitted, columns in transformer.transformers_:
        if isinstance(fitted, str) and fitted == "drop":
            continue
        names = list(columns) if isinstance(fitted, str) else list(fitted.get_feature_names_out(columns))
        sources += [position[_source(name, list(columns))] for name in names]
    return np.asarray(sources, dtype=int)


def _source(output: str, inputs: list[str]) -> str:
    """The input an output column is named after: itself, ``missingindicator_<input>`` or ``<input>_<category>``."""
    if output in inputs:
        return output
    prefix = "missingindicator_"
    if output.startswith(prefix) and output[len(prefix) :] in inputs:
        return output[len(prefix) :]
    return max((c for c in inputs if output.startswith(f"{c}_")), key=len)
