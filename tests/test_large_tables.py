"""Large tables: one holdout split above a size, fold 0 trained on growing row samples first, and
trials trained on a sample of the rows while the chosen model is refit on all of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from test_robustness import write_family

import automl
from automl import validation
from automl.deadline import Deadline
from automl.errors import ConfigError
from automl.objective import projected_seconds
from automl.search import MEMBERS_RESERVE_SHARE, Budget, fold_seconds, refit_growth, refit_seconds
from conftest import load_dataset

MILLION = np.arange(1_000_000) % 2


def test_a_large_table_is_validated_on_one_holdout_split_with_row_rungs() -> None:
    plan = validation.plan(MILLION, "binary", 5, 0, holdout_above=60_000)
    ((train, valid),) = plan.splits
    assert plan.holdout and len(valid) == 200_000 and len(train) == 800_000
    assert plan.row_rungs == (10_000, 40_000, 160_000)
    assert plan.train_share == pytest.approx(0.8)
    assert "one holdout split: 200,000 rows (20%) scored" in plan.describe()
    assert (
        "then all 800,000 of its rows" in plan.describe_rungs() and "sample of" not in plan.describe_rungs()
    )


def test_trials_train_on_a_sample_of_a_large_table() -> None:
    plan = validation.plan(MILLION, "binary", 5, 0, holdout_above=60_000, search_rows=200_000)
    full = validation.plan(MILLION, "binary", 5, 0, holdout_above=60_000)
    ((train, valid),) = plan.splits
    assert len(train) == 200_000 and np.array_equal(valid, full.splits[0][1])  # scored on the same rows
    assert not np.intersect1d(train, valid).size and np.isin(train, full.splits[0][0]).all()
    assert abs(MILLION[train].mean() - 0.5) < 0.01  # a random sample, not the first rows
    assert plan.row_rungs == (10_000, 40_000)  # each at most a third of what a split trains on
    assert plan.train_share == pytest.approx(0.2)  # a refit on all rows grows fivefold
    assert "a random sample of 200,000 of a split's training rows" in plan.describe_rungs()
    assert "refit on all 1,000,000 rows" in plan.describe_rungs()


def test_time_ordered_splits_train_on_their_latest_rows() -> None:
    rows = 10_000
    plan = validation.plan(np.zeros(rows), "regression", 3, 0, splitter="time", search_rows=1_000)
    for train, valid in plan.splits:
        assert len(train) == 1_000 and train.max() + 1 == valid.min()  # the rows just before the scored ones


def test_below_search_rows_nothing_is_sampled() -> None:
    plan = validation.plan(np.arange(5_000) % 2, "binary", 5, 0, holdout_above=60_000, search_rows=200_000)
    assert plan.folds == 5 and len(plan.splits[0][0]) == 4_000 and plan.describe_rungs() == ""


def write_preset(folder: Path, **settings: object) -> Path:
    path = folder / "large.yaml"
    path.write_text(
        yaml.safe_dump(
            {"cv": 3, "families": ["lightgbm", "logistic_regression"], "time_budget": 60, **settings}
        )
    )
    return path


def test_a_search_on_a_sample_refits_the_chosen_model_on_all_rows(tmp_path: Path) -> None:
    X, y = load_dataset("german_credit")
    preset = write_preset(tmp_path, holdout_above=500, search_rows=400)
    model = automl.AutoMLClassifier(preset=preset, n_trials=8, seed=0).fit(X, y)
    assert model.validation_.startswith("one holdout split: 200 rows (20%) scored")
    assert "a random sample of 400 of a split's training rows" in model.row_rungs_
    board = model.leaderboard_
    trained = board[board.state == "complete"]
    assert len(trained) >= 2 and (trained.rows == 400).all() and (trained.refit_rows == len(y)).all()
    boosted = trained[trained.family == "lightgbm"]
    # the refit's rounds, scaled for 1,000 rows, stay within those the configuration asked for
    asked = boosted.params.map(lambda p: p["n_estimators"])
    assert (boosted.fidelity <= asked).all() and (boosted.fidelity >= 1).all()
    report = model.report(tmp_path / "report.html").read_text()
    assert "a random sample of 400" in report
    assert model.score(X, y) > 0.7


def test_search_rows_is_checked_with_the_preset(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="search_rows must be a number of rows, at least 100"):
        automl.AutoMLClassifier(preset=write_preset(tmp_path, search_rows=10), n_trials=2).fit(
            *load_dataset("german_credit")
        )


def test_a_trials_time_on_all_rows_is_projected_from_its_samples() -> None:
    assert projected_seconds([(10_000, 1.0)], 200_000) == pytest.approx(20.0)  # one sample: linear
    assert projected_seconds([(10_000, 1.0), (40_000, 8.0)], 160_000) == pytest.approx(64.0)  # rows ** 1.5
    assert projected_seconds([(10_000, 1.0), (40_000, 2.0)], 160_000) == pytest.approx(
        8.0
    )  # never below linear
    assert projected_seconds([(10_000, 1.0), (40_000, 64.0)], 160_000) == pytest.approx(
        1024.0
    )  # at most rows ** 2


def test_the_refit_reserve_grows_with_each_trials_rows_and_keeps_to_a_share_for_members() -> None:
    study = optuna.create_study(direction="maximize")
    for value, rows, refit_rows in [(0.9, 200_000, 1_000_000), (0.8, 200_000, 200_000), (0.7, 100, 100)]:
        study.add_trial(
            optuna.trial.create_trial(
                value=value,
                user_attrs={
                    "fit_seconds": 10.0,
                    "energy_kwh": 1e-4,
                    "folds": 1,
                    "rows": rows,
                    "refit_rows": refit_rows,
                },
            )
        )
    budget = Budget(Deadline(100.0), None, train_share=0.8, refit_models=3)
    budget.update(study)
    best = refit_seconds(
        fold_seconds(10.0, 1), 5.0
    )  # a forest capped at its max_rows grows 1x, a sampled trial 5x
    assert best == pytest.approx(60.5)
    others = 2 * refit_seconds(fold_seconds(10.0, 1), 1.0)  # under their share of the budget
    assert budget.reserve == pytest.approx(best + min(others, MEMBERS_RESERVE_SHARE * 100.0))
    # Refit again on all rows after the held-out score: time is kept for both refits of the best,
    # and the members' share is for both together.
    twice = Budget(Deadline(100.0), None, train_share=0.8, refit_models=3, refit_passes=2.3)
    twice.update(study)
    assert twice.reserve == pytest.approx(2.3 * best + min(2.3 * others, MEMBERS_RESERVE_SHARE * 100.0))
    assert (
        twice.refit_energy(study) == pytest.approx(2.3 * budget.refit_energy(study))
        and budget.refit_energy(study) > 0
    )
    # A trial that recorded its folds' training alone is reserved for by that, not its whole time.
    assert fold_seconds(10.0, 2, train_seconds=1.5) == 1.5
    assert fold_seconds(10.0, 2) == 5.0
    assert refit_growth(float("nan"), float("nan"), 0.8) == pytest.approx(
        1.25
    )  # a trial recorded without them


def test_a_trial_too_slow_for_the_time_left_is_pruned_at_a_row_sample(tmp_path: Path) -> None:
    write_family(tmp_path / "spaces", "slowpoke", "faulty_estimators.Slowpoke")
    write_family(tmp_path / "spaces", "logreg", "sklearn.linear_model.LogisticRegression")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.standard_normal((40_000, 3)), columns=["a", "b", "c"])
    y = (X.a + rng.standard_normal(len(X)) > 0).astype(int)
    model = automl.AutoMLClassifier(
        preset=write_preset(tmp_path, holdout_above=1_000, stop={"converge": False}),
        search_space=tmp_path / "spaces",
        families=["slowpoke", "logreg"],
        time_budget=20,
        holdout=None,
        seed=0,
    ).fit(X, y)
    board = model.leaderboard_
    slow = board[board.family == "slowpoke"]
    assert len(slow) and (slow.state == "pruned").all(), slow.reason.tolist()
    # 2.5 s on the 10,000-row sample: about 8 s on all 32,000 training rows, over 15% of what is left
    projected = slow.reason.str.match(
        r"pruned at 10,000 training rows: its folds on all 32,000 would take about 8 s"
    )
    assert projected.iloc[0] and projected.sum() >= len(slow) / 2  # others: the median pruner, or the budget
    logreg = board[(board.family == "logreg") & (board.state == "complete")]
    assert (slow.fit_seconds.dropna() < 4).all() and len(logreg)
    # The refit's time is reserved from the folds' training alone, not their row samples and scoring.
    assert (logreg.train_seconds > 0).all() and (logreg.train_seconds < logreg.fit_seconds).all()
