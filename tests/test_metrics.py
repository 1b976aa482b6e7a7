"""Metrics computed from stored predictions agree with scikit-learn's scorers on fitted models."""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import get_scorer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import LabelEncoder, StandardScaler

from automl.errors import ConfigError
from automl.metrics import DEFAULTS, get_metric
from conftest import load_dataset


@functools.cache
def _classification(name: str) -> tuple[Pipeline, np.ndarray, np.ndarray]:
    """A model fitted on even rows of a dataset, and the odd rows to score it on."""
    X, y = load_dataset(name)
    X = X.select_dtypes("number").to_numpy()
    y = LabelEncoder().fit_transform(y)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1)).fit(X[::2], y[::2])
    return model, X[1::2], y[1::2]


@pytest.mark.parametrize(
    ("dataset", "name"),
    [
        ("breast_cancer", "roc_auc"),
        ("breast_cancer", "neg_log_loss"),
        ("breast_cancer", "accuracy"),
        ("breast_cancer", "f1"),
        ("breast_cancer", "balanced_accuracy"),
        ("breast_cancer", "average_precision"),
        ("iris", "neg_log_loss"),
        ("iris", "roc_auc_ovr"),
        ("iris", "accuracy"),
        ("iris", "f1_macro"),
    ],
)
def test_classification_metric_matches_the_scorer(dataset: str, name: str) -> None:
    model, X, y = _classification(dataset)
    task = "binary" if len(np.unique(y)) == 2 else "multiclass"
    metric = get_metric(name, task)
    assert metric.score(y, model.predict_proba(X)) == pytest.approx(get_scorer(name)(model, X, y))


@pytest.mark.parametrize(
    "name", ["neg_root_mean_squared_error", "neg_mean_absolute_error", "r2", "neg_median_absolute_error"]
)
def test_regression_metric_matches_the_scorer(name: str) -> None:
    X, y = load_dataset("auto_mpg")
    X = X.select_dtypes("number").fillna(0).to_numpy()
    model = LinearRegression().fit(X[::2], y[::2])
    metric = get_metric(name, "regression")
    assert metric.score(y[1::2].to_numpy(), model.predict(X[1::2])) == pytest.approx(
        get_scorer(name)(model, X[1::2], y[1::2])
    )


def test_log_loss_counts_every_class_even_when_a_fold_lacks_one() -> None:
    metric = get_metric("neg_log_loss", "multiclass")
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1]])
    assert metric.score(np.array([0, 1]), proba) == pytest.approx(np.mean(np.log([0.7, 0.8])))


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_defaults_per_task(task: str) -> None:
    assert get_metric(None, task).name == DEFAULTS[task]


@pytest.mark.parametrize(
    ("alias", "task", "name"),
    [
        ("auc", "binary", "roc_auc"),
        ("auc", "multiclass", "roc_auc_ovr"),
        ("roc_auc", "multiclass", "roc_auc_ovr"),
        ("rmse", "regression", "neg_root_mean_squared_error"),
        ("mae", "regression", "neg_mean_absolute_error"),
        ("logloss", "binary", "neg_log_loss"),
    ],
)
def test_aliases(alias: str, task: str, name: str) -> None:
    assert get_metric(alias, task).name == name


def test_losses_are_negated_for_the_study_and_positive_for_people() -> None:
    rmse = get_metric("rmse", "regression")
    score = rmse.score(np.array([1.0, 2.0]), np.array([2.0, 4.0]))
    assert score == pytest.approx(-np.sqrt(2.5))
    assert (rmse.display_name, rmse.display(score)) == (
        "root_mean_squared_error",
        pytest.approx(np.sqrt(2.5)),
    )
    accuracy = get_metric("accuracy", "binary")
    assert (accuracy.display_name, accuracy.display(0.9)) == ("accuracy", 0.9)


@pytest.mark.parametrize(
    ("name", "task", "problem"),
    [
        (
            "accuracy_score",
            "binary",
            "unknown metric 'accuracy_score'; use a scikit-learn scorer name such as 'roc_auc'",
        ),
        ("r2", "binary", "metric 'r2' does not fit the task 'binary'; the default for it is 'roc_auc'"),
        ("roc_auc", "regression", "metric 'roc_auc' does not fit the task 'regression'"),
        ("accuracy", "regression", "metric 'accuracy' does not fit the task 'regression'"),
        ("neg_mean_squared_error", "multiclass", "does not fit the task 'multiclass'"),
    ],
)
def test_bad_metric(name: str, task: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        get_metric(name, task)
    assert problem in str(error.value)


@given(
    st.integers(2, 60).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 2), min_size=n, max_size=n),
            st.lists(st.integers(1, 5).map(lambda v: v / 5), min_size=n, max_size=n),  # ties are common
            st.lists(st.floats(0.1, 3.0), min_size=n, max_size=n),
            st.booleans(),
        )
    )
)
def test_the_numpy_metrics_equal_scikit_learns(
    case: tuple[list[int], list[float], list[float], bool],
) -> None:
    """Ensemble selection scores blends with NumPy versions of the defaults; they must score as scikit-learn does."""
    labels, values, weights, weighted = case
    y, v = np.asarray(labels), np.asarray(values)
    w = np.asarray(weights) if weighted else None
    binary, proba = y % 2, np.column_stack([1 - v, v])
    three = np.column_stack([v, 1 - v + 0.2, np.full(len(v), 0.3)])
    three /= three.sum(axis=1, keepdims=True)
    cases = [
        ("neg_log_loss", "multiclass", y, three),
        ("neg_root_mean_squared_error", "regression", v * 3, v**2),
        ("accuracy", "binary", binary, proba),
    ]
    if 0 < binary.sum() < len(binary):  # else scikit-learn's are undefined
        cases += [("roc_auc", "binary", binary, proba), ("neg_log_loss", "binary", binary, proba)]
    for name, task, truth, prediction in cases:
        metric = get_metric(name, task)
        sklearn_score = replace(metric, name=f"{name} by scikit-learn").score(truth, prediction, w)
        assert metric.score(truth, prediction, w) == pytest.approx(sklearn_score, rel=1e-9, abs=1e-12), name


def test_the_numpy_metrics_fail_as_scikit_learns_do() -> None:
    auc = get_metric("roc_auc", "binary")
    with pytest.warns(UserWarning, match="Only one class"):
        assert np.isnan(auc.score(np.zeros(4, dtype=int), np.full((4, 2), 0.5)))
    with pytest.raises(ValueError, match="NaN"):
        auc.score(np.array([0, 1, 0, 1]), np.array([[0.5, 0.5]] * 3 + [[np.nan, np.nan]]))
