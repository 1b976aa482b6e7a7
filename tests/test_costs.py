"""What every trial costs (CodeCarbon energy, CO2, time, latency, size) and the ensemble on the front."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

import automl
from automl.energy import EnergyMeter
from automl.ensemble import EnsembleModel, blend, cross_fitted_gain, diverse_candidates, ensemble_selection
from automl.metrics import get_metric
from tests.conftest import split

COSTS = ["fit_seconds", "cpu_seconds", "energy_kwh", "co2_kg", "predict_ms_per_1k", "model_bytes"]


@pytest.fixture(scope="module")
def ensembled(titanic: tuple[pd.DataFrame, pd.Series]) -> tuple[automl.AutoMLClassifier, pd.DataFrame]:
    """A search over two unlike families, whose preset builds an ensemble of the best trials."""
    X_train, X_test, y_train, _ = split(*titanic)
    families = ["logistic_regression", "lightgbm"]
    model = automl.AutoMLClassifier(preset="balanced", families=families, n_trials=6, cv=3, seed=0).fit(
        X_train, y_train
    )
    return model, X_test


def test_every_completed_trial_has_positive_finite_costs_in_the_study(ensembled: Any) -> None:
    model, _ = ensembled
    complete = [t for t in model.study_.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete
    for trial in complete:
        for cost in COSTS:
            value = trial.user_attrs[cost]
            assert math.isfinite(value) and value > 0, f"trial {trial.number}: {cost} = {value}"
        parts = trial.user_attrs["cpu_kwh"] + trial.user_attrs["ram_kwh"] + trial.user_attrs["gpu_kwh"]
        assert trial.user_attrs["energy_kwh"] == pytest.approx(parts)


def test_run_totals_add_up(ensembled: Any) -> None:
    model, _ = ensembled
    assert model.search_energy_.energy_kwh == pytest.approx(model.leaderboard_.energy_kwh.fillna(0).sum())
    assert model.refit_energy_.energy_kwh > 0 and model.refit_energy_.co2_kg > 0
    assert model.total_energy_.energy_kwh == pytest.approx(
        model.search_energy_.energy_kwh + model.refit_energy_.energy_kwh
    )
    assert 0 <= model.energy_overhead_seconds_ < model.fit_seconds_


def test_a_new_meter_starts_in_the_background_and_counts_its_start_up_as_overhead() -> None:
    constructing = time.perf_counter()
    meter = EnergyMeter("FRA")
    assert time.perf_counter() - constructing < 1.0, (
        "constructing the tracker must not wait for its hardware detection"
    )
    with meter.measure("work") as energy:
        sum(i * i for i in range(2_000_000))
    assert energy.energy_kwh > 0 and energy.co2_kg > 0 and energy.cpu_seconds > 0
    after_first = meter.overhead_seconds
    assert after_first > 0
    with meter.measure("again"):
        pass
    assert 0 < meter.overhead_seconds - after_first < after_first, (
        "only the first task waits for the start-up"
    )
    assert meter.method()["country"] == "FRA"


def test_the_measurement_method_is_recorded(ensembled: Any) -> None:
    method = ensembled[0].energy_method_
    assert isinstance(method["measured"], bool)
    assert method["description"].startswith("measured" if method["measured"] else "estimated")
    assert method["cpu_power_w"] > 0 and method["ram_power_w"] > 0
    assert method["country"] == "USA" and method["tracking_mode"] == "process" and method["codecarbon"]


def test_the_ensemble_is_a_point_of_the_front_with_summed_costs(ensembled: Any) -> None:
    model, X_test = ensembled
    ensemble = model.pareto_front_[model.pareto_front_.members.map(len) > 1]
    assert len(ensemble) == 1, "two unlike families should blend into a better ensemble"
    row = ensemble.iloc[0]
    weights = row.members
    assert sum(weights.values()) == pytest.approx(1.0) and len(weights) >= 2
    members = model.leaderboard_.set_index("number").loc[list(weights)]
    for cost in COSTS:
        assert row[cost] == pytest.approx(members[cost].sum())
    assert row.score >= model.leaderboard_.score.max()  # it is chosen by the 'best' rule only if it wins
    assert model.chosen_.is_ensemble and isinstance(model.model_, EnsembleModel)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2) and np.allclose(proba.sum(axis=1), 1.0) and (proba >= 0).all()
    assert set(model.predict(X_test)) <= set(model.classes_)


def test_ensemble_selection_never_scores_below_the_best_member(ensembled: Any) -> None:
    model, _ = ensembled
    y = model._train[1]
    predictions = model.oof_.predictions
    weights = ensemble_selection(predictions, y, model.metric_, size=20)
    assert set(weights) <= set(predictions) and sum(weights.values()) == pytest.approx(1.0)
    best_single = max(model.metric_.score(y, p) for p in predictions.values())
    assert model.metric_.score(y, blend(predictions, weights)) >= best_single


def test_ensemble_selection_keeps_its_members_refit_within_the_allowance(ensembled: Any) -> None:
    model, _ = ensembled
    y, predictions = model._train[1], model.oof_.predictions
    costs = {number: 1.0 + number for number in predictions}
    best_single = max(predictions, key=lambda n: model.metric_.score(y, predictions[n]))
    allowance = costs[best_single] + min(c for n, c in costs.items() if n != best_single)
    weights = ensemble_selection(predictions, y, model.metric_, 20, costs, allowance)
    assert sum(costs[n] for n in weights) <= allowance
    assert ensemble_selection(predictions, y, model.metric_, 20, costs, allowance=0.0) == {best_single: 1.0}


def test_a_blend_that_fits_noise_loses_on_rows_it_was_not_selected_on() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    signal = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, 60), 0.01, 0.99)
    noise = rng.random((19, 60))
    predictions = {n: np.column_stack([1 - p, p]) for n, p in enumerate([signal, *noise])}
    metric = get_metric(None, "binary")
    weights = ensemble_selection(predictions, y, metric, 20)
    assert len(weights) > 1 and metric.score(y, blend(predictions, weights)) > metric.score(y, predictions[0])
    assert cross_fitted_gain(predictions, y, metric, 20) < 0


def test_a_blend_of_independent_errors_wins_on_rows_it_was_not_selected_on() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=300)
    predictions = {n: y + rng.normal(size=300) for n in range(3)}
    assert cross_fitted_gain(predictions, y, get_metric(None, "regression"), 20) > 0.2


def test_ensemble_candidates_take_each_familys_best_before_any_second_best() -> None:
    complete = pd.DataFrame(
        {
            "number": range(6),
            "family": ["lightgbm", "lightgbm", "lightgbm", "lightgbm", "knn", "ridge"],
            "score": [0.95, 0.94, 0.93, 0.92, 0.60, 0.80],
        }
    )
    assert diverse_candidates(complete, 4)["number"].tolist() == [0, 5, 4, 1]
