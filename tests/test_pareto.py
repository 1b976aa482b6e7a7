"""The accuracy/cost Pareto front and the selection rules, checked as properties over random fronts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from automl.errors import ConfigError
from automl.pareto import pareto_front, pareto_mask, select

# Few distinct values, so that ties in score and in cost are common.
points = st.lists(
    st.tuples(st.integers(0, 6).map(lambda s: s / 6), st.integers(1, 8).map(lambda c: 10.0 ** (c - 6))),
    min_size=1,
    max_size=40,
)


def as_trials(pairs: list[tuple[float, float]]) -> pd.DataFrame:
    scores, costs = zip(*pairs, strict=True)
    return pd.DataFrame({"number": range(len(pairs)), "score": scores, "energy_kwh": costs})


def dominates(a: pd.Series, b: pd.Series) -> bool:
    return a.score > b.score and a.energy_kwh <= b.energy_kwh


@given(points)
def test_front_is_exactly_the_non_dominated_points(pairs: list[tuple[float, float]]) -> None:
    trials = as_trials(pairs)
    mask = pareto_mask(trials.score.to_numpy(), trials.energy_kwh.to_numpy())
    for i, row in trials.iterrows():
        assert mask[i] != any(dominates(other, row) for j, other in trials.iterrows() if j != i)


@given(points)
def test_front_holds_the_best_score_at_its_lowest_cost_and_the_cheapest_point(
    pairs: list[tuple[float, float]],
) -> None:
    trials = as_trials(pairs)
    front = pareto_front(trials, "energy_kwh")
    best = trials.score.max()
    assert (front.score == best).sum() == (trials.score == best).sum()
    assert front.energy_kwh.min() == trials.energy_kwh.min()
    assert front.score.is_monotonic_decreasing
    least = front.groupby("score", sort=False).energy_kwh.min()
    assert least.is_monotonic_decreasing, "a lower score stands only where it costs less"


@given(points, st.sampled_from([0.0, 0.005, 0.05, 0.5]))
def test_each_rule_picks_what_it_promises(pairs: list[tuple[float, float]], tolerance: float) -> None:
    front = pareto_front(as_trials(pairs), "energy_kwh")
    best = front.score.max()
    assert front.loc[select(front, "best", "energy_kwh"), "score"] == best

    green = front.loc[select(front, "cheapest_within", "energy_kwh", tolerance=tolerance)]
    within = front[front.score >= best - tolerance * max(abs(best), 1e-12)]
    assert green.score >= best - tolerance * max(abs(best), 1e-12)
    assert green.energy_kwh == within.energy_kwh.min()

    assert select(front, "knee", "energy_kwh") in front.index


def test_equal_scores_all_stand_and_best_is_the_first_of_them() -> None:
    """Which of two equal scores cost less is a measurement: choosing by it would make refits differ."""
    trials = as_trials([(0.8, 2e-6), (0.9, 3e-6), (0.9, 1e-6), (0.7, 5e-7)])
    front = pareto_front(trials, "energy_kwh")
    assert list(front.number) == [1, 2, 3]
    assert front.loc[select(front, "best", "energy_kwh"), "number"] == 1
    assert front.loc[select(front, "cheapest_within", "energy_kwh", tolerance=0.0), "number"] == 2


def test_knee_is_the_bend_of_the_front() -> None:
    # Score rises fast until a cost of 1e-4, then barely: the knee is there.
    front = pareto_front(as_trials([(0.50, 1e-6), (0.90, 1e-4), (0.91, 1e-2), (0.92, 1e0)]), "energy_kwh")
    assert front.loc[select(front, "knee", "energy_kwh"), "energy_kwh"] == 1e-4


def test_unknown_rule_and_empty_front() -> None:
    front = pareto_front(as_trials([(0.5, 1.0)]), "energy_kwh")
    with pytest.raises(ConfigError, match="unknown selection rule 'cheap'"):
        select(front, "cheap", "energy_kwh")
    with pytest.raises(ConfigError, match="no trial completed"):
        select(front.iloc[:0], "best", "energy_kwh")


def test_negated_losses_keep_tolerance_relative() -> None:
    """Scores of losses are negative (the study maximises): 0.5% of a log loss of 0.2 is 0.001."""
    front = pareto_front(as_trials([(-0.200, 1.0), (-0.2009, 0.1), (-0.202, 0.01)]), "energy_kwh")
    chosen = front.loc[select(front, "cheapest_within", "energy_kwh", tolerance=0.005)]
    assert np.isclose(chosen.score, -0.2009)
