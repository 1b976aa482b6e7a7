"""The report's plotly figures, one function each; a function raises ``Unavailable`` when its data is missing."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from sklearn.metrics import auc, confusion_matrix, roc_curve

from automl import units
from automl.calibration import reliability
from automl.candidates import ENSEMBLE, is_ensemble
from automl.costs import COSTS
from automl.pareto import pareto_mask
from automl.report.chosen import Unavailable, feature_importances, out_of_fold
from automl.report.summary import chosen_family, score_label, score_text
from automl.search import quiet_optuna
from automl.tasks import is_regression

FONT = '-apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
PALETTE = (
    "#2563eb",
    "#16a34a",
    "#db2777",
    "#ea580c",
    "#7c3aed",
    "#0891b2",
    "#ca8a04",
    "#4b5563",
    "#dc2626",
    "#65a30d",
)
STATE_COLORS = {"complete": "#16a34a", "pruned": "#f59e0b", "fail": "#dc2626", "duplicate": "#9ca3af"}
CHOSEN = {"symbol": "star", "size": 20, "color": "#f59e0b", "line": {"color": "#111827", "width": 1.5}}
GRID = {
    "gridcolor": "#e5e7eb",
    "zerolinecolor": "#d1d5db",
    "linecolor": "#9ca3af",
    "ticks": "outside",
    "automargin": True,
}
#: A small template, so that each figure does not carry plotly's full default theme.
TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": FONT, "size": 12, "color": "#1f2937"},
        colorway=PALETTE,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 60, "r": 24, "t": 36, "b": 52},
        xaxis=GRID,
        yaxis=GRID,
        hoverlabel={"align": "left", "font": {"family": FONT}},
        legend={"bgcolor": "rgba(255,255,255,0.85)"},
    )
)
#: Scatter plots of predictions show at most this many rows (a random sample beyond it).
MAX_POINTS = 3000
#: Hyperparameter importances need this many complete trials of the family.
MIN_IMPORTANCE_TRIALS = 5
#: Parameters are plotted against the score from this many complete trials of the family.
MIN_SLICE_TRIALS = 3
#: fANOVA is Optuna's reference method but grows slow; beyond this many trials PED-ANOVA is used.
FANOVA_MAX_TRIALS = 100
#: At most this many features are drawn, the most important ones.
MAX_FEATURES = 25


@dataclass(frozen=True)
class Chart:
    """A figure and the sentence that tells the reader how to read it."""

    figure: go.Figure
    caption: str = ""


def _figure(height: int = 420, **layout: Any) -> go.Figure:
    return go.Figure(layout={"template": TEMPLATE, "height": height, **layout})


def _colors(model: Any) -> dict[str, str]:
    """One colour per family, the same in every figure."""
    names = [*model.families_, ENSEMBLE]
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def _hover(model: Any, row: Mapping[str, Any]) -> str:
    number = "" if is_ensemble(row) else f"#{row['number']} "
    lines = [
        f"<b>{number}{row['family']}</b>",
        f"{model.metric_.display_name} {score_text(model, row['score'], row['score_std'])}",
        f"energy {units.energy(row['energy_kwh'])} · fit {units.duration(row['fit_seconds'])}",
        f"latency {units.number(row['predict_ms_per_1k'], 3)} ms/1k rows · size {units.size(row['model_bytes'])}",
    ]
    params = {f"#{n}": f"{w:.2f}" for n, w in row["members"].items()} if is_ensemble(row) else row["params"]
    lines += [f"{k} = {units.value(v)}" for k, v in params.items()]
    return "<br>".join(lines)


def pareto(model: Any) -> Chart:
    """Score against each cost; buttons switch the cost, the front and chosen point follow."""
    data = model.candidates_
    data = data.assign(
        display=model.metric_.display(data.score.to_numpy()),
        hover=[_hover(model, row) for row in data.to_dict("records")],
        chosen=[members == model.chosen_.members for members in data["members"]],
    )
    colors = _colors(model)
    fig = _figure(480)
    views: list[tuple[str, list[int], dict[str, Any]]] = []
    for cost in COSTS.values():
        column, label, unit, scale = cost.column, cost.label, cost.axis_unit, cost.axis_scale
        rows = data[data[column].notna()]
        first = len(fig.data)
        visible = column == model.cost_
        for family, group in rows.groupby("family", sort=False):
            fig.add_scatter(
                x=group[column] * scale,
                y=group.display,
                mode="markers",
                name=family,
                legendgroup=family,
                marker={"color": colors[family], "size": 8, "opacity": 0.4},
                hovertext=group.hover,
                hovertemplate="%{hovertext}<extra></extra>",
                visible=visible,
            )
        front = rows[pareto_mask(rows.score.to_numpy(), rows[column].to_numpy())].sort_values(column)
        fig.add_scatter(
            x=front[column] * scale,
            y=front.display,
            mode="lines+markers",
            name="Pareto front",
            line_shape="hv",
            line={"color": "#111827", "width": 1.5},
            marker={
                "color": [colors[f] for f in front.family],
                "size": 11,
                "line": {"color": "#111827", "width": 1.5},
            },
            hovertext=front.hover,
            hovertemplate="%{hovertext}<extra>on the front</extra>",
            visible=visible,
        )
        chosen = rows[rows.chosen]
        fig.add_scatter(
            x=chosen[column] * scale,
            y=chosen.display,
            mode="markers",
            name="chosen",
            marker=CHOSEN,
            hovertext=chosen.hover,
            hovertemplate="%{hovertext}<extra>chosen</extra>",
            visible=visible,
        )
        axis = {"title.text": f"{label} ({unit})", "type": "log" if (rows[column] > 0).all() else "linear"}
        views.append((label, list(range(first, len(fig.data))), axis))
    buttons = []
    for label, indices, axis in views:
        mask = [i in indices for i in range(len(fig.data))]
        buttons.append(
            {
                "label": label,
                "method": "update",
                "args": [{"visible": mask}, {f"xaxis.{k}": v for k, v in axis.items()}],
            }
        )
    current = [c.column for c in COSTS.values()].index(model.cost_)
    fig.update_layout(
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "buttons": buttons,
                "active": current,
                "x": 0,
                "xanchor": "left",
                "y": 1.12,
                "yanchor": "bottom",
                "showactive": True,
            }
        ],
        yaxis_title=score_label(model),
        margin_t=70,
        xaxis={"title": {"text": views[current][2]["title.text"]}, "type": views[current][2]["type"]},
    )
    return Chart(
        fig,
        "Each point is a complete trial (faded) or an ensemble; the dark line joins the non-dominated models; "
        "the star is the chosen model. Hover for the family and its parameters; the buttons switch the cost.",
    )


def history(model: Any) -> Chart:
    """Best score so far against elapsed time and against the energy spent, every trial counted."""
    board = model.leaderboard_.set_index("number")
    trials = sorted(
        (
            t
            for t in model.study_.get_trials(deepcopy=False)
            if t.datetime_complete is not None and t.number in board.index
        ),
        key=lambda t: t.datetime_complete,
    )
    if not trials:
        raise Unavailable("No trial finished.")
    start = min(t.datetime_start for t in trials)
    frame = pd.DataFrame(
        {
            "number": [t.number for t in trials],
            "seconds": [(t.datetime_complete - start).total_seconds() for t in trials],
        }
    ).join(board[["family", "state", "score", "energy_kwh"]], on="number")
    frame["energy"] = frame.energy_kwh.fillna(0).cumsum() * 1000
    best = np.fmax.accumulate(frame.score.fillna(-np.inf).to_numpy())
    frame["best"] = np.where(np.isfinite(best), model.metric_.display(best), np.nan)
    frame["display"] = model.metric_.display(frame.score.to_numpy())
    complete = frame[frame.state == "complete"]
    name = model.metric_.display_name
    hover = [
        f"#{n} {f}<br>{name} {units.number(s)}"
        for n, f, s in zip(complete.number, complete.family, complete.display, strict=True)
    ]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.05,
        subplot_titles=("over time", "over cumulative energy"),
    )
    for col, x, title in (
        (1, "seconds", "seconds since the search started"),
        (2, "energy", "energy of all trials so far (Wh)"),
    ):
        fig.add_scatter(
            x=complete[x],
            y=complete.display,
            mode="markers",
            name="complete trial",
            showlegend=col == 1,
            marker={"color": "#94a3b8", "size": 6, "opacity": 0.6},
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            row=1,
            col=col,
        )
        fig.add_scatter(
            x=frame[x],
            y=frame.best,
            mode="lines",
            name="best so far",
            line_shape="hv",
            showlegend=col == 1,
            line={"color": PALETTE[0], "width": 2.5},
            hovertemplate="best so far %{y:.4g}<extra></extra>",
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text=title, row=1, col=col)
    fig.update_layout(
        template=TEMPLATE, height=380, yaxis_title=score_label(model), legend={"orientation": "h", "y": -0.22}
    )
    return Chart(
        fig,
        "Grey points are complete trials; the line is the best score reached so far. "
        "Pruned and failed trials add to the energy but have no score.",
    )


def families(model: Any) -> Chart:
    """Score spread of each family, next to how many of its trials completed, were pruned or failed."""
    board = model.leaderboard_
    colors = _colors(model)
    names = list(model.families_)
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[0.62, 0.38],
        horizontal_spacing=0.04,
        subplot_titles=("score of complete trials", "trials by state"),
    )
    complete = board[board.state == "complete"]
    for name in names:
        group = complete[complete.family == name]
        fig.add_box(
            x=model.metric_.display(group.score.to_numpy()),
            y=[name] * len(group),
            name=name,
            orientation="h",
            boxpoints="all",
            jitter=0.5,
            pointpos=0,
            marker={"color": colors[name], "size": 5, "opacity": 0.6},
            line={"color": colors[name]},
            showlegend=False,
            hovertext=[f"#{n}" for n in group.number],
            hovertemplate="%{hovertext}: %{x:.4g}<extra></extra>",
            row=1,
            col=1,
        )
    counts = pd.crosstab(board.family, board.state).reindex(
        index=names, columns=list(STATE_COLORS), fill_value=0
    )
    for state, color in STATE_COLORS.items():
        fig.add_bar(
            x=counts[state],
            y=names,
            orientation="h",
            name=state,
            marker_color=color,
            hovertemplate=f"%{{y}}: %{{x}} {state}<extra></extra>",
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text=score_label(model), row=1, col=1)
    fig.update_xaxes(title_text="trials", row=1, col=2)
    fig.update_yaxes(categoryorder="array", categoryarray=names[::-1])
    fig.update_layout(
        template=TEMPLATE, barmode="stack", height=max(260, 70 + 48 * len(names)), legend_traceorder="normal"
    )
    return Chart(
        fig,
        "Left: each dot is a complete trial. Right: families with few or no complete trials were hardly explored.",
    )


def _family_study(model: Any) -> tuple[str, optuna.Study, dict[int, int]]:
    """The chosen family's complete trials as a study of their own: unprefixed parameters, the score as people quote it.

    Returns the family, the study, and the run's trial number of each of its trials.
    """
    family = chosen_family(model)
    prefix = f"{family}."
    board = model.leaderboard_
    # The leaderboard is the fit's snapshot; a shared study may have finished more trials since.
    scores = board[(board.state == "complete") & (board.family == family)].set_index("number").score
    with quiet_optuna():
        study = optuna.create_study(direction="maximize" if model.metric_.sign > 0 else "minimize")
    numbers: dict[int, int] = {}
    for trial in model.study_.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if trial.number not in scores.index:
            continue
        study.add_trial(
            optuna.trial.create_trial(
                params={k.removeprefix(prefix): v for k, v in trial.params.items() if k.startswith(prefix)},
                distributions={
                    k.removeprefix(prefix): d for k, d in trial.distributions.items() if k.startswith(prefix)
                },
                value=model.metric_.display(float(scores[trial.number])),
            )
        )
        numbers[len(numbers)] = trial.number
    return family, study, numbers


def param_importances(model: Any) -> Chart:
    family, study, _ = _family_study(model)
    trials = study.trials
    names = {name for t in trials for name in t.params}
    if len(names) < 2:
        raise Unavailable(
            f"{family} has {len(names) or 'no'} searched hyperparameter{'' if len(names) == 1 else 's'}; "
            "importances compare two or more (its effect on the score is plotted below)."
        )
    if len(trials) < MIN_IMPORTANCE_TRIALS:
        raise Unavailable(
            f"Importances need at least {MIN_IMPORTANCE_TRIALS} complete {family} trials; this run has {len(trials)}."
        )
    if len({t.value for t in trials}) == 1:
        raise Unavailable(
            f"Every complete {family} trial scored the same, so no hyperparameter mattered here."
        )
    if len(trials) <= FANOVA_MAX_TRIALS:
        evaluator: Any = optuna.importance.FanovaImportanceEvaluator(seed=0)
        how = "fANOVA (Optuna): the share of the score's variance that each hyperparameter explains"
    else:
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        how = (
            "PED-ANOVA (Optuna): how much each hyperparameter's values in the best 10% of trials differ "
            "from all trials"
        )
    importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    order = list(importances)[::-1]
    fig = _figure(max(200, 60 + 34 * len(order)), xaxis_title="importance", margin_l=140)
    fig.add_bar(
        x=[importances[k] for k in order],
        y=order,
        orientation="h",
        marker_color=PALETTE[0],
        hovertemplate="%{y}: %{x:.3f}<extra></extra>",
    )
    return Chart(
        fig,
        f"Over the {len(trials)} complete {family} trials; {how}. "
        "Parameters that only exist under a condition are left out.",
    )


def params_vs_score(model: Any) -> Chart:
    """One panel per hyperparameter of the chosen family: its value against the score, coloured by trial order."""
    family, study, numbers = _family_study(model)
    trials = study.trials
    names = list(dict.fromkeys(name for t in trials for name in t.params))
    if not names:
        raise Unavailable(f"{family} has no searched hyperparameters.")
    if len(trials) < MIN_SLICE_TRIALS:
        raise Unavailable(
            f"Only {len(trials)} complete {family} trial(s): too few to show how its parameters affect the score."
        )
    chosen_number = model.chosen_.number
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        vertical_spacing=0.22 / rows,
        subplot_titles=names,
    )
    for i, name in enumerate(names):
        row, col = divmod(i, cols)
        having = [t for t in trials if name in t.params]
        distribution = having[0].distributions[name]
        categorical = isinstance(distribution, optuna.distributions.CategoricalDistribution)
        x = [str(t.params[name]) if categorical else t.params[name] for t in having]
        order = [numbers[t.number] for t in having]
        fig.add_scatter(
            x=x,
            y=[t.value for t in having],
            mode="markers",
            showlegend=False,
            marker={"color": order, "coloraxis": "coloraxis", "size": 7, "opacity": 0.8},
            hovertext=[f"#{n}" for n in order],
            hovertemplate=f"%{{hovertext}}<br>{name} = %{{x}}<br>score %{{y:.4g}}<extra></extra>",
            row=row + 1,
            col=col + 1,
        )
        picked = [j for j, n in enumerate(order) if n == chosen_number]
        if picked:
            fig.add_scatter(
                x=[x[picked[0]]],
                y=[having[picked[0]].value],
                mode="markers",
                marker=CHOSEN,
                showlegend=False,
                hovertemplate="chosen<extra></extra>",
                row=row + 1,
                col=col + 1,
            )
        fig.update_xaxes(
            type="log" if getattr(distribution, "log", False) else None, row=row + 1, col=col + 1
        )
    fig.update_yaxes(title_text=model.metric_.display_name, col=1)
    fig.update_layout(
        template=TEMPLATE,
        height=60 + 250 * rows,
        coloraxis={"colorscale": "Viridis", "colorbar": {"title": {"text": "trial #"}, "thickness": 12}},
    )
    return Chart(
        fig,
        f"Each point is a complete {family} trial, coloured from early (dark) to late (yellow); "
        "the star is the chosen model.",
    )


def feature_importance(model: Any) -> Chart:
    values, how = feature_importances(model)
    top = values.head(MAX_FEATURES)
    shown = f"The {len(top)} most important of {len(values)} features. " if len(values) > len(top) else ""
    return Chart(bars(top, "importance", PALETTE[1], margin=180), f"{shown}Method: {how}.")


def bars(values: pd.Series, title: str, color: str, margin: int) -> go.Figure:
    """Horizontal bars of ``values`` (largest first), the first at the top."""
    top = values[::-1]
    fig = _figure(max(220, 60 + 24 * len(top)), xaxis_title=title, margin_l=margin)
    fig.add_bar(
        x=top.to_numpy(),
        y=[str(n) for n in top.index],
        orientation="h",
        marker_color=color,
        hovertemplate="%{y}: %{x:.4g}<extra></extra>",
    )
    return fig


def _unit_square(x_title: str, y_title: str, legend: dict[str, Any], diagonal: str) -> go.Figure:
    """A figure with axes from 0 to 1 at the same scale, and the dashed diagonal named ``diagonal``."""
    fig = _figure(420, xaxis_title=x_title, yaxis_title=y_title, legend=legend)
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"dash": "dash", "color": "#9ca3af"},
        name=diagonal,
        hoverinfo="skip",
    )
    fig.update_xaxes(range=[0, 1], constrain="domain")
    fig.update_yaxes(range=[0, 1.02], scaleanchor="x", scaleratio=1)
    return fig


def confusion(model: Any) -> Chart:
    y, proba = out_of_fold(model)
    labels = [str(c) for c in model.classes_]
    counts = confusion_matrix(y, proba.argmax(axis=1), labels=np.arange(len(labels)))
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = _figure(
        max(320, 120 + 40 * len(labels)), xaxis_title="predicted", yaxis_title="actual", margin_l=110
    )
    fig.add_heatmap(
        z=share,
        x=labels,
        y=labels,
        text=counts,
        texttemplate="%{text}",
        colorscale="Blues",
        zmin=0,
        zmax=1,
        colorbar={"title": {"text": "share of row"}, "thickness": 12},
        hovertemplate="actual %{y}, predicted %{x}: %{text} rows (%{z:.1%} of actual %{y})<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return Chart(
        fig,
        f"Out-of-fold predictions (the most probable class) of all {len(y):,} training rows; "
        "colour is the share of the actual class.",
    )


def roc(model: Any) -> Chart:
    y, proba = out_of_fold(model)
    classes = [str(c) for c in model.classes_]
    positives = [1] if len(classes) == 2 else range(len(classes))
    fig = _unit_square(
        "false positive rate",
        "true positive rate",
        {"x": 0.98, "xanchor": "right", "y": 0.02, "yanchor": "bottom"},
        "chance",
    )
    for k in positives:
        fpr, tpr, _ = roc_curve(y == k, proba[:, k])
        fig.add_scatter(
            x=fpr,
            y=tpr,
            mode="lines",
            line_shape="hv",
            name=f"{classes[k]} (AUC {auc(fpr, tpr):.3f})",
            line={"color": PALETTE[k % len(PALETTE)], "width": 2},
            hovertemplate="FPR %{x:.3f}, TPR %{y:.3f}<extra>" + classes[k] + "</extra>",
        )
    what = f"positive class '{classes[1]}'" if len(classes) == 2 else "each class against the rest"
    return Chart(fig, f"Out-of-fold ROC curve, {what}.")


def calibration(model: Any) -> Chart:
    """The reliability diagram of the out-of-fold probabilities, with their expected calibration error."""
    y, proba = out_of_fold(model)
    found = reliability(y, proba)
    table = found.table
    fig = _unit_square(
        "predicted probability (bin mean)",
        "observed frequency",
        {"x": 0.02, "xanchor": "left", "y": 0.98, "yanchor": "top"},
        "perfect",
    )
    fig.add_scatter(
        x=table.confidence,
        y=table.frequency,
        mode="lines+markers",
        name=f"chosen model (ECE {found.ece:.3f})",
        marker={"color": PALETTE[0], "size": 6 + 14 * np.sqrt(table.rows / table.rows.max())},
        line={"color": PALETTE[0], "width": 2},
        text=[
            f"{lo:.1f}–{hi:.1f}: {n:,} rows"
            for lo, hi, n in zip(table.low, table.high, table.rows, strict=True)
        ],
        hovertemplate="%{text}<br>predicted %{x:.3f}, observed %{y:.3f}<extra></extra>",
    )
    return Chart(
        fig,
        f"Out-of-fold {found.what} in {len(table)} bins (a marker's size is its rows) against how often it came "
        f"true. Expected calibration error: {found.ece:.3f} (the row-weighted mean gap to the diagonal).",
    )


def _sample(*arrays: np.ndarray) -> tuple[list[np.ndarray], str]:
    n = len(arrays[0])
    if n <= MAX_POINTS:
        return list(arrays), ""
    rows = np.sort(np.random.default_rng(0).choice(n, MAX_POINTS, replace=False))
    return [a[rows] for a in arrays], f" A random {MAX_POINTS:,} of the {n:,} rows are drawn."


def predicted_vs_actual(model: Any) -> Chart:
    (y, predicted), note = _sample(*out_of_fold(model))
    low, high = float(min(y.min(), predicted.min())), float(max(y.max(), predicted.max()))
    fig = _figure(420, xaxis_title="actual", yaxis_title="predicted (out of fold)", showlegend=False)
    fig.add_scatter(
        x=[low, high],
        y=[low, high],
        mode="lines",
        line={"dash": "dash", "color": "#9ca3af"},
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=y,
        y=predicted,
        mode="markers",
        marker={"color": PALETTE[0], "size": 6, "opacity": 0.55},
        hovertemplate="actual %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
    )
    return Chart(fig, f"Points on the dashed line are predicted exactly.{note}")


def residuals(model: Any) -> Chart:
    (y, predicted), note = _sample(*out_of_fold(model))
    fig = _figure(
        420,
        xaxis_title="predicted (out of fold)",
        yaxis_title="residual (actual − predicted)",
        showlegend=False,
    )
    fig.add_hline(y=0, line={"dash": "dash", "color": "#9ca3af"})
    fig.add_scatter(
        x=predicted,
        y=y - predicted,
        mode="markers",
        marker={"color": PALETTE[2], "size": 6, "opacity": 0.55},
        hovertemplate="predicted %{x:.4g}<br>residual %{y:.4g}<extra></extra>",
    )
    return Chart(fig, f"A pattern here (a curve, a funnel) is error the model leaves on the table.{note}")


def charts(model: Any) -> dict[str, Callable[[Any], Chart]]:
    """The figure builders of this model's report, by name, in page order."""
    if is_regression(model.task_):
        chosen = {"actual": predicted_vs_actual, "residuals": residuals}
    else:
        chosen = {"confusion": confusion, "roc": roc, "calibration": calibration}
    return {
        "pareto": pareto,
        "history": history,
        "families": families,
        "importances": param_importances,
        "params": params_vs_score,
        "features": feature_importance,
        **chosen,
    }
