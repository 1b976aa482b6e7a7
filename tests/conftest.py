"""Shared fixtures: the bundled real datasets, and small fitted models reused across tests.

Fitting is the slow part of this suite, so each task type is fitted once per test session
(once per xdist worker) with a cheap family, and tests that only read a fitted model share it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import automl

DATA = Path(__file__).parent / "data"

#: Target column of each bundled dataset (from shared/datasets/manifest.csv).
TARGETS = {
    "auto_mpg": "mpg",
    "breast_cancer": "diagnosis",
    "german_credit": "credit_risk",
    "glass": "glass_type",
    "iris": "species",
    "penguins": "species",
    "seattle_weather": "temp_max",
    "titanic": "survived",
}

#: A fit that costs about a second: few trials, few folds, the cheapest families.
QUICK: dict[str, Any] = {"preset": "balanced", "n_trials": 3, "cv": 3, "seed": 0}


def load_dataset(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """X and y of a dataset in tests/data, as pandas reads the CSV."""
    frame = pd.read_csv(DATA / f"{name}.csv")
    target = TARGETS[name]
    return frame.drop(columns=target), frame[target]


def split(
    X: pd.DataFrame, y: pd.Series, test_size: float = 0.25, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """A shuffled train/test split that keeps the original index (so tests can check alignment)."""
    order = np.random.default_rng(seed).permutation(len(X))
    cut = int(len(X) * (1 - test_size))
    train, test = order[:cut], order[cut:]
    return X.iloc[train], X.iloc[test], y.iloc[train], y.iloc[test]


@pytest.fixture(scope="session")
def titanic() -> tuple[pd.DataFrame, pd.Series]:
    """Binary; numeric, string, bool columns and missing values."""
    return load_dataset("titanic")


@pytest.fixture(scope="session")
def penguins() -> tuple[pd.DataFrame, pd.Series]:
    """Multiclass with string labels; string columns as pandas categories, missing values."""
    X, y = load_dataset("penguins")
    return X.astype({"island": "category", "sex": "category"}), y


@pytest.fixture(scope="session")
def auto_mpg() -> tuple[pd.DataFrame, pd.Series]:
    """Regression; a string column and missing horsepower values."""
    return load_dataset("auto_mpg")


@pytest.fixture(scope="session")
def iris() -> tuple[pd.DataFrame, pd.Series]:
    return load_dataset("iris")


@pytest.fixture(scope="session")
def binary_model(
    titanic: tuple[pd.DataFrame, pd.Series],
) -> tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series]:
    """A classifier fitted on 75% of titanic, with the held-out 25%."""
    X_train, X_test, y_train, y_test = split(*titanic)
    model = automl.AutoMLClassifier(families=["logistic_regression"], **QUICK).fit(X_train, y_train)
    return model, X_test, y_test


@pytest.fixture(scope="session")
def multiclass_model(
    penguins: tuple[pd.DataFrame, pd.Series],
) -> tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series]:
    X_train, X_test, y_train, y_test = split(*penguins)
    model = automl.AutoMLClassifier(families=["logistic_regression"], **QUICK).fit(X_train, y_train)
    return model, X_test, y_test


@pytest.fixture(scope="session")
def regression_model(
    auto_mpg: tuple[pd.DataFrame, pd.Series],
) -> tuple[automl.AutoMLRegressor, pd.DataFrame, pd.Series]:
    X_train, X_test, y_train, y_test = split(*auto_mpg)
    model = automl.AutoMLRegressor(families=["ridge"], **QUICK).fit(X_train, y_train)
    return model, X_test, y_test
