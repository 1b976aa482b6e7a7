"""The PyTorch MLP on its own: it learns, continues training under warm_start, and pickles."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import StandardScaler

from automl.mlp import MLPClassifier, MLPRegressor
from conftest import load_dataset

SMALL = {"hidden_units": 32, "n_layers": 2, "batch_size": 32, "n_threads": 1, "random_state": 0}


@pytest.fixture(scope="module")
def iris_scaled() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_dataset("iris")
    X = StandardScaler().fit_transform(X.to_numpy())
    y = y.to_numpy()
    return X[::2], X[1::2], y[::2], y[1::2]


@pytest.fixture(scope="module")
def mpg_scaled() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_dataset("auto_mpg")
    X = X.select_dtypes("number").dropna()
    y = y.loc[X.index].to_numpy()
    X = StandardScaler().fit_transform(X.to_numpy())
    return X[::2], X[1::2], y[::2], y[1::2]


def test_classifier_learns_string_labels(iris_scaled: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris_scaled
    model = MLPClassifier(max_epochs=60, **SMALL).fit(X_train, y_train)
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert accuracy_score(y_test, model.predict(X_test)) > 0.9


def test_regressor_learns_on_the_original_scale(mpg_scaled: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = mpg_scaled
    model = MLPRegressor(max_epochs=60, **SMALL).fit(X_train, y_train)
    predictions = model.predict(X_test)
    assert predictions.shape == (len(X_test),)
    assert r2_score(y_test, predictions) > 0.75
    assert 5 < predictions.mean() < 45  # miles per gallon, not standardised units


def test_same_seed_same_model(iris_scaled: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, _ = iris_scaled
    first = MLPClassifier(max_epochs=5, **SMALL).fit(X_train, y_train).predict_proba(X_test)
    second = MLPClassifier(max_epochs=5, **SMALL).fit(X_train, y_train).predict_proba(X_test)
    third = (
        MLPClassifier(max_epochs=5, **{**SMALL, "random_state": 1})
        .fit(X_train, y_train)
        .predict_proba(X_test)
    )
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, third)


def test_warm_start_continues_from_the_epochs_done(mpg_scaled: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = mpg_scaled
    model = MLPRegressor(max_epochs=3, warm_start=True, **SMALL).fit(X_train, y_train)
    network = model.network_
    early = r2_score(y_test, model.predict(X_test))
    model.set_params(max_epochs=40).fit(X_train, y_train)
    assert model.n_epochs_ == 40
    assert model.network_ is network, "warm_start must keep training the same network"
    assert r2_score(y_test, model.predict(X_test)) > max(early, 0.75)
    # Asking for no more epochs than done trains nothing further.
    before = model.predict(X_test)
    model.fit(X_train, y_train)
    np.testing.assert_array_equal(model.predict(X_test), before)


def test_without_warm_start_fit_starts_over(iris_scaled: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, _ = iris_scaled
    model = MLPClassifier(max_epochs=5, **SMALL).fit(X_train, y_train)
    once = model.predict_proba(X_test)
    model.fit(X_train, y_train)
    assert model.n_epochs_ == 5
    np.testing.assert_array_equal(model.predict_proba(X_test), once)


def test_pickled_model_predicts_the_same_and_can_continue(iris_scaled: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris_scaled
    model = MLPClassifier(max_epochs=5, warm_start=True, **SMALL).fit(X_train, y_train)
    restored = pickle.loads(pickle.dumps(model))
    assert restored.device_ == "cpu"
    np.testing.assert_array_equal(restored.predict_proba(X_test), model.predict_proba(X_test))
    restored.set_params(max_epochs=60).fit(X_train, y_train)
    assert restored.n_epochs_ == 60
    assert accuracy_score(y_test, restored.predict(X_test)) > 0.9


def test_predict_checks_the_number_of_features(iris_scaled: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, _ = iris_scaled
    model = MLPClassifier(max_epochs=1, **SMALL).fit(X_train, y_train)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        model.predict(X_test[:, :3])


def test_gpu_model_pickles_to_cpu_and_keeps_working_on_the_gpu(iris_scaled: tuple[np.ndarray, ...]) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    X_train, X_test, y_train, _ = iris_scaled
    model = MLPClassifier(max_epochs=5, device="cuda", **SMALL).fit(X_train, y_train)
    on_gpu = model.predict_proba(X_test)
    restored = pickle.loads(pickle.dumps(model))
    assert restored.device_ == "cpu" and next(restored.network_.parameters()).device.type == "cpu"
    assert model.device_ == "cuda" and next(model.network_.parameters()).device.type == "cuda"
    np.testing.assert_allclose(model.predict_proba(X_test), on_gpu)
    np.testing.assert_allclose(restored.predict_proba(X_test), on_gpu, rtol=1e-4, atol=1e-6)


def test_it_stops_early_on_validation_data(iris_scaled: tuple[np.ndarray, ...]) -> None:
    X_train, X_test, y_train, y_test = iris_scaled
    model = MLPClassifier(max_epochs=400, patience=3, learning_rate=0.05, **SMALL).fit(
        X_train, y_train, X_val=X_test, y_val=y_test
    )
    assert model.best_epoch_ < model.n_epochs_ < 400
    assert model.n_epochs_ - model.best_epoch_ == 3
    assert MLPClassifier(max_epochs=7, **SMALL).fit(X_train, y_train).best_epoch_ == 7


def test_it_trains_in_float32_on_the_cpu(iris_scaled: tuple[np.ndarray, ...]) -> None:
    X_train, _, y_train, _ = iris_scaled
    assert MLPClassifier(max_epochs=2, device="cpu", **SMALL).fit(X_train, y_train).precision_ == "float32"
    with pytest.raises(ValueError, match="precision must be auto, float32, bfloat16 or float16"):
        MLPClassifier(max_epochs=2, precision="int8", **SMALL).fit(X_train, y_train)


def test_it_trains_in_16_bit_on_a_cuda_gpu(iris_scaled: tuple[np.ndarray, ...]) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip(
            "needs a CUDA GPU: 16-bit training (bfloat16 autocast, or float16 with a gradient scaler) "
            "is used on CUDA only; the CPU trains in float32"
        )
    X_train, X_test, y_train, y_test = iris_scaled
    model = MLPClassifier(max_epochs=60, device="cuda", **SMALL).fit(X_train, y_train)
    expected = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    assert model.precision_ == expected
    assert np.isfinite(model.predict_proba(X_test)).all() and model.score(X_test, y_test) > 0.8
    half = MLPClassifier(max_epochs=60, device="cuda", precision="float16", **SMALL).fit(X_train, y_train)
    assert half.precision_ == "float16" and half.score(X_test, y_test) > 0.8
    full = MLPClassifier(max_epochs=60, device="cuda", precision="float32", **SMALL).fit(X_train, y_train)
    assert full.precision_ == "float32"
