"""The search: pruning, the time budget, reproducibility, and crashed candidates."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml

import automl
from automl.errors import SearchError
from automl.objective import OOFFiles, OOFStore, make_splits
from automl.pruning import PartialStagesByFamily
from automl.search import enqueue_defaults
from automl.spaces import PARTIAL_RUNGS, load_spaces
from conftest import QUICK, load_dataset


def write_yaml(folder: Path, name: str, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def knn_space(folder: Path, name: str, neighbours: list[int], defaults: list[int] = ()) -> Path:
    """A k-nearest-neighbours family; k larger than a fold's training rows makes the real estimator fail."""
    return write_yaml(
        folder,
        f"{name}.yaml",
        {
            "family": name,
            "tasks": ["binary", "multiclass"],
            "estimator": {"classification": "sklearn.neighbors.KNeighborsClassifier"},
            "preprocessing": {"categorical": "onehot", "scale": True},
            "defaults": [{"n_neighbors": k} for k in defaults],
            "params": {"n_neighbors": {"type": "categorical", "choices": neighbours}},
        },
    )


# ---- pruning ------------------------------------------------------------------------------------


def test_aggressive_pruner_prunes_at_both_levels(tmp_path: Path) -> None:
    """Keeping only the top 10% prunes most trials: on fold 0 at partial fidelity, or after a fold."""
    preset = write_yaml(
        tmp_path,
        "aggressive.yaml",
        {
            "time_budget": 120,
            "cv": 3,
            "ensemble": None,
            "pruner": {
                "name": "PercentilePruner",
                "percentile": 10.0,
                "n_startup_trials": 1,
                "n_warmup_steps": 0,
            },
            "sampler": {"name": "RandomSampler"},
        },
    )
    X, y = load_dataset("german_credit")
    model = automl.AutoMLClassifier(preset=str(preset), families=["extra_trees"], n_trials=8, seed=0).fit(
        X, y
    )
    board = model.leaderboard_
    pruned = board[board.state == "pruned"]
    assert len(pruned) >= 3, board[["family", "state", "score", "reason"]]
    assert (pruned.folds < model.cv_).all() and pruned.score.isna().all()
    reasons = pruned.reason.tolist()
    assert any(re.fullmatch(r"pruned at 11% of its training on fold 0", r) for r in reasons), reasons
    assert any(re.fullmatch(r"pruned after [12] of 3 folds", r) for r in reasons), reasons
    assert model.chosen_.state == "complete"


def test_partial_stages_are_judged_within_the_family_and_folds_across_families() -> None:
    """A boosting model's weak first stage is not compared with a forest's nearly final one."""
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(
        storage=storage,
        direction="maximize",
        pruner=PartialStagesByFamily(optuna.pruners.MedianPruner(n_startup_trials=1), storage),
    )
    families = optuna.distributions.CategoricalDistribution(["random_forest", "lightgbm"])
    for score in (0.9, 0.91):
        study.add_trial(
            optuna.trial.create_trial(
                params={"family": "random_forest"},
                distributions={"family": families},
                value=score,
                intermediate_values={0: score, len(PARTIAL_RUNGS): score},
            )
        )
    study.enqueue_trial({"family": "lightgbm"})
    boosting = study.ask({"family": families})
    assert boosting.params["family"] == "lightgbm"
    boosting.report(0.5, 0)
    assert not boosting.should_prune(), "pruned against another family's partial stage"
    boosting.report(0.5, len(PARTIAL_RUNGS))
    assert boosting.should_prune(), "a fully trained fold must be compared with every family"


# ---- the time budget ----------------------------------------------------------------------------------


def test_time_budget_is_respected() -> None:
    """Total fit wall time stays within 1.1 x time_budget + 5 s, with families that could search far longer."""
    X, y = load_dataset("german_credit")
    time_budget = 10.0
    started = time.perf_counter()
    model = automl.AutoMLClassifier(
        preset="balanced",
        time_budget=time_budget,
        seed=0,
        families=["logistic_regression", "random_forest", "lightgbm"],
    ).fit(X, y)
    elapsed = time.perf_counter() - started
    assert elapsed <= 1.1 * time_budget + 5, model.leaderboard_[["family", "state", "fit_seconds", "reason"]]
    assert elapsed >= 0.5 * time_budget, "the search stopped long before its budget was spent"
    assert model.fit_seconds_ <= elapsed
    assert (model.leaderboard_.state == "complete").any()


