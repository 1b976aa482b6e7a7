"""One adapter per benchmarked system, all with one signature.

``adapter(X_train, y_train, X_test, task, budget, seed) -> predictions``: class probabilities
with columns in the order of ``datasets.classes_of(y_train)``, or regression values. Peer
libraries are imported inside their adapter, so a missing one raises ``NotInstalled`` for that
system only.
"""

from __future__ import annotations

import functools
import importlib
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.datasets import classes_of

Adapter = Callable[[pd.DataFrame, pd.Series, pd.DataFrame, str, float, int], np.ndarray]

#: Each library's name for the test metric of a task (see datasets.METRICS).
SKLEARN_METRIC = {
    "binary": "roc_auc",
    "multiclass": "neg_log_loss",
    "regression": "neg_root_mean_squared_error",
}
FLAML_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
AUTOGLUON_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "root_mean_squared_error"}
MLJAR_METRIC = {"binary": "auc", "multiclass": "logloss", "regression": "rmse"}
MLJAR_TASK = {
    "binary": "binary_classification",
    "multiclass": "multiclass_classification",
    "regression": "regression",
}


class NotInstalled(ImportError):
    """The system's library is not in this Python environment."""


def require(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise NotInstalled(
            f"{package} not installed; run benchmarks/install_peers.sh and use .venv-bench/bin/python"
        ) from None


# ---- shared encoding -----------------------------------------------------------------------
def categorical_columns(X: pd.DataFrame) -> list[str]:
    return [
        c for c in X.columns if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))
    ]


def as_categories(X_train: pd.DataFrame, X_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Text columns as pandas ``category`` with the training categories (unseen test values become missing)."""
    X_train, X_test = X_train.copy(), X_test.copy()
    for column in categorical_columns(X_train):
        dtype = pd.CategoricalDtype(sorted(X_train[column].dropna().unique()))
        X_train[column], X_test[column] = X_train[column].astype(dtype), X_test[column].astype(dtype)
    for column in X_train.columns[[pd.api.types.is_bool_dtype(X_train[c]) for c in X_train.columns]]:
        X_train[column], X_test[column] = X_train[column].astype(float), X_test[column].astype(float)
    return X_train, X_test


def as_codes(X_train: pd.DataFrame, X_test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ordinal encoding: text columns as integer codes, missing or unseen as -1."""
    encoded = as_categories(X_train, X_test)
    for frame in encoded:
        for column in frame.columns[[isinstance(t, pd.CategoricalDtype) for t in frame.dtypes]]:
            frame[column] = frame[column].cat.codes.astype(float)
    return encoded


def aligned(proba: Any, their_classes: Any, classes: np.ndarray) -> np.ndarray:
    """Probability columns reordered from a library's class order to ``classes``."""
    position = {label: i for i, label in enumerate(np.asarray(their_classes).tolist())}
    missing = [c for c in classes.tolist() if c not in position]
    if missing:
        raise ValueError(f"the model's probabilities have no column for class(es) {missing}")
    return np.asarray(proba, dtype=float)[:, [position[c] for c in classes.tolist()]]


def predictions(model: Any, X_test: Any, task: str, y_train: pd.Series) -> np.ndarray:
    """Probabilities in ``classes_of(y_train)`` order, or values, from a fitted scikit-learn-like model."""
    if task == "regression":
        return np.asarray(model.predict(X_test), dtype=float)
    return aligned(model.predict_proba(X_test), model.classes_, classes_of(y_train))


# ---- adapters --------------------------------------------------------------------------------
def automl_system(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_test: pd.DataFrame,
    task: str,
    budget: float,
    seed: int,
    *,
    preset: str = "balanced",
) -> np.ndarray:
    import automl

    model = automl.fit(X_train, y_train, time_budget=budget, task=task, seed=seed, preset=preset)
    return predictions(model, X_test, task, y_train)


def lightgbm_default(
    X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, task: str, budget: float, seed: int
) -> np.ndarray:
    lightgbm = require("lightgbm", "lightgbm")
    estimator = lightgbm.LGBMRegressor if task == "regression" else lightgbm.LGBMClassifier
    X_train, X_test = as_categories(X_train, X_test)
    model = estimator(random_state=seed, verbose=-1).fit(X_train, y_train)
    return predictions(model, X_test, task, y_train)


def random_forest_default(
    X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, task: str, budget: float, seed: int
) -> np.ndarray:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    forest = RandomForestRegressor if task == "regression" else RandomForestClassifier
    X_train, X_test = as_codes(X_train, X_test)
    model = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True), forest(random_state=seed)
    )
    return predictions(model.fit(X_train, y_train), X_test, task, y_train)


