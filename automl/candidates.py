"""What the choice is made among: a candidate is one trial, or an ensemble of trials with their weights."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.costs import MEASURES

#: How an ensemble is called where a family name would stand (tables, legends).
ENSEMBLE = "ensemble"


@dataclass(frozen=True)
class Candidate:
    """One point the selection rule can choose: its members (trial number -> weight), score and costs.

    A single trial is the candidate with one member of weight 1. An ensemble's costs are the
    sums of its members' costs (their training energy, fit time, prediction latency and size).
    """

    members: dict[int, float]
    family: str
    score: float
    score_std: float = float("nan")
    folds: int = 0
    fit_seconds: float = float("nan")
    cpu_seconds: float = float("nan")
    energy_kwh: float = float("nan")
    co2_kg: float = float("nan")
    predict_ms_per_1k: float = float("nan")
    model_bytes: float = float("nan")
    params: dict[str, Any] = field(default_factory=dict)
    state: str = "complete"
    reason: str = ""

    @property
    def is_ensemble(self) -> bool:
        return len(self.members) > 1

    @property
    def number(self) -> int | None:
        """The trial's number; None for an ensemble."""
        return None if self.is_ensemble else next(iter(self.members))

    @property
    def label(self) -> str:
        if self.is_ensemble:
            return f"ensemble of {len(self.members)} trials"
        return f"{self.family} (trial #{self.number})"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Candidate:
        """The candidate of a leaderboard or Pareto-front row."""
        members = row.get("members")
        if not isinstance(members, Mapping):
            members = {int(row["number"]): 1.0}
        known = {f for f in cls.__dataclass_fields__ if f not in ("members",)}
        values = {k: row[k] for k in known if k in row}
        return cls(members={int(n): float(w) for n, w in members.items()}, **values)

    @classmethod
    def ensemble(cls, trials: pd.DataFrame, weights: Mapping[int, float], score: float) -> Candidate:
        """An ensemble of leaderboard rows ``trials`` (indexed by trial number), its costs summed over them."""
        members = trials.loc[list(weights)]
        costs: dict[str, Any] = {m: float(members[m].sum()) for m in MEASURES}
        return cls(
            members=dict(weights), family=ENSEMBLE, score=score, folds=int(members.folds.max()), **costs
        )

    def with_reason(self, reason: str) -> Candidate:
        return Candidate(**{**asdict(self), "reason": reason})

    def as_row(self) -> dict[str, Any]:
        """A row of the Pareto-front table: the trial's number (missing for an ensemble) and every field."""
        return {"number": pd.NA if self.number is None else self.number, **asdict(self)}

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (numpy's numbers as Python's), as run.json and the study record the choice."""
        row = self.as_row()
        row["number"] = self.number
        plain = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
        return {k: _plain(v) for k, v in plain.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _plain(k): _plain(v) for k, v in value.items()}
    return value


def is_ensemble(row: Mapping[str, Any]) -> bool:
    """Whether a Pareto-front row stands for an ensemble."""
    members = row.get("members")
    return isinstance(members, Mapping) and len(members) > 1


def candidate_table(candidates: list[Candidate]) -> pd.DataFrame:
    return pd.DataFrame([c.as_row() for c in candidates])
