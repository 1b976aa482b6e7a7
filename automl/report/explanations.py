"""The report's explanation figures: SHAP contributions of the chosen model on a sample of training rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from plotly.subplots import make_subplots

from automl.errors import MissingDependency
from automl.explain import Explanation, explain
from automl.optional import require
from automl.report.chosen import Unavailable
from automl.report.figures import PALETTE, TEMPLATE, Chart, _figure, bars

#: Training rows explained for the report: as many as fit in about ``EXPLAIN_SECONDS`` (timed on the first
#: ``PROBE_ROWS``), within these bounds.
PROBE_ROWS = 2
EXPLAIN_ROWS = 500
MIN_EXPLAIN_ROWS = 20
EXPLAIN_SECONDS = 3.0
#: Columns drawn (those with the largest contributions): in the bars, the beeswarm and the dependence plots.
MAX_COLUMNS = 25
BEESWARM_COLUMNS = 15
DEPENDENCE_COLUMNS = 3


@dataclass(frozen=True)
class Explained:
    """The explanation of a sample of training rows, with the values a reader knows them by."""

    explanation: Explanation
    #: The contributions drawn: the binary task's positive class, each row's most probable class, or the value.
    shown: pd.DataFrame
    #: The sample's values: numbers, or the category's label for a categorical column.
    values: pd.DataFrame
    what: str

    @property
    def importance(self) -> pd.Series:
        return self.explanation.importance()


def charts(model: Any) -> dict[str, Callable[[Any], Chart]]:
    """The explanation figures' builders, by name, in page order; the sample is explained once for all three."""
    data = cache(lambda: explained(model))
    return {
        "contributions": lambda _: mean_contribution(data()),
        "beeswarm": lambda _: beeswarm(data()),
        "dependence": lambda _: dependence(data()),
    }


def explained(model: Any) -> Explained:
    """The explanation of up to ``EXPLAIN_ROWS`` training rows (of the background a loaded model keeps)."""
    rows = model._train[0] if hasattr(model, "_train") else model._background
    sample = rows.iloc[np.random.default_rng(0).permutation(len(rows))[:EXPLAIN_ROWS]].reset_index(drop=True)
    try:
        require("shap", "explain", "explain()")  # imported before the probe is timed
    except MissingDependency as missing:
        raise Unavailable(f"Explanations are not drawn: {missing}.") from None
    start = time.perf_counter()
    explain(model, sample.head(PROBE_ROWS), sample.index[:PROBE_ROWS])
    per_row = (time.perf_counter() - start) / min(PROBE_ROWS, len(sample))
    if per_row * MIN_EXPLAIN_ROWS > 2 * EXPLAIN_SECONDS:
        raise Unavailable(
            f"Explaining this model takes about {per_row:.1f} s a row (the sampled explainer predicts thousands "
            "of perturbed rows for each), too long for the report; call model.explain() on the rows of interest."
        )
    sample = sample.head(int(np.clip(EXPLAIN_SECONDS / per_row, MIN_EXPLAIN_ROWS, EXPLAIN_ROWS)))
    explanation = explain(model, sample, sample.index)
    shown, what = explanation.values, explanation.output
    if isinstance(shown.columns, pd.MultiIndex):
        top = explanation.predicted().to_numpy().argmax(axis=1)
        classes = list(shown.columns.levels[0])
        shown = pd.DataFrame(
            np.stack([shown[classes[k]].to_numpy()[i] for i, k in enumerate(top)]),
            columns=list(model.schema_.columns),
        )
        what = "the probability of each row's most probable class"
    return Explained(explanation, shown, _readable(model, sample), what)


def _readable(model: Any, sample: pd.DataFrame) -> pd.DataFrame:
    """Encoded rows as a reader knows them: numbers as they are, categorical codes as their labels.

    A column that became several features (a date, free text) is shown by its first feature.
    """
    schema = model.schema_
    readable = pd.DataFrame(index=sample.index)
    for name, feature in zip(schema.used, schema.features, strict=True):
        source = schema.source(name)
        if source in readable:
            continue
        column = sample[feature]
        if name in schema.categorical:
            labels = np.asarray([*schema.categories[name], "(unseen)"], dtype=object)
            codes = column.to_numpy()
            readable[source] = pd.Series(
                [labels[int(c)] if np.isfinite(c) else None for c in codes], index=sample.index, dtype=object
            )
        else:
            readable[source] = column.astype(float)
    return readable