def optuna_lightgbm(
    X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, task: str, budget: float, seed: int
) -> np.ndarray:
    """What a practitioner writes in an afternoon: TPE over a few LightGBM knobs, 5-fold CV, refit the best."""
    import optuna
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    lightgbm = require("lightgbm", "lightgbm")
    estimator = lightgbm.LGBMRegressor if task == "regression" else lightgbm.LGBMClassifier
    X_train, X_test = as_categories(X_train, X_test)
    folds = (KFold if task == "regression" else StratifiedKFold)(n_splits=5, shuffle=True, random_state=seed)

    def params(trial: optuna.Trial) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 50, 1000, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 256, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 2, 100, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "subsample": trial.suggest_float("subsample", 0.4, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }

    def objective(trial: optuna.Trial) -> float:
        model = estimator(**params(trial), subsample_freq=1, random_state=seed, verbose=-1)
        return float(cross_val_score(model, X_train, y_train, cv=folds, scoring=SKLEARN_METRIC[task]).mean())

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, timeout=budget)
    model = estimator(**study.best_params, subsample_freq=1, random_state=seed, verbose=-1).fit(
        X_train, y_train
    )
    return predictions(model, X_test, task, y_train)


def flaml_system(
    X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, task: str, budget: float, seed: int
) -> np.ndarray:
    flaml = require("flaml", "flaml[automl]")
    model = flaml.AutoML()
    model.fit(
        X_train,
        y_train,
        task="regression" if task == "regression" else "classification",
        time_budget=budget,
        metric=FLAML_METRIC[task],
        seed=seed,
        verbose=0,
    )
    return predictions(model, X_test, task, y_train)


def autogluon_system(
    X_train: pd.DataFrame,
    y_train: pd.Series,
    X_test: pd.DataFrame,
    task: str,
    budget: float,
    seed: int,
    *,
    presets: str = "medium_quality",
    gbm_only: bool = False,
) -> np.ndarray:
    """AutoGluon with one of its presets (every model of the preset), or its LightGBM configurations only."""
    tabular = require("autogluon.tabular", "autogluon.tabular")
    from autogluon.tabular.configs.hyperparameter_configs import get_hyperparameter_config

    label = "__target__"
    extra: dict[str, Any] = {}
    if gbm_only:
        extra["hyperparameters"] = {
            "GBM": [{**c, "seed": seed} for c in get_hyperparameter_config("default")["GBM"]]
        }
    with tempfile.TemporaryDirectory(prefix="autogluon-") as path:
        predictor = tabular.TabularPredictor(
            label=label, problem_type=task, eval_metric=AUTOGLUON_METRIC[task], path=path, verbosity=0
        )
        predictor.fit(X_train.assign(**{label: y_train}), time_limit=budget, presets=presets, **extra)
        if task == "regression":
            return predictor.predict(X_test).to_numpy(dtype=float)
        proba = predictor.predict_proba(X_test, as_multiclass=True)
        return aligned(proba.to_numpy(), proba.columns, classes_of(y_train))


def mljar_system(
    X_train: pd.DataFrame, y_train: pd.Series, X_test: pd.DataFrame, task: str, budget: float, seed: int
) -> np.ndarray:
    supervised = require("supervised", "mljar-supervised")
    with tempfile.TemporaryDirectory(prefix="mljar-") as path:
        model = supervised.AutoML(
            mode="Perform",
            total_time_limit=max(1, int(budget)),
            ml_task=MLJAR_TASK[task],
            eval_metric=MLJAR_METRIC[task],
            random_state=seed,
            results_path=path,
            verbose=0,
        )
        model.fit(X_train, y_train)
        if task == "regression":
            return np.asarray(model.predict(X_test), dtype=float)
        frame = model.predict_all(X_test)
        columns = [c for c in frame.columns if c.startswith("prediction_")]
        return aligned(
            frame[columns].to_numpy(),
            [c.removeprefix("prediction_") for c in columns],
            classes_of(y_train).astype(str),
        )


SYSTEMS: dict[str, Adapter] = {
    "automl": automl_system,
    "lightgbm_default": lightgbm_default,
    "random_forest_default": random_forest_default,
    "optuna_lightgbm": optuna_lightgbm,
    "flaml": flaml_system,
    # The LightGBM configurations of AutoGluon's medium preset, as earlier tables measured it.
    "autogluon": functools.partial(autogluon_system, gbm_only=True),
    "autogluon_medium": autogluon_system,
    "autogluon_best": functools.partial(autogluon_system, presets="best_quality"),
    "mljar": mljar_system,
}


def get_system(spec: str) -> Adapter:
    """The adapter for ``name`` or ``automl:PRESET`` (the automl system with another preset)."""
    name, _, option = spec.partition(":")
    if name not in SYSTEMS:
        raise ValueError(
            f"unknown system {name!r}; choose from {sorted(SYSTEMS)} (automl also as automl:PRESET)"
        )
    if not option:
        return SYSTEMS[name]
    if name != "automl":
        raise ValueError(
            f"system {name!r} takes no ':option'; only automl does (automl:PRESET, e.g. automl:green)"
        )
    import automl

    automl.load_preset(option)  # a ConfigError (a ValueError) naming the presets, before any run starts
    return functools.partial(automl_system, preset=option)
