"""holdout=: test rows withheld before the search, the chosen model scored on them once."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from browser import open_offline, system_chromium
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

import automl
from automl.candidates import Candidate
from automl.errors import ConfigError
from automl.estimator import heaviest_share
from automl.holdout import AUTO_ABOVE, AUTO_SHARE, HoldoutResult, resolve, split
from automl.report import write_report
from conftest import load_dataset

QUICK: dict[str, Any] = {"preset": "fast", "n_trials": 3, "cv": 3, "seed": 0}


@pytest.fixture(scope="module")
def held_out(titanic: tuple[pd.DataFrame, pd.Series]) -> automl.AutoMLClassifier:
    X, y = titanic
    return automl.AutoMLClassifier(
        families=["logistic_regression"], holdout=0.2, refit_full=False, **QUICK
    ).fit(X, y)


def test_by_default_the_scored_model_is_then_refit_on_all_rows(
    held_out: automl.AutoMLClassifier, titanic: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, y = titanic
    model = automl.AutoMLClassifier(families=["logistic_regression"], holdout=0.2, **QUICK).fit(X, y)
    assert model.holdout_.refit_on_all_rows and model.holdout_.as_dict()["refit_on_all_rows"] is True
    assert model.n_train_rows_ == len(y) and held_out.n_train_rows_ < len(y)
    assert model.holdout_score_ == pytest.approx(held_out.holdout_score_)  # the same search, scored alike
    assert not np.allclose(model.predict_proba(X), held_out.predict_proba(X))  # more rows, another model
    assert model.refit_energy_.energy_kwh > 0
    assert (
        "scored before the model was refit on all rows"
        in write_report(model, tmp_path / "r.html").read_text()
    )
    model.select("best")
    assert model.holdout_.refit_on_all_rows and model.n_train_rows_ == len(y)


def test_the_test_rows_are_withheld_and_scored_once(
    held_out: automl.AutoMLClassifier, titanic: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = titanic
    searched, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=0)
    held = held_out.holdout_
    assert held.rows == len(test) and held_out.n_train_rows_ == len(searched) == len(held_out.oof_rows_)
    assert y.iloc[test].mean() == pytest.approx(y.mean(), abs=0.01)  # stratified
    expected = roc_auc_score(y.iloc[np.sort(test)], held_out.predict_proba(X.iloc[np.sort(test)])[:, 1])
    assert held_out.holdout_score_ == pytest.approx(expected, rel=1e-9)
    assert held.cv_score == held_out.chosen_.score and held.cv_std == held_out.chosen_.score_std
    assert held.as_dict()["refit_on_all_rows"] is False
    assert held.single_trial is None


def test_report_shows_the_held_out_score_beside_cross_validation(
    held_out: automl.AutoMLClassifier, tmp_path: Path
) -> None:
    html = write_report(held_out, tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"Held-out roc_auc</dt><dd>{held_out.holdout_score_:.4f}" in html
    assert "test rows (20%) the search never saw; the model is not refitted on them" in html


def test_a_gap_beyond_the_cv_spread_is_a_warning(held_out: automl.AutoMLClassifier, tmp_path: Path) -> None:
    gap = HoldoutResult(rows=179, share=0.2, score=0.70, cv_score=0.85, cv_std=0.02)
    assert gap.suspicious and not HoldoutResult(179, 0.2, 0.84, 0.85, 0.02).suspicious
    original = held_out.holdout_
    try:
        held_out.holdout_ = gap
        html = write_report(held_out, tmp_path / "report.html").read_text(encoding="utf-8")
    finally:
        held_out.holdout_ = original
    assert "Cross-validation and test rows disagree" in html


def test_an_ensemble_is_compared_with_the_best_single_trial(caplog: pytest.LogCaptureFixture) -> None:
    X, y = load_dataset("breast_cancer")
    families = ["lightgbm", "logistic_regression"]
    with caplog.at_level(logging.WARNING, logger="automl"):
        model = automl.AutoMLClassifier(families=families, holdout=0.25, **{**QUICK, "n_trials": 8}).fit(X, y)
    held = model.holdout_
    assert model.chosen_.is_ensemble
    best = model.leaderboard_.loc[model.leaderboard_.score.idxmax(), "number"]
    assert held.single_trial == best and 0.9 < held.single_score <= 1
    assert ("test rows" in caplog.text) == held.suspicious


def test_auto_withholds_only_on_large_tables(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    assert resolve("auto", AUTO_ABOVE + 1) == AUTO_SHARE and resolve("auto", AUTO_ABOVE) is None
    assert resolve(None, 10**6) is None and resolve(0.3, 100) == 0.3
    X, y = titanic
    model = automl.AutoMLClassifier(families=["logistic_regression"], **QUICK).fit(X, y)
    assert model.holdout_ is None and model.holdout_score_ is None and model.n_train_rows_ == len(X)


@pytest.mark.parametrize("bad", [0.7, -0.1, "yes", True])
def test_a_bad_holdout_is_a_config_error(bad: Any, iris: tuple[pd.DataFrame, pd.Series]) -> None:
    with pytest.raises(
        ConfigError, match=r'holdout must be "auto", None, or a share of the rows from 0 to 0.5'
    ):
        automl.AutoMLClassifier(holdout=bad, **QUICK).fit(*iris)


def test_time_ordered_rows_hold_out_the_latest_and_groups_whole_groups() -> None:
    y = np.zeros(10)
    order = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])  # row 9 is the earliest
    searched, test = split(y, 0.3, False, 0, time_order=order)
    assert list(test) == [0, 1, 2] and list(searched) == list(range(3, 10))
    groups = np.repeat(np.arange(5), 2)
    searched, test = split(y, 0.4, False, 0, groups=groups)
    assert not set(groups[searched]) & set(groups[test]) and len(test) == 4


def test_splits_given_as_cv_keep_every_row(iris: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = iris
    rows = np.random.default_rng(0).permutation(len(X))
    splits = [(rows[:100], rows[100:]), (rows[50:], rows[:50])]
    with pytest.raises(ConfigError, match="holdout cannot withhold rows when cv gives the splits"):
        automl.AutoMLClassifier(families=["logistic_regression"], n_trials=1, cv=splits, holdout=0.2).fit(
            X, y
        )


@pytest.mark.browser
def test_the_held_out_score_renders_in_the_browser(held_out: automl.AutoMLClassifier, tmp_path: Path) -> None:
    path = write_report(held_out, tmp_path / "report.html")
    with system_chromium() as browser:
        loaded = open_offline(browser, path)
        loaded.page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.plotly-graph-div')).every(d => d._fullLayout)"
        )
        assert loaded.errors == [] and loaded.requests == []
        summary = loaded.page.locator("#summary").inner_text()
    assert f"Held-out roc_auc\n{held_out.holdout_score_:.4f} on 179 test rows (20%)" in summary
    assert "CV roc_auc" in summary


def test_the_refit_on_all_rows_needs_time_only_for_the_heaviest_member() -> None:
    """Members that would overrun are left out of it, so only the heaviest must fit in the time left."""
    board = pd.DataFrame(
        {
            "number": [0, 1, 2],
            "fit_seconds": [15.0, 5.0, np.nan],
            "folds": [5, 5, 5],
            "train_seconds": [np.nan, np.nan, np.nan],
            "rows": [800, 800, 800],
            "refit_rows": [1000, 1000, 1000],
        }
    )
    ensemble = Candidate(members={0: 0.6, 1: 0.4}, family="ensemble", score=0.9)
    three, one = (
        3.0 * 1.25 * 1.2 + 0.5,
        1.0 * 1.25 * 1.2 + 0.5,
    )  # refit_seconds: per fold x growth x 1.2 + 0.5
    assert heaviest_share(ensemble, board, 0.8, 1.0) == pytest.approx(three / (three + one))
    assert heaviest_share(Candidate(members={1: 1.0}, family="ridge", score=0.9), board, 0.8, 1.0) == 1.0
    assert (
        heaviest_share(Candidate(members={2: 0.7, 0: 0.3}, family="ensemble", score=0.9), board, 0.8, 1.0)
        == 1.0
    )  # unknown
