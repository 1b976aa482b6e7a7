"""A frugal search: it stops when more search does not pay, within an energy budget, trains no
configuration twice, leaves out a family that keeps failing, and stops boosting early."""

from __future__ import annotations

import datetime
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
import yaml
from optuna.trial import FrozenTrial, TrialState

import automl
from automl.data import encode, infer_schema
from automl.deadline import Deadline
from automl.families import build
from automl.fidelity import Stretch, train
from automl.sampling import FAILURES_TO_LEAVE_OUT, NOT_RUN, PRUNED_AT_SHARE
from automl.spaces import load_spaces
from automl.stopping import Stopper, StopRule
from automl.units import parse_energy
from conftest import QUICK, load_dataset


def write_space(folder: Path, name: str, data: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump({"family": name, **data}, sort_keys=False))


LOGREG = {
    "tasks": ["binary", "multiclass"],
    "estimator": {"classification": "sklearn.linear_model.LogisticRegression"},
    "preprocessing": {"categorical": "onehot", "scale": True},
    "fixed": {"max_iter": 1000},
    "defaults": [{"C": 1.0}],
    "params": {"C": {"type": "float", "low": 0.001, "high": 1000.0, "log": True}},
}


def test_the_fast_preset_stops_by_itself_when_it_has_converged(
    titanic: tuple[pd.DataFrame, pd.Series],
) -> None:
    model = automl.fit(*titanic, preset="fast", seed=0)  # its own budget: 120 s
    assert model.stop_reason_ == "converged", model.stop_detail_
    assert "no trial (nor the ensemble) beat the best" in model.stop_detail_
    assert model.fit_seconds_ < 120
    top = model.leaderboard_[model.leaderboard_.state == "complete"].nlargest(10, "score")
    assert len({(f, repr(sorted(p.items()))) for f, p in zip(top.family, top.params, strict=True)}) == len(
        top
    )


def test_without_convergence_the_whole_budget_is_searched(iris: tuple[pd.DataFrame, pd.Series]) -> None:
    model = automl.AutoMLClassifier(
        preset="fast", families=["logistic_regression"], time_budget=6, stop_when_converged=False, seed=0
    ).fit(*iris)
    assert model.stop_reason_ == "time budget" and model.fit_seconds_ > 4


