"""MLflow tracking, for real: a local SQLite store under tmp_path, with the user's autolog() switched on."""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

import automl
from automl.cli import app
from conftest import DATA, load_dataset


@pytest.fixture
def autolog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The user's own MLflow store, with sklearn autologging on, as a notebook would have it.

    The working folder is tmp_path: a SQLite store keeps its artifacts in ./mlruns.
    """
    monkeypatch.chdir(tmp_path)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'user.db'}")
    mlflow.sklearn.autolog(silent=True)
    yield
    mlflow.sklearn.autolog(disable=True)
    mlflow.set_tracking_uri(previous)


def user_runs() -> pd.DataFrame:
    return mlflow.search_runs(search_all_experiments=True)


def test_a_search_is_one_mlflow_run_and_its_model_predicts(
    autolog: None,
    penguins: tuple[pd.DataFrame, pd.Series],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    LogisticRegression(max_iter=200).fit(
        *load_dataset("iris")
    )  # autolog is on: the user's own fit is one run
    assert len(user_runs()) == 1
    X, y = penguins  # categorical columns: the MLflow model reads them as automl does

    uri = f"sqlite:///{tmp_path / 'automl.db'}"
    with caplog.at_level(logging.WARNING):
        model = automl.AutoMLClassifier(
            families=["logistic_regression"], preset="fast", n_trials=2, cv=3, seed=0, mlflow=uri
        ).fit(X, y)
    assert len(user_runs()) == 1  # no trial, refit or encoder fit of automl's was autologged
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert not [r for r in caplog.records if r.name == "automl"], caplog.text

    client = mlflow.MlflowClient(uri)
    (run,) = client.search_runs(experiment_ids=[e.experiment_id for e in client.search_experiments()])
    assert run.data.params["preset_"] == "fast" and run.data.params["families"] == "['logistic_regression']"
    assert run.data.metrics["cv_score"] == pytest.approx(model.chosen_.score)
    assert run.data.metrics["energy_kwh"] == pytest.approx(model.total_energy_.energy_kwh)
    assert {"co2_kg", "fit_seconds"} <= set(run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.html", "leaderboard.csv", "pareto_front.csv"} <= artifacts

    mlflow.set_tracking_uri(uri)
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    table = loaded.predict(X)
    assert np.array_equal(table["prediction"].to_numpy(), model.predict(X))
    np.testing.assert_allclose(table.filter(like="proba_").to_numpy(), model.predict_proba(X))


def test_a_store_that_refuses_the_run_costs_a_warning_not_the_model(
    caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    X, y = load_dataset("iris")
    refusing = "nosuchstore://nowhere"  # a scheme MLflow has no store for
    with caplog.at_level(logging.WARNING, logger="automl"):
        model = automl.AutoMLClassifier(
            families=["logistic_regression"], preset="fast", n_trials=1, cv=3, seed=0, mlflow=refusing
        ).fit(X, y)
    assert model.predict(X.head()).shape == (5,)
    assert "not logged to MLflow" in caplog.text


def test_the_command_line_logs_a_search_with_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'cli.db'}"
    result = CliRunner().invoke(
        app,
        [
            "search",
            str(DATA / "auto_mpg.csv"),
            "-t",
            "mpg",
            "--preset",
            "fast",
            "--families",
            "ridge",
            "--n-trials",
            "2",
            "--out",
            str(tmp_path / "mpg"),
            "--quiet",
            "--mlflow",
            uri,
        ],
    )
    assert result.exit_code == 0, result.output
    client = mlflow.MlflowClient(uri)
    (run,) = client.search_runs(experiment_ids=[e.experiment_id for e in client.search_experiments()])
    assert run.data.params["task_"] == "regression" and "cv_root_mean_squared_error" in run.data.metrics
