"""What a notebook shows of a search: a live progress display, automl's log lines, and a fitted model's summary."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

from automl.candidates import Candidate
from automl.units import clock, energy, mass

logger = logging.getLogger("automl")


@contextmanager
def shown_logs(console: Console) -> Iterator[None]:
    """automl's log records (INFO and above) on ``console`` while a verbose fit runs.

    Only when no handler is set up for them already (on the ``automl`` logger or the root):
    the user's own logging configuration wins.
    """
    if logger.hasHandlers():
        yield
        return
    handler = RichHandler(console=console, show_time=False, show_path=False, markup=False)
    level = logger.level
    logger.addHandler(handler)
    if level == logging.NOTSET or level > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def summary_html(model: Any) -> str:
    """A fitted model as an HTML table: the chosen model, its score and costs, the search, and the Pareto front."""
    metric, chosen, board = model.metric_, model.chosen_, model.leaderboard_
    states = board.state.value_counts()
    rows = [
        ("chosen", f"{chosen.label}, by the rule {model.selection_['rule']}"),
        (f"{metric.display_name} (cross-validated)", f"{metric.display(chosen.score):.4g}"),
        ("energy to train it", energy(chosen.energy_kwh)),
        (
            "search",
            f"{len(board)} trials ({states.get('complete', 0)} done, {states.get('pruned', 0)} pruned, "
            f"{states.get('fail', 0)} failed) in {clock(model.fit_seconds_)}; stopped: {model.stop_reason_}",
        ),
        (
            "energy and CO2 in all",
            f"{energy(model.total_energy_.energy_kwh)}, {mass(model.total_energy_.co2_kg)} CO2",
        ),
    ]
    table = "".join(
        f"<tr><th style='text-align:left'>{_text(k)}</th><td>{_text(v)}</td></tr>" for k, v in rows
    )
    front = "".join(
        f"<tr><td>{_text(Candidate.from_row(row).label)}</td><td>{metric.display(row['score']):.4g}</td>"
        f"<td>{_text(_cost(row[model.cost_], model.cost_))}</td></tr>"
        for row in model.pareto_front_.to_dict("records")
    )
    return (
        f"<div><strong>{_text(type(model).__name__)}</strong> ({_text(model.task_)}, preset {_text(model.preset_)})"
        f"<table>{table}</table>"
        f"<p>Pareto front ({len(model.pareto_front_)} models no other beats on both score and cost):</p>"
        f"<table><tr><th>model</th><th>{_text(metric.display_name)}</th><th>{_text(model.cost_)}</th></tr>"
        f"{front}</table></div>"
    )


def _cost(value: float, column: str) -> str:
    return energy(value) if column == "energy_kwh" else f"{value:.3g}"


def _text(value: Any) -> str:
    return html.escape(str(value))
