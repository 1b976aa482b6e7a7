"""explain(): SHAP contributions that add up to what the model predicts, for trees, linear models and ensembles."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import automl
from automl.errors import ConfigError, MissingDependency
from automl.explain import Explanation
from conftest import load_dataset, split

FAST: dict[str, Any] = {"preset": "fast", "cv": 3, "seed": 0}


def check_additive(model: Any, X: pd.DataFrame, explanation: Explanation) -> None:
    """base_value + each row's contributions is predict_proba (or predict), to 1e-6 relative."""
    if hasattr(model, "predict_proba"):
        proba = model.predict_proba(X)
        expected = proba[:, 1] if proba.shape[1] == 2 else proba
    else:
        expected = model.predict(X)
    np.testing.assert_allclose(explanation.predicted().to_numpy(), expected, rtol=1e-6, atol=1e-12)
    assert explanation.values.index.equals(X.index)


@pytest.fixture(scope="module")
def lightgbm_model(titanic: tuple[pd.DataFrame, pd.Series]) -> tuple[automl.AutoMLClassifier, pd.DataFrame]:
    X_train, X_test, y_train, _ = split(*titanic)
    return automl.AutoMLClassifier(families=["lightgbm"], n_trials=2, **FAST).fit(X_train, y_train), X_test


def test_lightgbm_contributions_add_up_to_the_probability(
    lightgbm_model: tuple[automl.AutoMLClassifier, pd.DataFrame],
) -> None:
    model, X_test = lightgbm_model
    explanation = model.explain(X_test)
    assert model.best_params_["family"] == "lightgbm"
    check_additive(model, X_test, explanation)
    assert list(explanation.values.columns) == list(X_test.columns)
    assert explanation.output == "the probability of class 1 (predict_proba(X)[:, 1])"
    assert explanation.methods == ("LGBMClassifier: TreeSHAP (pred_contrib)",)
    top = explanation.importance().index[:4]
    assert {"sex", "adult_male", "who"} & set(top)  # who survived the Titanic is mostly told by sex
    women = X_test.sex == "female"
    assert explanation.values.sex[women].mean() > 0 > explanation.values.sex[~women].mean()


def test_linear_contributions_fold_one_hot_columns_back(
    binary_model: tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series],
) -> None:
    model, X_test, _ = binary_model
    explanation = model.explain(X_test)
    check_additive(model, X_test, explanation)
    assert explanation.methods == ("LogisticRegression: shap LinearExplainer against 100 training rows",)
    assert "deck" in model.schema_.categorical  # one-hot encoded, with missing values: one column here
    assert list(explanation.values.columns) == list(X_test.columns)
    assert explanation.values.deck.abs().sum() > 0


def test_ensemble_contributions_are_the_weighted_members() -> None:
    X, y = load_dataset("breast_cancer")
    model = automl.AutoMLClassifier(families=["lightgbm", "logistic_regression"], n_trials=8, **FAST).fit(
        X, y
    )
    assert model.chosen_.is_ensemble
    explanation = model.explain(X)
    check_additive(model, X, explanation)
    assert len(explanation.methods) == len(model.chosen_.members)
    assert {m.split(":")[0] for m in explanation.methods} == {"LGBMClassifier", "LogisticRegression"}


def test_multiclass_explains_each_class(penguins: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = penguins
    model = automl.AutoMLClassifier(families=["lightgbm"], n_trials=2, **FAST).fit(X, y)
    explanation = model.explain(X.head(50))
    check_additive(model, X.head(50), explanation)
    assert list(explanation.values.columns.levels[0]) == list(model.classes_)
    assert isinstance(explanation.base_value, pd.Series)
    np.testing.assert_allclose(explanation.base_value.sum(), 1.0)


def test_regression_and_a_sampled_explainer(auto_mpg: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = auto_mpg
    model = automl.AutoMLRegressor(families=["knn"], n_trials=1, **FAST).fit(X, y)
    explanation = model.explain(X.head(20))
    check_additive(model, X.head(20), explanation)
    assert explanation.output == "the predicted value (predict)"
    assert explanation.methods[0].startswith("KNeighborsRegressor: permutation SHAP against 50 training rows")


def test_a_loaded_model_explains_without_its_training_data(
    binary_model: tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series], tmp_path: Any
) -> None:
    model, X_test, _ = binary_model
    loaded = automl.load(model.save(tmp_path / "model.joblib"))
    pd.testing.assert_frame_equal(loaded.explain(X_test).values, model.explain(X_test).values)


def test_explain_needs_a_fitted_model_and_shap(
    binary_model: tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, X_test, _ = binary_model
    with pytest.raises(NotFittedError):
        automl.AutoMLClassifier().explain(X_test)
    monkeypatch.setitem(sys.modules, "shap", None)
    with pytest.raises(
        MissingDependency,
        match=r"pip install shap \(or, in automl's checkout, pip install \"\.\[explain\]\"\)",
    ):
        model.explain(X_test)


def test_a_date_columns_features_sum_into_the_date() -> None:
    X, y = load_dataset("seattle_weather")
    model = automl.AutoMLRegressor(families=["lightgbm"], n_trials=1, **FAST).fit(X, y)
    assert any(d.column == "date" for d in model.schema_.derived)
    explanation = model.explain(X.head(100))
    check_additive(model, X.head(100), explanation)
    assert list(explanation.values.columns) == list(X.columns)
    assert explanation.values.date.abs().sum() > 0


def test_a_model_saved_before_explain_says_to_fit_again(
    binary_model: tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series], tmp_path: Any
) -> None:
    model, X_test, _ = binary_model
    old = automl.load(model.save(tmp_path / "model.joblib"))
    del old._background
    with pytest.raises(ConfigError, match="saved by an earlier automl"):
        old.explain(X_test)
