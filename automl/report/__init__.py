"""The self-contained HTML report of a search: one file that opens from disk with no network.

plotly.js is inlined once; every figure is a div and a small script that draws into it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import plotly.io as pio
import plotly.offline
from markupsafe import Markup
from sklearn.utils.validation import check_is_fitted

from automl.errors import ConfigError
from automl.report import alerts, explanations, figures, summary, tables
from automl.report.chosen import Unavailable
from automl.tasks import is_regression

__all__ = ["write_report"]

#: Figures are interactive but not editable; the camera button saves a PNG, offline.
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


@dataclass(frozen=True)
class Plot:
    """A rendered figure (div + script), or the note that says why it is missing."""

    html: Markup | None
    caption: str


def write_report(model: Any, path: str | Path) -> Path:
    """Write the report of a fitted automl model to ``path`` (an ``.html`` file) and return the path."""
    check_is_fitted(model, "model_")
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; give the report a file name, such as {path / 'report.html'}")
    html = (
        _environment()
        .get_template("template.html.j2")
        .render(
            generated=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            plotly_js=Markup(plotly.offline.get_plotlyjs()),
            cards=summary.cards(model),
            alerts=alerts.collect(model),
            sections={
                "Data": summary.dataset(model),
                "Search": summary.search(model),
                "Chosen model": summary.choice(model),
                "Energy and CO₂": summary.cost(model),
                "Environment": summary.environment(model),
            },
            plots={
                name: _render(name, build, model)
                for name, build in {**figures.charts(model), **explanations.charts(model)}.items()
            },
            leaderboard=tables.leaderboard(model),
            front=tables.front(model),
            params=tables.chosen_params(model),
            fairness=tables.fairness(model),
            task=model.task_,
            regression=is_regression(model.task_),
            chosen=model.chosen_.label,
            why=summary.selection_text(model),
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def _render(name: str, build: Callable[[Any], figures.Chart], model: Any) -> Plot:
    try:
        chart = build(model)
    except Unavailable as missing:
        return Plot(None, str(missing))
    height = chart.figure.layout.height
    html = pio.to_html(
        chart.figure,
        full_html=False,
        include_plotlyjs=False,
        div_id=f"plot-{name}",
        config=PLOT_CONFIG,
        default_height=f"{height}px",
        validate=False,
    )
    return Plot(Markup(html), chart.caption)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
