"""The accuracy/cost Pareto front and the rules that choose one model on it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.errors import ConfigError


def pareto_mask(scores: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """True for the points no other point beats: none scores higher at no more cost.

    Equal scores all stand: which of them is cheaper is a measurement (energy, time) that varies
    from run to run, and the same search must choose the same model.
    """
    scores, costs = np.asarray(scores, dtype=float), np.asarray(costs, dtype=float)
    mask = np.zeros(len(scores), dtype=bool)
    cheapest = np.inf  # the least cost of a strictly better score
    for score in np.unique(scores)[::-1]:
        tied = scores == score
        mask[tied] = costs[tied] < cheapest
        cheapest = min(cheapest, costs[tied].min())
    return mask


def pareto_front(trials: pd.DataFrame, cost: str, score: str = "score") -> pd.DataFrame:
    """The non-dominated rows of ``trials``, best score first; equal scores in the order of ``trials``."""
    if trials.empty:
        return trials
    mask = pareto_mask(trials[score].to_numpy(), trials[cost].to_numpy())
    return trials[mask].sort_values(score, ascending=False, kind="stable")


def select(
    front: pd.DataFrame, rule: str, cost: str, *, tolerance: float = 0.005, score: str = "score"
) -> int:
    """The index label of the row of ``front`` that ``rule`` chooses.

    ``best``: the highest score (the first of equal ones). ``cheapest_within``: the lowest cost whose score is within
    ``tolerance`` (relative) of the best. ``knee``: the point farthest from the line joining
    the front's two ends, in normalised score/cost.
    """
    if front.empty:
        raise ConfigError("the Pareto front is empty: no trial completed")
    best = front[score].idxmax()
    if rule == "best":
        return best
    if rule == "cheapest_within":
        top = front.loc[best, score]
        bound = top - tolerance * max(abs(top), 1e-12)
        within = front[front[score] >= bound]
        return within[cost].idxmin()
    if rule == "knee":
        if len(front) < 3:
            return best
        s = _normalise(front[score].to_numpy())
        c = _normalise(np.log10(front[cost].to_numpy() + 1e-12))
        # distance from the line through (c=1, s=1) (best, dearest) and (c=0, s=0) (cheapest, worst)
        distance = np.abs(s - c) / np.sqrt(2)
        return front.index[int(np.argmax(np.where(s >= c, distance, -distance)))]
    raise ConfigError(f"unknown selection rule {rule!r}; choose best, cheapest_within or knee")


def _normalise(values: np.ndarray) -> np.ndarray:
    span = values.max() - values.min()
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)