def test_an_energy_budget_stops_the_search(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    budget_wh = 0.002
    model = automl.AutoMLClassifier(
        preset="balanced",
        families=["random_forest", "logistic_regression"],
        time_budget=60,
        energy_budget=f"{budget_wh}Wh",
        stop_when_converged=False,
        cv=3,
        seed=0,
    ).fit(*titanic)
    assert model.stop_reason_ == "energy budget", model.stop_detail_
    assert f"reaches the energy budget of {budget_wh:.3g} Wh" in model.stop_detail_
    assert model.fit_seconds_ < 60
    # No trial starts once the trials and the refit's estimate reach it: the last one may end past it.
    assert model.search_energy_.energy_kwh <= budget_wh / 1000 + model.leaderboard_.energy_kwh.max()


@pytest.mark.parametrize(
    ("text", "kwh"), [(0.5, 5e-4), ("0.5Wh", 5e-4), ("500mWh", 5e-4), ("0.001kWh", 1e-3), ("1800J", 5e-4)]
)
def test_energy_budgets_are_read_in_their_unit(text: Any, kwh: float) -> None:
    assert parse_energy(text) == pytest.approx(kwh)


def test_a_configuration_is_trained_once(tmp_path: Path, iris: tuple[pd.DataFrame, pd.Series]) -> None:
    """Two choices only: after both are tried, every further sample repeats one and is not trained."""
    write_space(
        tmp_path,
        "tiny",
        {
            **LOGREG,
            "params": {"C": {"type": "categorical", "choices": [0.1, 10.0]}},
            "defaults": [{"C": 0.1}],
        },
    )
    model = automl.AutoMLClassifier(search_space=tmp_path, **{**QUICK, "n_trials": 8}).fit(*iris)
    board = model.leaderboard_
    complete = board[board.state == "complete"]
    assert len(complete) == len({p["C"] for p in complete.params}) <= 2
    repeats = board[board.state == "duplicate"]
    assert len(repeats) >= 8 - 2 - (board.state == "pruned").sum()
    assert (
        repeats.score.isna().all()
        and repeats.reason.str.startswith("the same configuration as trial #").all()
    )
    assert repeats.energy_kwh.isna().all()  # nothing was trained
    assert set(model.candidates_.number.dropna()) <= set(complete.number)


def test_floats_are_sampled_at_the_resolution_that_makes_another_model() -> None:
    C = load_spaces()["logistic_regression"].params[0]
    assert C.resolve(0.018098289) == 0.018 and C.resolve(0.0189) == 0.019 and C.resolve(1e-9) == C.low


def test_a_family_that_keeps_failing_is_left_out(
    tmp_path: Path, iris: tuple[pd.DataFrame, pd.Series], caplog: pytest.LogCaptureFixture
) -> None:
    write_space(tmp_path, "logreg", LOGREG)
    write_space(
        tmp_path, "broken", {**LOGREG, "fixed": {"max_iter": -1}, "defaults": [{"C": 1.0}, {"C": 2.0}]}
    )
    model = automl.AutoMLClassifier(search_space=tmp_path, **{**QUICK, "n_trials": 40}).fit(*iris)
    board = model.leaderboard_
    broken = board[board.family == "broken"]
    trained = broken[~broken.reason.str.startswith(NOT_RUN)]
    assert len(trained) == len(trained[trained.state == "fail"]) == FAILURES_TO_LEAVE_OUT
    left_out_at = trained.number.max()  # after it, the family is never trained nor sampled again
    assert (broken.number > left_out_at).sum() == broken.reason.str.startswith(NOT_RUN).sum() <= 1
    later = board[board.number > left_out_at]
    assert len(later) >= 10 and (later[~later.reason.str.startswith(NOT_RUN)].family == "logreg").all()
    report = model.report(tmp_path / "report.html").read_text()
    assert "left out after repeated failures" in report
    (record,) = [r for r in caplog.records if r.name == "automl" and "was left out" in r.getMessage()]
    assert record.levelname == "WARNING" and "'broken'" in record.getMessage()


def test_boosting_stops_early_and_the_refit_uses_the_rounds_it_learnt(
    titanic: tuple[pd.DataFrame, pd.Series],
) -> None:
    model = automl.AutoMLClassifier(families=["lightgbm"], **{**QUICK, "n_trials": 5}).fit(*titanic)
    complete = model.leaderboard_[model.leaderboard_.state == "complete"]
    learnt = complete.fidelity.astype(int)
    assert (learnt < complete.params.map(lambda p: p["n_estimators"]) * 1.5).all()
    assert (learnt < complete.params.map(lambda p: p["n_estimators"])).any(), complete[["fidelity", "params"]]
    best = complete.loc[
        complete.score.idxmax()
    ]  # the best single trial is on the front (cheaper than an ensemble)
    model.select(trial=int(best.number))  # with no deadline, the refit trains its most rounds
    assert model.model_[-1].n_estimators == int(best.fidelity_max) == model.best_params_["n_estimators"]
    assert (complete.fidelity <= complete.fidelity_max).all()


def test_a_stretched_lightgbm_fit_ends_at_its_least_rounds_when_time_is_up(
    titanic: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = titanic
    schema = infer_schema(X)
    family = load_spaces()["lightgbm"]
    target = np.unique(y, return_inverse=True)[1]
    for until, rounds in ((Deadline(0), 30), (Deadline(None), 200)):
        pipeline = build(family, "binary", {"n_estimators": 200}, schema, seed=0, threads=1)
        trained = train(
            pipeline, family, encode(X, schema), target, Deadline(None), stretch=Stretch(30, until)
        )
        assert trained.reached == pipeline[-1].booster_.current_iteration() == rounds


def test_a_staged_fit_is_costed_as_one_plain_fit_of_the_rounds_it_trained(
    titanic: tuple[pd.DataFrame, pd.Series],
) -> None:
    X, y = titanic
    schema = infer_schema(X)
    features, target = encode(X, schema), np.unique(y, return_inverse=True)[1]
    train_rows, valid = features.iloc[200:], (features.iloc[:200], target[:200])
    for name, params in (
        ("hist_gradient_boosting", {"max_iter": 400, "learning_rate": 0.3}),
        ("lightgbm", {"n_estimators": 400, "learning_rate": 0.3}),
    ):
        family = load_spaces()[name]
        pipeline = build(family, "binary", params, schema, seed=0, threads=1)
        started = time.perf_counter()
        trained = train(pipeline, family, train_rows, target[200:], Deadline(60), valid=valid)
        seconds = time.perf_counter() - started
        assert trained.reached is not None and trained.pace.rounds is not None
        # Early stopping trains its patience past the best round, and those rounds cost time too.
        assert trained.reached < trained.pace.rounds <= trained.reached + family.early_stopping.patience + 1
        assert 0 < trained.pace.plain_seconds(seconds, trained.pace.rounds) <= seconds
        # Warm starts bin the rows again at every stage: their fastest stage's pace leaves most of that out.
        assert (trained.pace.round_seconds is not None) == (name == "hist_gradient_boosting")


@pytest.mark.parametrize("name", ["hist_gradient_boosting", "mlp"])
def test_where_the_stages_end_does_not_change_the_model(
    name: str, penguins: tuple[pd.DataFrame, pd.Series], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage that ends where early stopping would have stopped does not train on when resumed.

    How a run is cut into stages depends on the machine's pace, so it must not change the model.
    """
    X, y = penguins
    schema = infer_schema(X)
    features, target = encode(X, schema), np.unique(y, return_inverse=True)[1]
    train_rows, valid = features.iloc[::2], (features.iloc[1::2], target[1::2])
    family = load_spaces()[name]

    def fit() -> tuple[int | None, np.ndarray]:
        pipeline = build(family, "multiclass", dict(family.defaults[0]), schema, seed=0, threads=1)
        trained = train(pipeline, family, train_rows, target[::2], Deadline(None), valid=valid)
        return trained.reached, pipeline.predict_proba(valid[0])

    reached, whole = fit()
    monkeypatch.setattr("automl.fidelity._next_stage", lambda done, *_: done + 1)
    staged_reached, staged = fit()
    assert staged_reached == reached
    np.testing.assert_allclose(staged, whole, rtol=1e-6, atol=1e-9)


def test_the_stop_reason_reaches_the_report(titanic: tuple[pd.DataFrame, pd.Series], tmp_path: Path) -> None:
    X, y = load_dataset("breast_cancer")
    model = automl.AutoMLClassifier(
        preset="fast", families=["logistic_regression"], time_budget=30, seed=0
    ).fit(X, y)
    html = model.report(tmp_path / "report.html").read_text()
    assert f"{model.stop_reason_}: {model.stop_detail_}" in html


def test_trials_pruned_on_a_row_sample_do_not_count_towards_convergence() -> None:
    started = time.time() - 100
    study = optuna.create_study(direction="maximize")

    def add(value: float | None, ended: float, **attrs: Any) -> None:
        state = TrialState.COMPLETE if value is not None else TrialState.PRUNED
        at = datetime.datetime.fromtimestamp(started + ended)
        study.add_trial(
            FrozenTrial(
                number=0,
                state=state,
                value=value,
                datetime_start=at,
                datetime_complete=at,
                params={},
                distributions={},
                user_attrs=attrs,
                system_attrs={},
                intermediate_values={},
                trial_id=0,
            )
        )

    add(0.8, 10, folds=1, score_std=0.0)
    for second in range(20, 60):
        add(None, second, **{PRUNED_AT_SHARE: 0.05})
    stopper = Stopper(StopRule(patience_trials=12, patience_share=0.3), lambda trials: None, started)
    assert stopper.check(study) is None  # forty trials since the best, none judged on all rows
    for second in range(60, 66):
        add(0.7, second, folds=1, score_std=0.0)
    for second in range(66, 72):  # pruned on a third of the rows: evidence enough
        add(None, second, **{PRUNED_AT_SHARE: 1 / 3})
    stop = stopper.check(study)
    assert stop is not None and stop.reason == "converged" and "last 12 trials" in stop.detail
