"""Choosing on the Pareto front, and refitting the chosen candidate (a trial or an ensemble) on all rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from automl import families as family_builder
from automl.candidates import ENSEMBLE, Candidate, candidate_table
from automl.data import Schema
from automl.deadline import Deadline, DeadlineReached
from automl.energy import Energy, EnergyMeter
from automl.ensemble import EnsembleModel
from automl.fidelity import train
from automl.pareto import pareto_front, select
from automl.spaces import FamilySpace


def front_of(candidates: list[Candidate], cost: str) -> pd.DataFrame:
    """The Pareto front of ``candidates`` over the score and the cost column ``cost``, best score first."""
    return pareto_front(candidate_table(candidates), cost)


def choose(front: pd.DataFrame, rule: str, cost: str, tolerance: float) -> Candidate:
    return Candidate.from_row(front.loc[select(front, rule, cost, tolerance=tolerance)])


def on_front(front: pd.DataFrame, trial: int) -> Candidate | None:
    """The front's candidate that is trial ``trial``, if it is on the front."""
    rows = front[front["number"].astype("Int64") == trial]
    return None if rows.empty else Candidate.from_row(rows.iloc[0])


@dataclass
class Refit:
    """The chosen candidate refitted on all rows: the model, what was fitted, and the energy it took."""

    model: Any
    chosen: Candidate
    best_params: dict[str, Any]
    energy: Energy


def refit(
    chosen: Candidate,
    board: pd.DataFrame,
    spaces: Mapping[str, FamilySpace],
    task: str,
    schema: Schema,
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    seed: int | None,
    threads: int,
    meter: EnergyMeter,
    deadline: Deadline | None = None,
) -> Refit:
    """Fit ``chosen`` on all rows.

    The heaviest member is always fitted; an ensemble's other members must finish by
    ``deadline``, and those that cannot are left out, their weight shared by the rest.
    """
    by_number = board.set_index("number")
    members = sorted(
        (
            (dict(family=by_number.at[n, "family"], **by_number.at[n, "params"]), w)
            for n, w in chosen.members.items()
        ),
        key=lambda member: -member[1],
    )
    deadline = deadline or Deadline(None)
    fitted, kept = [], []
    with meter.measure("refit") as energy:
        for index, (params, weight) in enumerate(members):
            family = spaces[params["family"]]
            pipeline = family_builder.build(
                family,
                task,
                {k: v for k, v in params.items() if k != "family"},
                schema,
                seed=seed,
                threads=threads,
            )
            try:
                fitted.append(train(pipeline, family, X, y, Deadline(None) if index == 0 else deadline))
            except DeadlineReached:
                continue
            kept.append((params, weight))
    total = sum(w for _, w in kept)
    kept = [(params, w / total) for params, w in kept]
    if len(kept) < len(members):
        chosen = chosen.with_reason(
            f"{len(members) - len(kept)} ensemble member(s) left out: "
            "their refit would have overrun the time budget"
        )
    model: Any = EnsembleModel(fitted, [w for _, w in kept]) if chosen.is_ensemble else fitted[0]
    best_params = (
        kept[0][0]
        if len(kept) == 1
        else {"family": ENSEMBLE, "members": [p for p, _ in kept], "weights": [w for _, w in kept]}
    )
    return Refit(model, chosen, best_params, energy)
