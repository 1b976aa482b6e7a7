"""Choosing on the Pareto front, and refitting the chosen candidate (a trial or an ensemble) on all rows."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from automl import families as family_builder
from automl.candidates import ENSEMBLE, Candidate, candidate_table
from automl.deadline import Deadline, DeadlineReached
from automl.energy import Energy, EnergyMeter
from automl.ensemble import EnsembleModel
from automl.fidelity import Stretch, train
from automl.objective import Problem
from automl.pareto import pareto_front, select


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
    """The chosen candidate refitted on all rows: the model, what was fitted, its energy and how that was measured."""

    model: Any
    chosen: Candidate
    best_params: dict[str, Any]
    energy: Energy
    energy_method: dict[str, Any]
    overhead_seconds: float
    #: The rounds (or epochs, or trees) each member trained, by trial number, where its family has a fidelity.
    rounds: dict[int, int]


@dataclass(frozen=True)
class RefitJob:
    """What a worker needs to refit a candidate: its members' families and parameters, and where the data is."""

    folder: str
    chosen: Candidate
    #: Each member's trial number, family and parameters (with the rounds cross-validation learnt),
    #: and weight, heaviest first.
    members: list[tuple[int, dict[str, Any], float]]
    seed: int | None
    threads: int
    country: str
    #: Members left unfitted at this time are left out (None: no deadline).
    deadline_at: float | None = None
    #: Members grow past their least rounds towards their most while this time allows (None: all the way).
    grow_until: float | None = None

    @classmethod
    def of(
        cls,
        chosen: Candidate,
        board: pd.DataFrame,
        folder: Path,
        rounds: dict[int, int] | None = None,
        **settings: Any,
    ) -> RefitJob:
        """The job of refitting ``chosen``, its members (family and parameters) read from the leaderboard ``board``.

        ``rounds`` (by trial number) fixes a member's rounds, as an earlier refit of it trained them.
        """
        by_number = board.set_index("number")
        members = []
        for number, weight in chosen.members.items():
            params = dict(family=by_number.at[number, "family"], **by_number.at[number, "params"])
            least, most = by_number.at[number, "fidelity"], by_number.at[number, "fidelity_max"]
            if rounds is not None and number in rounds:
                least = most = rounds[number]
            if pd.notna(least):
                params[FIDELITY] = (int(least), int(most) if pd.notna(most) else int(least))
            members.append((int(number), params, weight))
        return cls(str(folder), chosen, sorted(members, key=lambda member: -member[2]), **settings)


#: The key of a member's least and most refit fidelity among its parameters (the worker sets the
#: family's own parameter).
FIDELITY = "__fidelity__"


def refit(job: RefitJob) -> Refit:
    """Fit the job's candidate on all rows; run in a worker process (``automl.workers.call``).

    The heaviest member is always fitted; an ensemble's other members must finish by the job's
    deadline, and those that cannot are left out, their weight shared by the rest.
    """
    problem = Problem.load(Path(job.folder))
    order = np.random.default_rng(job.seed).permutation(len(problem.y))
    meter = EnergyMeter.for_country(job.country)
    overhead = meter.overhead_seconds
    deadline = Deadline.until(job.deadline_at)
    fitted, kept, rounds = [], [], {}
    with meter.measure("refit") as energy, threadpool_limits(limits=job.threads):
        for index, (number, params, weight) in enumerate(job.members):
            family = problem.families[params["family"]]
            hyperparameters = {k: v for k, v in params.items() if k not in ("family", FIDELITY)}
            param = family.fidelity.param if family.fidelity is not None and FIDELITY in params else None
            stretch = None
            if param is not None:
                least, hyperparameters[param] = params[FIDELITY]
                stretch = Stretch(least, _share_of_growth(job, index))
            pipeline = family_builder.build(
                family, problem.task, hyperparameters, problem.schema, seed=job.seed, threads=job.threads
            )
            try:
                limit = Deadline(None) if index == 0 else deadline
                rows = np.sort(order[: family.max_rows]) if family.max_rows else np.arange(len(problem.y))
                weights = (problem.weight(rows), None)
                trained = train(
                    pipeline,
                    family,
                    problem.X.iloc[rows],
                    problem.y[rows],
                    limit,
                    weights=weights,
                    stretch=stretch,
                )
            except DeadlineReached:
                continue
            if param is not None and trained.reached is not None:
                hyperparameters[param] = rounds[number] = trained.reached
                pipeline[-1].set_params(**{param: trained.reached})
            fitted.append(trained.pipeline)
            kept.append(({"family": family.name, **hyperparameters}, weight))
    total = sum(w for _, w in kept)
    kept = [(params, w / total) for params, w in kept]
    chosen = job.chosen
    if len(kept) < len(job.members):
        chosen = chosen.with_reason(
            f"{len(job.members) - len(kept)} ensemble member(s) left out: "
            "their refit would have overrun the time budget"
        )
    model: Any = EnsembleModel(fitted, [w for _, w in kept]) if chosen.is_ensemble else fitted[0]
    best_params = (
        kept[0][0]
        if len(kept) == 1
        else {"family": ENSEMBLE, "members": [p for p, _ in kept], "weights": [w for _, w in kept]}
    )
    return Refit(
        model, chosen, best_params, energy, meter.method(), meter.overhead_seconds - overhead, rounds
    )


def _share_of_growth(job: RefitJob, index: int) -> Deadline:
    """Until when member ``index`` may grow: its weight's share of the time left for those from it on."""
    if job.grow_until is None:
        return Deadline(None)
    weights = [weight for _, _, weight in job.members]
    share = weights[index] / sum(weights[index:])
    now = time.time()
    return Deadline.until(now + max(0.0, job.grow_until - now) * share)