def _caption(data: Explained, extra: str) -> str:
    methods = "; ".join(dict.fromkeys(data.explanation.methods))
    return (
        f"SHAP contributions to {data.what}, on {len(data.shown):,} training rows. {extra} Method: {methods}."
    )


def mean_contribution(data: Explained) -> Chart:
    """Mean |contribution| per column, largest at the top."""
    figure = bars(_top(data, MAX_COLUMNS), "mean |contribution|", PALETTE[4], margin=160)
    return Chart(figure, _caption(data, "How far each column moves a prediction, on average."))


def beeswarm(data: Explained) -> Chart:
    """One row of points per column: each sample row's contribution, coloured by the column's value."""
    columns = list(_top(data, BEESWARM_COLUMNS).index[::-1])
    jitter = np.random.default_rng(0).uniform(-0.3, 0.3, len(data.shown))
    figure = _figure(
        max(260, 80 + 30 * len(columns)), xaxis_title="contribution", margin_l=160, showlegend=False
    )
    for position, column in enumerate(columns):
        values = data.values[column]
        rank = values.rank(pct=True).fillna(0.5) if values.dtype != object else _code_rank(values)
        figure.add_scatter(
            x=data.shown[column],
            y=position + jitter,
            mode="markers",
            name=column,
            marker={
                "color": rank,
                "colorscale": "Bluered",
                "cmin": 0,
                "cmax": 1,
                "size": 5,
                "opacity": 0.7,
                "showscale": position == 0,
                "colorbar": {
                    "title": {"text": "value<br>(rank)"},
                    "thickness": 10,
                    "tickvals": [0, 1],
                    "ticktext": ["low", "high"],
                },
            },
            text=[f"{column} = {_text(v)}" for v in values],
            hovertemplate="%{text}<br>contribution %{x:.4g}<extra></extra>",
        )
    figure.update_yaxes(
        tickvals=list(range(len(columns))), ticktext=columns, range=[-0.6, len(columns) - 0.4]
    )
    figure.add_vline(x=0, line={"color": "#9ca3af", "dash": "dash"})
    return Chart(
        figure,
        _caption(
            data, "Each point is a row; red points have a high value of the column, blue ones a low value."
        ),
    )


def dependence(data: Explained) -> Chart:
    """The contribution of each of the top columns against the column's value."""
    columns = list(_top(data, DEPENDENCE_COLUMNS).index)
    figure = make_subplots(rows=1, cols=len(columns), shared_yaxes=True, subplot_titles=columns)
    for index, column in enumerate(columns, start=1):
        values = data.values[column]
        present = values.notna().to_numpy()
        figure.add_scatter(
            x=values[present],
            y=data.shown[column][present],
            mode="markers",
            name=column,
            marker={"color": PALETTE[5], "size": 5, "opacity": 0.6},
            hovertemplate=f"{column} = %{{x}}<br>contribution %{{y:.4g}}<extra></extra>",
            row=1,
            col=index,
        )
        if values.dtype == object:
            figure.update_xaxes(type="category", row=1, col=index)
    figure.update_yaxes(title_text="contribution", row=1, col=1)
    figure.update_layout(template=TEMPLATE, showlegend=False, height=360)
    return Chart(
        figure, _caption(data, "How the prediction depends on the columns with the largest contributions.")
    )


def _top(data: Explained, count: int) -> pd.Series:
    """The ``count`` columns with the largest mean |contribution|, largest first."""
    top = data.importance[data.importance > 0].head(count)
    if top.empty:
        raise Unavailable("Every column's contribution is zero: the model predicts the same for every row.")
    return top


def _code_rank(values: pd.Series) -> pd.Series:
    """Categories coloured by their order among the labels, missing in the middle."""
    labels = sorted({v for v in values if v is not None})
    scale = max(len(labels) - 1, 1)
    return pd.Series([0.5 if v is None else labels.index(v) / scale for v in values], index=values.index)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "missing"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
