"""Exported models (skops, joblib, ONNX) predict what the fitted model predicts; real fits, real runtimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pandas as pd
import pytest
import skops.io
from faulty_estimators import Quitter

import automl
from automl.export import load, onnx_input
from conftest import DATA, load_dataset, split

#: One trial: a single model, never an ensemble.
SINGLE = {"preset": "fast", "n_trials": 1, "cv": 3, "seed": 0}


@pytest.fixture(scope="module")
def lightgbm_model() -> tuple[automl.AutoMLClassifier, pd.DataFrame]:
    """LightGBM on iris (numeric columns, string labels)."""
    X_train, X_test, y_train, _ = split(*load_dataset("iris"))
    return automl.AutoMLClassifier(families=["lightgbm"], **SINGLE).fit(X_train, y_train), X_test


@pytest.fixture(scope="module")
def ensemble_model() -> tuple[automl.AutoMLClassifier, pd.DataFrame]:
    """An ensemble of LightGBM and logistic regression on titanic (categorical columns, missing values)."""
    X_train, X_test, y_train, _ = split(*load_dataset("titanic"))
    model = automl.AutoMLClassifier(
        families=["lightgbm", "logistic_regression"], preset="balanced", n_trials=6, cv=3, seed=0
    ).fit(X_train, y_train)
    assert model.chosen_.is_ensemble
    return model, X_test


def check_reloaded(
    model: automl.AutoMLClassifier | automl.AutoMLRegressor, X: pd.DataFrame, path: Path
) -> None:
    back = load(model.export(path, format=path.suffix.lstrip(".")))
    assert np.array_equal(back.predict(X), model.predict(X))
    if hasattr(model, "predict_proba"):
        assert np.array_equal(back.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("suffix", [".skops", ".joblib"])
def test_exports_reload_and_predict_identically(
    suffix: str,
    lightgbm_model: tuple[automl.AutoMLClassifier, pd.DataFrame],
    ensemble_model: tuple[automl.AutoMLClassifier, pd.DataFrame],
    binary_model: tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series],
    regression_model: tuple[automl.AutoMLRegressor, pd.DataFrame, pd.Series],
    tmp_path: Path,
) -> None:
    for name, (model, X, *_) in {
        "lightgbm": lightgbm_model,
        "ensemble": ensemble_model,
        "logistic": binary_model,
        "ridge": regression_model,
    }.items():
        check_reloaded(model, X, tmp_path / f"{name}{suffix}")


def test_the_inference_model_is_the_fitted_models_prediction(
    ensemble_model: tuple[automl.AutoMLClassifier, pd.DataFrame],
) -> None:
    model, X = ensemble_model
    inference = model.inference_model()
    shuffled = X[list(reversed(X.columns))]  # columns matched by name, as the model matches them
    assert np.array_equal(inference.predict(shuffled), model.predict(X))
    assert list(inference.classes_) == list(model.classes_)


def onnx_outputs(
    model: automl.AutoMLClassifier | automl.AutoMLRegressor, X: pd.DataFrame, path: Path
) -> dict:
    session = onnxruntime.InferenceSession(str(model.export(path, format="onnx")))
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"X": onnx_input(model.inference_model(), X)}), strict=True))


def test_onnx_of_lightgbm_and_linear_models_predicts_within_1e_5(
    lightgbm_model: tuple[automl.AutoMLClassifier, pd.DataFrame],
    binary_model: tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series],
    regression_model: tuple[automl.AutoMLRegressor, pd.DataFrame, pd.Series],
    tmp_path: Path,
) -> None:
    for name, (model, X, *_) in {"lightgbm": lightgbm_model, "logistic": binary_model}.items():
        out = onnx_outputs(model, X, tmp_path / f"{name}.onnx")
        np.testing.assert_allclose(out["probabilities"], model.predict_proba(X), atol=1e-5)
        assert np.array_equal(out["label"], model.predict(X))
    ridge, X, _ = regression_model
    out = onnx_outputs(ridge, X, tmp_path / "ridge.onnx")
    np.testing.assert_allclose(
        out["prediction"].ravel(), ridge.predict(X), atol=1e-5 * np.abs(ridge.predict(X)).max()
    )


def test_onnx_names_what_it_cannot_convert(
    ensemble_model: tuple[automl.AutoMLClassifier, pd.DataFrame], tmp_path: Path
) -> None:
    model, _ = ensemble_model
    with pytest.raises(automl.ConfigError, match="ensemble"):
        model.export(tmp_path / "ensemble.onnx", format="onnx")
    lightgbm = next(m for m in model.model_.members if type(m[-1]).__name__ == "LGBMClassifier")
    single = automl.export.InferenceModel(
        **{**model.inference_model().get_params(deep=False), "model": lightgbm}
    )
    with pytest.raises(automl.ConfigError, match="native categorical"):
        automl.export.export(single, tmp_path / "lightgbm.onnx", "onnx")
    assert not list(tmp_path.iterdir())
    with pytest.raises(automl.ConfigError, match="export format"):
        model.export(tmp_path / "model.pmml", format="pmml")


def test_a_skops_file_with_a_type_automl_does_not_trust_is_refused(
    binary_model: tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    model, *_ = binary_model
    params = model.inference_model().get_params(deep=False)
    foreign = automl.export.InferenceModel(**{**params, "model": Quitter()})
    skops.io.dump(foreign, tmp_path / "foreign.skops")
    with pytest.raises(automl.ConfigError, match=r"does not trust: \['faulty_estimators.Quitter'\]"):
        load(tmp_path / "foreign.skops")


def test_an_export_carries_the_features_derived_from_dates(tmp_path: Path) -> None:
    weather = pd.read_csv(DATA / "seattle_weather.csv")
    X, y = weather.drop(columns="temp_max"), weather["temp_max"]
    model = automl.AutoMLRegressor(families=["ridge"], **SINGLE).fit(X, y)
    assert model.schema_.derived  # the date column became numeric features
    check_reloaded(model, X.head(50), tmp_path / "weather.skops")


def test_a_missing_export_package_names_the_install_command() -> None:
    with pytest.raises(automl.ConfigError, match=r'pip install "\.\[export\]"'):
        automl.export._require("skops_that_is_not_installed")


def test_an_export_applies_the_calibration_map_the_model_kept(
    titanic: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = titanic
    model = automl.AutoMLClassifier(
        families=["random_forest"], calibration="isotonic", holdout=None, **SINGLE
    ).fit(X, y)
    assert model.calibrator_ is not None  # kept: isotonic lowers a forest's out-of-fold log loss here
    check_reloaded(model, X, tmp_path / "calibrated.skops")
    with pytest.raises(automl.ConfigError, match="calibration map has no ONNX converter"):
        model.export(tmp_path / "calibrated.onnx", format="onnx")