def test_budget_too_small_for_any_trial_says_so() -> None:
    X, y = load_dataset("german_credit")
    with pytest.raises(SearchError, match="within the time budget|cut off at the time budget") as error:
        automl.AutoMLClassifier(preset="balanced", time_budget=0.01, families=["lightgbm"], seed=0).fit(X, y)
    assert "larger time_budget" in str(error.value) or "cut off at the time budget" in str(error.value)


def test_n_trials_stops_the_search(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    model = automl.AutoMLClassifier(families=["logistic_regression"], **{**QUICK, "n_trials": 5}).fit(
        *titanic
    )
    assert len(model.leaderboard_) == 5


# ---- reproducibility --------------------------------------------------------------------------------


def test_same_seed_same_search(penguins: tuple[pd.DataFrame, pd.Series]) -> None:
    kwargs = {
        "preset": "balanced",
        "families": ["logistic_regression", "extra_trees", "knn"],
        "n_trials": 6,
        "cv": 3,
        "seed": 7,
        "n_jobs": 1,
    }
    first = automl.AutoMLClassifier(**kwargs).fit(*penguins)
    second = automl.AutoMLClassifier(**kwargs).fit(*penguins)
    columns = ["number", "family", "state", "score", "score_std", "folds", "params"]
    assert len(first.leaderboard_) == 6
    pd.testing.assert_frame_equal(first.leaderboard_[columns], second.leaderboard_[columns])
    assert first.chosen_.number == second.chosen_.number
    assert first.best_params_ == second.best_params_
    np.testing.assert_array_equal(first.predict_proba(penguins[0]), second.predict_proba(penguins[0]))
    other = automl.AutoMLClassifier(**{**kwargs, "seed": 8}).fit(*penguins)
    assert other.leaderboard_.params.tolist() != first.leaderboard_.params.tolist()


# ---- crashed candidates ----------------------------------------------------------------------------


def test_crashed_trial_is_recorded_and_the_search_goes_on(
    tmp_path: Path, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    # cv=3 on 150 rows leaves 100 training rows per fold: k=500 cannot work, k=5 can.
    knn_space(tmp_path, "knn_small", [5, 500], defaults=[500, 5])
    model = automl.AutoMLClassifier(search_space=tmp_path, **{**QUICK, "n_trials": 4}).fit(*iris)
    board = model.leaderboard_
    failed = board[board.state == "fail"]
    assert failed.number.iloc[0] == 0 and (failed.params.map(lambda p: p["n_neighbors"]) == 500).all()
    assert failed.reason.str.startswith("ValueError: Expected n_neighbors <= n_samples_fit").all(), (
        failed.reason.tolist()
    )
    assert failed.score.isna().all()
    complete = board[board.state == "complete"]
    assert len(complete) >= 1 and (complete.params.map(lambda p: p["n_neighbors"]) == 5).all()
    assert len(board) == 4
    assert model.best_params_ == {"family": "knn_small", "n_neighbors": 5}
    assert model.score(*iris) > 0.9


def test_all_trials_failed_lists_the_distinct_causes(
    tmp_path: Path, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    knn_space(tmp_path, "knn_huge", [500], defaults=[500])
    write_yaml(
        tmp_path,
        "bad_logreg.yaml",
        {
            "family": "bad_logreg",
            "tasks": ["binary", "multiclass"],
            "estimator": {"classification": "sklearn.linear_model.LogisticRegression"},
            "defaults": [{"C": -1.0}],
            "params": {"C": {"type": "categorical", "choices": [-1.0]}},
        },
    )
    with pytest.raises(SearchError) as error:
        automl.AutoMLClassifier(search_space=tmp_path, **{**QUICK, "n_trials": 4}).fit(*iris)
    message = str(error.value)
    assert message.startswith("no trial completed; the causes were:")
    lines = message.splitlines()[1:]
    assert len(lines) == 2, message
    assert any("ValueError: Expected n_neighbors <= n_samples_fit" in line for line in lines), message
    assert any("InvalidParameterError: The 'C' parameter of LogisticRegression" in line for line in lines), (
        message
    )
    assert sum(int(line.split("- ")[1].split(" trial")[0]) for line in lines) == 4


# ---- the pieces ---------------------------------------------------------------------------------------


def test_defaults_are_tried_first_in_priority_order() -> None:
    spaces = load_spaces()
    families = sorted(
        (spaces[n] for n in ("knn", "logistic_regression", "lightgbm")), key=lambda f: f.priority
    )
    study = optuna.create_study(direction="maximize")
    enqueue_defaults(study, families)
    tried = []
    for _ in range(sum(len(f.defaults) for f in families)):
        trial = study.ask()
        family = spaces[trial.suggest_categorical("family", [f.name for f in families])]
        params = family.suggest(trial, "binary")
        tried.append((family.name, {k: v for k, v in params.items() if v is not None}))
        study.tell(trial, 0.0)
    assert [name for name, _ in tried[: len(families)]] == [f.name for f in families]
    assert sorted(tried, key=str) == sorted(
        ((f.name, dict(d)) for f in families for d in f.defaults), key=str
    )


@pytest.mark.parametrize(
    ("task", "labels"), [("multiclass", np.repeat([0, 1, 2], [50, 30, 20])), ("regression", np.arange(100.0))]
)
def test_splits_are_seeded_and_stratified_for_classes(task: str, labels: np.ndarray) -> None:
    splits = make_splits(labels, task, 5, seed=3)
    assert len(splits) == 5
    assert sorted(np.concatenate([valid for _, valid in splits]).tolist()) == list(range(100))
    for (_, valid_a), (_, valid_b) in zip(splits, make_splits(labels, task, 5, seed=3), strict=True):
        np.testing.assert_array_equal(valid_a, valid_b)
    if task == "multiclass":
        for _, valid in splits:
            assert np.bincount(labels[valid]).tolist() == [10, 6, 4]


def test_oof_store_keeps_the_best() -> None:
    store = OOFStore(keep=2)
    for number, score in enumerate([0.5, 0.9, 0.7]):
        store.add(number, score, np.full(3, score))
    assert sorted(store.predictions) == [1, 2]


# ---- the study as a record ------------------------------------------------------------------------


def test_the_study_records_its_metric_its_choice_and_no_queued_trial() -> None:
    X, y = load_dataset("titanic")
    model = automl.AutoMLClassifier(
        families=["lightgbm", "logistic_regression"], **{**QUICK, "n_trials": 2}
    ).fit(X, y)
    study = model.study_
    assert study.metric_names == ["roc_auc"]
    states = {t.state for t in study.trials}
    assert optuna.trial.TrialState.WAITING not in states
    not_run = [t for t in study.trials if t.user_attrs.get("queued_not_run")]  # lightgbm has 5 defaults
    assert not_run and all(t.state == optuna.trial.TrialState.FAIL for t in not_run)
    assert set(model.leaderboard_.number).isdisjoint(t.number for t in not_run)
    assert study.user_attrs["chosen"]["family"] == model.chosen_.family
    assert dict(study.user_attrs["chosen"]["members"]) == model.chosen_.members
    assert study.best_value == model.leaderboard_.score.max()  # the value is the score


def test_the_green_study_names_its_energy_penalised_value() -> None:
    X, y = load_dataset("iris")
    model = automl.AutoMLClassifier(
        preset="green", families=["logistic_regression"], n_trials=2, cv=3, seed=0
    ).fit(X, y)
    (name,) = model.study_.metric_names
    assert name.startswith("neg_log_loss - ") and "log10(energy_kwh)" in name
    for trial in model.study_.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        attrs = trial.user_attrs
        assert trial.value == pytest.approx(attrs["score"] - attrs["energy_penalty"])


def test_predictions_beyond_float32_are_not_kept_for_ensembles(tmp_path: Path) -> None:
    """Stored as float32 they would read back as infinities, which no blend can be scored with."""
    files = OOFFiles(tmp_path)
    files.add(0, -1.0, np.array([1.0, 2.0]))
    files.add(1, -1e39, np.array([1.0, -1e39]))
    assert files.read(0) is not None and files.read(1) is None
