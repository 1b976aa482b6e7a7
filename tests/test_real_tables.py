"""Real tables: dates, sample weights, groups, time order, user splitters, custom metrics, polars frames."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import make_scorer, mean_absolute_error
from sklearn.model_selection import GroupKFold, StratifiedKFold

import automl
from automl import validation
from automl.errors import AutoMLError
from conftest import load_dataset

#: A few cheap trials on three folds: enough for a real search, about a second or two each.
FEW: dict[str, Any] = {"preset": "fast", "n_trials": 4, "seed": 0}


@pytest.fixture(scope="module")
def weather() -> tuple[pd.DataFrame, pd.Series]:
    """Seattle's daily weather 2012-2015: the date stored as text, temp_max to predict."""
    return load_dataset("seattle_weather")


def test_a_date_stored_as_text_becomes_features_the_models_use(
    weather: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = weather
    model = automl.AutoMLRegressor(**{**FEW, "families": ["lightgbm"], "n_trials": 1}).fit(X, y)
    (date,) = model.schema_.derived
    assert date.column == "date" and "date.day_of_year" in model.schema_.features
    assert "date" not in model.schema_.dropped
    booster = model.model_[-1].booster_
    gain = dict(zip(booster.feature_name(), booster.feature_importance("gain"), strict=True))
    assert gain["date.day_of_year"] > 0
    html = model.report(tmp_path / "report.html").read_text()
    assert "Derived from &#39;date&#39;" in html or "Derived from 'date'" in html
    assert "day of year" in html
    assert np.isfinite(model.predict(X.head(5))).all()


def test_sample_weights_change_the_model_and_the_score(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = titanic
    weights = np.where(y.to_numpy() == 1, 5.0, 1.0)
    settings = {**FEW, "families": ["logistic_regression"], "n_trials": 2}
    plain = automl.AutoMLClassifier(**settings).fit(X, y)
    weighted = automl.AutoMLClassifier(**settings).fit(X, y, sample_weight=weights)
    assert weighted.weighted_ and not plain.weighted_
    assert not np.allclose(plain.predict_proba(X), weighted.predict_proba(X))
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()
    assert weighted.chosen_.score != pytest.approx(plain.chosen_.score, abs=1e-9)


def test_a_family_that_cannot_take_weights_is_left_out_with_a_note(
    titanic: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = titanic
    model = automl.AutoMLClassifier(**{**FEW, "families": ["knn", "logistic_regression"]}).fit(
        X, y, sample_weight=np.ones(len(y))
    )
    assert "knn" in model.left_out_families_ and "knn" not in model.families_
    assert set(model.leaderboard_.family) == {"logistic_regression"}
    html = model.report(tmp_path / "report.html").read_text()
    assert "Left out: knn" in html and "takes no sample weights" in html
    with pytest.raises(AutoMLError, match="no family asked for takes weights"):
        automl.AutoMLClassifier(**{**FEW, "families": ["knn"]}).fit(X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones(3), "one number per row"),
        (-np.ones(891), "negative"),
        (np.zeros(891), "zero for every row"),
        (np.full(891, np.nan), "missing"),
    ],
)
def test_bad_sample_weights_are_refused_before_the_search(
    titanic: tuple[pd.DataFrame, pd.Series], weights: np.ndarray, message: str
) -> None:
    X, y = titanic
    with pytest.raises(AutoMLError, match=message):
        automl.AutoMLClassifier(**FEW).fit(X, y, sample_weight=weights)


def test_no_group_is_split_across_folds() -> None:
    X, y = load_dataset("german_credit")
    groups = np.arange(len(y)) % 37
    encoded = (y.to_numpy() == y.iloc[0]).astype(int)
    for task, target in (("binary", encoded), ("regression", X["duration"].to_numpy(dtype=float))):
        plan = validation.plan(target, task, 5, 0, groups=groups)
        assert plan.kind == "groups" and plan.folds == 5
        for train, valid in plan.splits:
            assert not set(groups[train]) & set(groups[valid])
        assert len(plan.scored) == len(y)


def test_a_search_with_groups_keeps_them_whole(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = titanic
    groups = X["pclass"].astype(str) + X["embarked"].fillna("?").astype(str) + (X.index % 4).astype(str)
    model = automl.AutoMLClassifier(**{**FEW, "families": ["logistic_regression"]}).fit(X, y, groups=groups)
    assert "keeps each group in one fold" in model.validation_
    with pytest.raises(AutoMLError, match="one label per row"):
        automl.AutoMLClassifier(**FEW).fit(X, y, groups=groups[:10])


def test_time_ordered_folds_never_validate_on_earlier_rows() -> None:
    rng = np.random.default_rng(0)
    times = rng.permutation(200)
    order = np.argsort(times, kind="stable")
    plan = validation.plan(np.zeros(200), "regression", 4, 0, splitter="time", time_order=order)
    assert plan.forward and plan.folds == 4
    for train, valid in plan.splits:
        assert times[train].max() < times[valid].min()
    assert plan.splits[0][1].size and len(plan.scored) < 200  # the earliest block is never validated on


def test_a_time_ordered_search_is_forward_validated(
    weather: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = weather
    shuffled = X.sample(frac=1.0, random_state=0)
    model = automl.AutoMLRegressor(families=["ridge"], cv="time", time_column="date", **FEW).fit(
        shuffled, y.loc[shuffled.index]
    )
    assert model.forward_validated_ and "forward-validated" in model.validation_
    assert "on the order of &#39;date&#39;" in model.report(tmp_path / "r.html").read_text()
    with pytest.raises(AutoMLError, match='pass cv="time"'):
        automl.AutoMLRegressor(time_column="date", **FEW).fit(X, y)
    with pytest.raises(AutoMLError, match="not a column of X"):
        automl.AutoMLRegressor(cv="time", time_column="day", **FEW).fit(X, y)


def test_cv_takes_a_splitter_or_a_list_of_splits(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = titanic
    settings = {**FEW, "families": ["logistic_regression"]}
    model = automl.AutoMLClassifier(cv=StratifiedKFold(4, shuffle=True, random_state=1), **settings).fit(X, y)
    assert model.cv_ == 4 and "4 splits given as cv" in model.validation_
    halves = [(np.arange(0, 445), np.arange(445, 891)), (np.arange(445, 891), np.arange(0, 445))]
    assert automl.AutoMLClassifier(cv=halves, **settings).fit(X, y).cv_ == 2
    groups = np.arange(len(y)) % 10
    assert automl.AutoMLClassifier(cv=GroupKFold(3), **settings).fit(X, y, groups=groups).cv_ == 3
    overlapping = [(np.arange(0, 600), np.arange(600, 891)), (np.arange(0, 300), np.arange(300, 891))]
    with pytest.raises(AutoMLError, match="disjoint validation sets"):
        automl.AutoMLClassifier(cv=overlapping, **settings).fit(X, y)
    with pytest.raises(AutoMLError, match="cv must be"):
        automl.AutoMLClassifier(cv="weekly", **settings).fit(X, y)


def hit_rate_of_survivors(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Recall of the 'survived' class, written as a user would, on the original labels."""
    survivors = np.asarray(y_true) == 1
    return float(np.mean(np.asarray(y_pred)[survivors] == 1))


def test_a_callable_metric_drives_the_search_and_appears_in_the_report(
    titanic: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = titanic
    model = automl.AutoMLClassifier(metric=hit_rate_of_survivors, **FEW).fit(X, y)
    assert model.metric_.name == "hit_rate_of_survivors" and model.metric_.sign == 1
    complete = model.leaderboard_[model.leaderboard_.state == "complete"]
    assert complete.score.between(0, 1).all() and model.chosen_.score >= complete.score.max()
    assert "hit_rate_of_survivors" in model.report(tmp_path / "report.html").read_text()
    loaded = automl.load(model.save(tmp_path / "model.joblib"))
    assert loaded.metric_.name == "hit_rate_of_survivors"


def test_a_scorer_for_a_loss_and_a_lambda_work_too(weather: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = weather
    mae = make_scorer(mean_absolute_error, greater_is_better=False)
    model = automl.AutoMLRegressor(metric=mae, families=["ridge"], **FEW).fit(X, y)
    assert model.metric_.sign == -1 and model.metric_.display(model.chosen_.score) > 0
    model = automl.AutoMLRegressor(
        metric=lambda t, p: -float(np.median(np.abs(t - p))), families=["ridge"], **FEW
    )
    assert model.fit(X, y).metric_.name == "custom metric"


def test_a_metric_that_cannot_score_the_task_is_refused_up_front(
    titanic: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = titanic

    def broken(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        raise KeyError("no such column")

    with pytest.raises(AutoMLError, match="cannot score this binary task"):
        automl.AutoMLClassifier(metric=broken, **FEW).fit(X, y)
    with pytest.raises(AutoMLError, match="unknown metric 42"):
        automl.AutoMLClassifier(metric=42, **FEW).fit(X, y)


def test_a_polars_frame_keeps_its_column_names(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    polars = pytest.importorskip("polars", reason="polars is not installed (pip install polars)")
    X, y = titanic
    frame = polars.from_pandas(X.drop(columns=["deck"]))
    model = automl.AutoMLClassifier(**{**FEW, "families": ["lightgbm"]}).fit(frame, y.to_numpy())
    assert list(model.feature_names_in_) == frame.columns
    np.testing.assert_allclose(model.predict_proba(frame), model.predict_proba(X.drop(columns=["deck"])))


def test_the_cli_takes_weight_group_and_time_columns(tmp_path: Path) -> None:
    from test_cli import run_cli

    X, y = load_dataset("seattle_weather")
    table = X.assign(
        temp_max=y, importance=np.where(X["weather"] == "sun", 3.0, 1.0), month=X["date"].str[:7]
    )
    table.to_csv(tmp_path / "weather.csv", index=False)
    common = ["-t", "temp_max", "--preset", "fast", "--families", "ridge,lightgbm", "--n-trials", "4"]
    weighted = run_cli(
        "search",
        "weather.csv",
        *common,
        "--weight-column",
        "importance",
        "--group-column",
        "month",
        "--out",
        "runs/w",
        cwd=tmp_path,
    )
    assert weighted.returncode == 0, weighted.stderr
    record = json.loads((tmp_path / "runs/w/run.json").read_text())
    assert (
        record["settings"]["weight_column"] == "importance" and record["settings"]["group_column"] == "month"
    )
    model = automl.load(tmp_path / "runs/w/model.joblib")
    assert model.weighted_ and "group" in model.validation_
    assert "importance" not in model.feature_names_in_ and "month" not in model.feature_names_in_
    predicted = run_cli("predict", "runs/w", "weather.csv", "-o", "p.csv", cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(table)

    timed = run_cli(
        "search", "weather.csv", *common, "--time-column", "date", "--out", "runs/t", cwd=tmp_path
    )
    assert timed.returncode == 0, timed.stderr
    assert automl.load(tmp_path / "runs/t/model.joblib").forward_validated_
    missing = run_cli(
        "search", "weather.csv", *common, "--weight-column", "nope", "--out", "runs/x", cwd=tmp_path
    )
    assert missing.returncode == 2 and "--weight-column 'nope' is not a column" in missing.stderr


def test_a_day_first_time_column_orders_the_rows_by_its_dates() -> None:
    from automl.data import time_order

    days = pd.date_range("2021-01-01", periods=60, freq="D")
    shuffled = pd.Series(days).sample(frac=1.0, random_state=0).reset_index(drop=True)
    frame = pd.DataFrame({"when": shuffled.dt.strftime("%d/%m/%Y")})  # 02/01/2021 is the 2nd of January
    assert (shuffled.iloc[time_order(frame, "when")].to_numpy() == days.to_numpy()).all()
