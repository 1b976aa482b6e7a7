"""End to end on real data: fit, predict, save and load, for each task type and input kind."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

import automl
from automl.data import Schema
from automl.errors import ConfigError
from automl.metrics import Metric
from conftest import QUICK, load_dataset, split

LEADERBOARD_COLUMNS = [
    "number",
    "family",
    "state",
    "score",
    "score_std",
    "folds",
    "rows",
    "refit_rows",
    "fidelity",
    "fidelity_max",
    "fit_seconds",
    "train_seconds",
    "cpu_seconds",
    "energy_kwh",
    "co2_kg",
    "predict_ms_per_1k",
    "model_bytes",
    "params",
    "reason",
]


def check_fitted(model: Any, task: str, families: list[str]) -> None:
    """What every fitted model exposes, whatever the task."""
    assert model.task_ == task
    assert isinstance(model.schema_, Schema) and isinstance(model.metric_, Metric)
    assert isinstance(model.study_, optuna.Study)
    board = model.leaderboard_
    assert list(board.columns) == LEADERBOARD_COLUMNS
    assert set(board.family) <= set(families) and set(board.state) <= {"complete", "pruned", "fail"}
    complete = board[board.state == "complete"]
    assert len(complete) >= 1 and complete.score.notna().all()
    assert (complete.folds == model.cv_).all()
    assert (complete[["fit_seconds", "cpu_seconds", "predict_ms_per_1k", "model_bytes"]] > 0).all().all()
    assert (complete[["energy_kwh", "co2_kg"]] >= 0).all().all()
    assert model.chosen_.state == "complete"
    assert model.chosen_.members in list(model.pareto_front_.members)
    assert model.chosen_.score == model.pareto_front_.score.max()  # the presets used here choose the best
    assert model.best_params_["family"] in families + ["ensemble"]
    assert model.fit_seconds_ > 0 and model.total_energy_.energy_kwh >= model.refit_energy_.energy_kwh
    assert model.energy_method_["measured"] in (True, False) and model.energy_method_["description"]


# ---- one per task type ------------------------------------------------------------------------


def test_binary_on_a_mixed_frame(binary_model: tuple[Any, pd.DataFrame, pd.Series]) -> None:
    model, X_test, y_test = binary_model
    assert isinstance(model, automl.AutoMLClassifier)
    check_fitted(model, "binary", ["logistic_regression"])
    assert model.metric_.name == "roc_auc"
    assert list(model.classes_) == [0, 1]
    assert "adult_male" in model.schema_.numeric and "deck" in model.schema_.categorical
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X_test)) <= {0, 1}
    assert roc_auc_score(y_test, proba[:, 1]) > 0.8
    assert model.score(X_test, y_test) > 0.75  # accuracy; 62% survived nothing, so it learned


def test_multiclass_with_categories_and_string_labels(
    multiclass_model: tuple[Any, pd.DataFrame, pd.Series],
) -> None:
    model, X_test, y_test = multiclass_model
    check_fitted(model, "multiclass", ["logistic_regression"])
    assert model.metric_.name == "neg_log_loss" and model.metric_.display(model.chosen_.score) > 0
    assert list(model.classes_) == ["Adelie", "Chinstrap", "Gentoo"]
    assert set(model.schema_.categorical) == {"island", "sex"}
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.min() >= 1 / (3 * (model.n_train_rows_ + 1)) - 1e-12, (
        "Laplace smoothing keeps every class possible"
    )
    assert accuracy_score(y_test, model.predict(X_test)) > 0.9


def test_regression_with_strings_and_missing_values(
    regression_model: tuple[Any, pd.DataFrame, pd.Series], auto_mpg: tuple[pd.DataFrame, pd.Series]
) -> None:
    model, X_test, y_test = regression_model
    assert isinstance(model, automl.AutoMLRegressor)
    check_fitted(model, "regression", ["ridge"])
    assert (
        model.metric_.name == "neg_root_mean_squared_error" and model.metric_.display(model.chosen_.score) > 0
    )
    assert not hasattr(model, "classes_")
    assert model.schema_.missing_cells > 0 and model.schema_.categorical == ("origin",)
    predictions = model.predict(X_test)
    assert predictions.dtype == float and predictions.shape == (len(X_test),)
    assert r2_score(y_test, predictions) > 0.7
    X, _ = auto_mpg
    assert np.isfinite(model.predict(X[X.horsepower.isna()])).all()


def test_numpy_arrays_with_missing_values() -> None:
    X, y = load_dataset("auto_mpg")
    X_train, X_test, y_train, y_test = (part.to_numpy() for part in split(X.select_dtypes("number"), y))
    assert np.isnan(X_train).any()
    model = automl.fit(X_train, y_train, families=["ridge"], **QUICK)
    assert isinstance(model, automl.AutoMLRegressor) and model.schema_.from_array
    assert model.schema_.columns == ("x0", "x1", "x2", "x3", "x4", "x5")
    assert r2_score(y_test, model.predict(X_test)) > 0.5


def test_numpy_object_array_of_mixed_columns(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    """titanic as one object array: numbers, strings, booleans and NaN side by side."""
    X_train, X_test, y_train, y_test = (part.to_numpy() for part in split(*titanic))
    assert X_train.dtype == object
    model = automl.fit(X_train, y_train, families=["logistic_regression"], **QUICK)
    assert len(model.schema_.numeric) == 7 and len(model.schema_.categorical) == 6  # as from the DataFrame
    assert roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]) > 0.8


def test_numpy_string_labels_and_object_columns() -> None:
    X, y = load_dataset("german_credit")
    X = X.astype({c: object for c in X.select_dtypes("str").columns})
    X_train, X_test, y_train, y_test = split(X, y)
    model = automl.fit(X_train, y_train.to_numpy(), families=["logistic_regression"], **QUICK)
    assert list(model.classes_) == ["bad", "good"]
    assert len(model.schema_.categorical) == 13
    assert accuracy_score(y_test, model.predict(X_test)) > 0.7  # 70% are 'good'; AUC checks it learned
    assert roc_auc_score(y_test == "good", model.predict_proba(X_test)[:, 1]) > 0.7


def test_fit_picks_the_estimator_from_the_target_or_task(iris: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = load_dataset("glass")
    assert isinstance(automl.fit(X, y, families=["logistic_regression"], **QUICK), automl.AutoMLClassifier)
    model = automl.fit(X, y, task="regression", families=["ridge"], **QUICK)
    assert isinstance(model, automl.AutoMLRegressor) and model.task_ == "regression"


def test_a_chosen_metric_is_used_and_shown(iris: tuple[pd.DataFrame, pd.Series]) -> None:
    model = automl.AutoMLClassifier(families=["logistic_regression"], metric="accuracy", **QUICK).fit(*iris)
    assert model.metric_.name == "accuracy"
    scores = model.leaderboard_.score.dropna()
    assert ((scores > 0.5) & (scores <= 1.0)).all()


# ---- save and load ---------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["binary_model", "multiclass_model", "regression_model"])
def test_save_and_load_predict_the_same(fixture: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    model, X_test, _ = request.getfixturevalue(fixture)
    path = model.save(tmp_path / "deep" / "model.joblib")
    assert path.is_file()
    loaded = automl.load(path)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    pd.testing.assert_frame_equal(loaded.leaderboard_, model.leaderboard_)
    assert loaded.chosen_.number == model.chosen_.number
    assert not hasattr(loaded, "_train"), "the training data must not be written into the model file"


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no saved model at"):
        automl.load(tmp_path / "missing.joblib")
    joblib.dump({"not": "a model"}, tmp_path / "dict.joblib")
    with pytest.raises(ConfigError, match="holds a dict, not an automl model"):
        automl.load(tmp_path / "dict.joblib")


# ---- choosing again on the front -----------------------------------------------------------------


def test_select_refits_another_point_of_the_front(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    model = automl.AutoMLClassifier(
        families=["logistic_regression", "random_forest"], **{**QUICK, "n_trials": 4}
    ).fit(*titanic)
    front = model.pareto_front_
    cheapest = front.loc[front[model.cost_].idxmin()]
    model.select(trial=int(cheapest.number))
    assert model.chosen_.number == cheapest.number
    assert model.best_params_["family"] == cheapest.family
    with pytest.raises(ConfigError, match="is not on the Pareto front"):
        model.select(trial=10_000)


def test_select_after_load_needs_the_data(
    binary_model: tuple[Any, pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    model, X_test, y_test = binary_model
    loaded = automl.load(model.save(tmp_path / "model.joblib"))
    with pytest.raises(ConfigError, match="pass X and y to select"):
        loaded.select("best")
    loaded.select("best", X=X_test, y=y_test)
    assert loaded.chosen_.score == loaded.pareto_front_.score.max()


# ---- the user's logging ------------------------------------------------------------------------


def test_import_and_fit_leave_the_users_log_levels_alone(iris: tuple[pd.DataFrame, pd.Series]) -> None:
    code = (
        "import optuna, logging; optuna.logging.set_verbosity(optuna.logging.DEBUG); import automl; "
        "assert optuna.logging.get_verbosity() == optuna.logging.DEBUG"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0
    codecarbon = logging.getLogger("codecarbon")
    before = optuna.logging.get_verbosity(), codecarbon.level
    optuna.logging.set_verbosity(optuna.logging.INFO)
    codecarbon.setLevel(logging.INFO)
    try:
        automl.AutoMLClassifier(families=["logistic_regression"], **QUICK).fit(*iris)
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
        assert codecarbon.level == logging.INFO
    finally:
        optuna.logging.set_verbosity(before[0])
        codecarbon.setLevel(before[1])
