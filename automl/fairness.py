"""A fairness audit: the chosen model's out-of-fold predictions scored per group of each sensitive column.

Each sensitive column is audited on its own (not their intersections), with fairlearn's
``MetricFrame``: rows, the task metric, and for classification the accuracy, the selection rate
(the share predicted positive: the second class for a binary task) and the true and false
positive rates of a binary task; for regression the mean error (bias) and the mean absolute
error. A numeric column with more than ``MAX_GROUPS`` values is cut into quartiles. Each column's
groups are followed by a ``largest gap`` row: the largest difference between two of its groups.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from automl.errors import ConfigError
from automl.metrics import Metric
from automl.optional import require
from automl.tasks import is_regression

#: A numeric sensitive column with more distinct values than this is grouped by quartile.
MAX_GROUPS = 10
GAP = "largest gap"
MISSING = "(missing)"


def check_columns(sensitive: Sequence[str] | None, columns: Sequence[str]) -> list[str]:
    """The sensitive columns, each one a column of X (a ConfigError naming any that is not), with fairlearn installed.

    Checked before the search, so that neither mistake costs a search.
    """
    names = list(sensitive or [])
    if names:
        require("fairlearn.metrics", "fairness", "sensitive_features")
    unknown = [name for name in names if name not in columns]
    if unknown:
        raise ConfigError(
            f"sensitive_features {unknown} are not columns of X; choose among {list(columns)[:20]}"
        )
    return names


def audit(
    frame: pd.DataFrame,
    sensitive: Sequence[str],
    y: np.ndarray,
    prediction: np.ndarray,
    task: str,
    metric: Metric,
    weights: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per-group metrics of ``prediction`` (out-of-fold probabilities or values of the rows of ``frame``).

    With sample ``weights`` every metric but the row count is weighted.

    Returns a DataFrame indexed by (column, group), one column per metric, with a ``largest gap``
    row after each column's groups.
    """
    fairlearn = require("fairlearn.metrics", "fairness", "sensitive_features")
    metrics = _metrics(fairlearn, task, metric, prediction, weights)
    rows = np.arange(len(y))
    parts = []
    for column in sensitive:
        groups = _groups(frame[column])
        found = fairlearn.MetricFrame(metrics=metrics, y_true=y, y_pred=rows, sensitive_features=groups)
        table = found.by_group
        gap = found.difference(method="between_groups")
        gap["rows"] = np.nan
        table = pd.concat([table, gap.to_frame(GAP).T])
        table.index = pd.MultiIndex.from_product(
            [[column], table.index.astype(str)], names=["column", "group"]
        )
        parts.append(table)
    return pd.concat(parts)


def _metrics(
    fairlearn: Any, task: str, metric: Metric, prediction: np.ndarray, weights: np.ndarray | None
) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """Each metric as fairlearn calls it: on the true values and the positions of the group's rows."""
    w = np.ones(len(prediction)) if weights is None else weights

    def task_metric(truth: np.ndarray, rows: np.ndarray) -> float:
        try:
            return metric.display(metric.score(truth, prediction[rows], None if weights is None else w[rows]))
        except (ValueError, ZeroDivisionError):  # a group with one class has no ROC AUC, for example
            return float("nan")

    metrics: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
        "rows": lambda truth, rows: float(len(rows)),
        metric.display_name: task_metric,
    }
    if is_regression(task):
        metrics["mean error"] = lambda truth, rows: _mean(prediction[rows] - truth, w[rows])
        metrics["mean absolute error"] = lambda truth, rows: _mean(np.abs(prediction[rows] - truth), w[rows])
        return metrics
    predicted = prediction.argmax(axis=1)
    metrics["accuracy"] = lambda truth, rows: _mean(predicted[rows] == truth, w[rows])
    if prediction.shape[1] == 2:
        metrics["selection rate"] = lambda truth, rows: fairlearn.selection_rate(
            truth, predicted[rows], sample_weight=w[rows]
        )
        metrics["true positive rate"] = lambda truth, rows: _mean(predicted[rows] == 1, w[rows], truth == 1)
        metrics["false positive rate"] = lambda truth, rows: _mean(predicted[rows] == 1, w[rows], truth == 0)
    return metrics


def _mean(values: np.ndarray, weights: np.ndarray, among: np.ndarray | None = None) -> float:
    """The weighted mean of ``values`` (over the rows ``among``); NaN where those rows weigh nothing."""
    if among is not None:
        values, weights = values[among], weights[among]
    total = float(weights.sum())
    return float(np.dot(values.astype(float), weights) / total) if total > 0 else float("nan")


def _groups(column: pd.Series) -> pd.Series:
    """A sensitive column's groups: its values (quartiles of a many-valued numeric column), missing as a group."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        if column.nunique() > MAX_GROUPS:
            column = pd.qcut(column, 4, duplicates="drop")
    return column.astype(object).where(column.notna(), MISSING).astype(str).reset_index(drop=True)
