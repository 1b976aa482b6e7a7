"""The report's tables: every trial, the Pareto front, and the chosen model's parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl import units
from automl.candidates import is_ensemble
from automl.report.summary import Facts, describe_params


@dataclass(frozen=True)
class Cell:
    """Text to show, and the raw value the table sorts by (numbers sort as numbers, missing last)."""

    text: str
    sort: str | float = ""
    title: str = ""


@dataclass(frozen=True)
class Row:
    cells: list[Cell]
    badges: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[Row]

    @property
    def numeric(self) -> set[str]:
        """The columns to right-align: those holding numbers."""
        return {
            c
            for i, c in enumerate(self.columns)
            if any(isinstance(r.cells[i].sort, (int, float)) for r in self.rows)
        }


def _number(value: Any) -> float | str:
    return float(value) if value is not None and math.isfinite(float(value)) else ""


def _cells(model: Any, row: Mapping[str, Any]) -> dict[str, Cell]:
    """The cells every table shares, by column name."""
    score = model.metric_.display(row["score"])
    params = describe_params(row)
    return {
        "#": Cell("—" if is_ensemble(row) else str(row["number"]), "" if is_ensemble(row) else row["number"]),
        "Family": Cell(str(row["family"] or "—"), str(row["family"] or "")),
        model.metric_.display_name: Cell(units.number(score), _number(score)),
        "± std": Cell(units.number(row["score_std"], 2), _number(row["score_std"])),
        "Fit time": Cell(units.duration(row["fit_seconds"]), _number(row["fit_seconds"])),
        "Energy": Cell(units.energy(row["energy_kwh"]), _number(row["energy_kwh"])),
        "CO₂": Cell(units.mass(row["co2_kg"]), _number(row["co2_kg"])),
        "Latency ms/1k": Cell(units.number(row["predict_ms_per_1k"], 3), _number(row["predict_ms_per_1k"])),
        "Size": Cell(units.size(row["model_bytes"]), _number(row["model_bytes"])),
        "Parameters": Cell(params, params, title=params),
    }


def _badges(model: Any, number: int) -> list[str]:
    on_front = set(model.pareto_front_["number"].dropna())
    return (["chosen"] if number == model.chosen_.number else []) + (["front"] if number in on_front else [])


def leaderboard(model: Any) -> Table:
    """All trials in the order they ran, with their state and why a trial was pruned or failed."""
    columns = [
        "#",
        "Family",
        "State",
        model.metric_.display_name,
        "± std",
        "Folds",
        "Fit time",
        "Energy",
        "CO₂",
        "Latency ms/1k",
        "Size",
        "Parameters",
        "Why pruned / failed",
    ]
    rows = []
    for row in model.leaderboard_.sort_values("number").to_dict("records"):
        cells = {
            **_cells(model, row),
            "State": Cell(row["state"], row["state"]),
            "Folds": Cell(str(row["folds"]), row["folds"]),
            "Why pruned / failed": Cell(row["reason"] or "", row["reason"] or "", title=row["reason"] or ""),
        }
        rows.append(Row([cells[c] for c in columns], _badges(model, row["number"])))
    return Table(columns, rows)


def front(model: Any) -> Table:
    """The non-dominated models, best score first."""
    columns = [
        "#",
        "Family",
        model.metric_.display_name,
        "± std",
        "Energy",
        "Latency ms/1k",
        "Fit time",
        "Size",
        "Parameters",
    ]
    rows = []
    for row in model.pareto_front_.to_dict("records"):
        cells = _cells(model, row)
        rows.append(
            Row([cells[c] for c in columns], ["chosen"] if row["members"] == model.chosen_.members else [])
        )
    return Table(columns, rows)


def fairness(model: Any) -> Table | None:
    """The audit by sensitive column: a row per group, then the largest gap between two of its groups."""
    audit = getattr(model, "fairness_", None)  # a model saved before sensitive_features= has none
    if audit is None:
        return None
    columns = ["Column", "Group", *[str(c) for c in audit.columns]]
    rows = []
    for (column, group), values in audit.iterrows():
        cells = [Cell(str(column), str(column)), Cell(str(group), str(group))]
        cells += [
            Cell(f"{int(v):,}" if name == "rows" and np.isfinite(v) else units.number(v, 3), _number(v))
            for name, v in values.items()
        ]
        rows.append(Row(cells, ["gap"] if group == "largest gap" else []))
    return Table(columns, rows)


def chosen_params(model: Any) -> Facts:
    """The chosen model's hyperparameters; an ensemble lists its members and their weights."""
    chosen = model.chosen_
    if not chosen.is_ensemble:
        return [("family", str(chosen.family))] + [(k, units.value(v)) for k, v in chosen.params.items()]
    board = model.leaderboard_.set_index("number")
    members = pd.Series(chosen.members).sort_values(ascending=False)
    return [
        (f"#{n} {board.at[n, 'family']} × {w:.2f}", units.params(board.at[n, "params"]) or "(defaults)")
        for n, w in members.items()
    ]
