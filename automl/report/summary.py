"""The facts at the top of the report: the data, the search, the choice, its cost, the environment."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl import units
from automl.candidates import is_ensemble
from automl.costs import BY_COLUMN
from automl.tasks import is_regression
from automl.versions import PACKAGES, package_version

Facts = list[tuple[str, str]]


@dataclass(frozen=True)
class Card:
    """One key figure in the page header."""

    label: str
    value: str
    note: str = ""


def score_label(model: Any) -> str:
    """The metric as people quote it, with its direction."""
    better = "higher" if model.metric_.sign > 0 else "lower"
    return f"{model.metric_.display_name} ({better} is better)"


def score_text(model: Any, score: float, spread: float | None = None) -> str:
    text = units.number(model.metric_.display(score))
    return text if spread is None or not np.isfinite(spread) else f"{text} ± {units.number(spread, 2)}"


def describe_params(row: Mapping[str, Any]) -> str:
    if is_ensemble(row):
        return " + ".join(
            f"{w:.2f} × #{n}" for n, w in sorted(row["members"].items(), key=lambda item: -item[1])
        )
    return units.params(row["params"]) or "(defaults)"


def chosen_family(model: Any) -> str:
    """The family whose hyperparameters the report explores: the chosen one, or an ensemble's heaviest member."""
    chosen = model.chosen_
    if not chosen.is_ensemble:
        return str(chosen.family)
    heaviest = max(chosen.members, key=chosen.members.__getitem__)
    return str(model.leaderboard_.set_index("number").at[heaviest, "family"])


def selection_text(model: Any) -> str:
    """Why this model: the selection rule in words."""
    rule = str(model.selection_["rule"])
    cost = BY_COLUMN[model.cost_].label
    metric = model.metric_.display_name
    if rule == "best":
        why = f"it has the best cross-validated {metric}"
    elif rule == "cheapest_within":
        tolerance = float(model.selection_.get("tolerance", 0.005))
        why = (
            f"it has the lowest {cost} among the models whose {metric} is within {tolerance:.1%} of the best"
        )
    elif rule == "knee":
        why = (
            f"it is the knee of the {metric}/{cost} front: the point that gives up least {metric} "
            f"for the most {cost} saved"
        )
    else:
        why = f"it was picked by hand ({rule})"
    front = f"the {len(model.pareto_front_)} models on the Pareto front of {metric} versus {cost}"
    return f"Selection rule '{rule}': {why}. It was chosen among {front}."


def class_balance(model: Any) -> list[tuple[str, int, float]] | None:
    """(class, rows, share) from the training target, which a model loaded from disk no longer holds."""
    if is_regression(model.task_) or not hasattr(model, "_train"):
        return None
    counts = np.bincount(model._train[1], minlength=len(model.classes_))
    return [
        (str(label), int(count), count / counts.sum())
        for label, count in zip(model.classes_, counts, strict=True)
    ]


def _trial_states(model: Any) -> str:
    states = model.leaderboard_.state.value_counts()
    text = f"{states.get('complete', 0)} complete, {states.get('pruned', 0)} pruned, {states.get('fail', 0)} failed"
    repeats = states.get("duplicate", 0)
    return f"{text}, {repeats} repeated a finished configuration (not run again)" if repeats else text


def _measurement(model: Any) -> str:
    return "measured" if model.energy_method_["measured"] else "estimated, not measured"


def dataset(model: Any) -> Facts:
    schema = model.schema_
    cells = schema.n_rows * len(schema.columns)
    kinds = (
        f"{len(schema.raw_numeric)} numeric, {len(schema.categorical)} categorical, "
        f"{len(schema.derived)} derived, {len(schema.dropped)} dropped"
    )
    facts = [
        ("Rows", f"{schema.n_rows:,}"),
        ("Columns", f"{len(schema.columns)}: {kinds}"),
        *[(f"Derived from '{d.column}'", d.describe()) for d in schema.derived],
        ("Missing cells", f"{schema.missing_cells:,} ({schema.missing_cells / max(cells, 1):.1%})"),
        ("Target", getattr(model, "target_name_", None) or "y"),
    ]
    balance = class_balance(model)
    if balance is not None:
        facts.append(
            ("Classes", ", ".join(f"{label}: {rows:,} ({share:.0%})" for label, rows, share in balance))
        )
    elif not is_regression(model.task_):
        classes = ", ".join(map(str, model.classes_))
        facts.append(
            ("Classes", f"{classes} (counts need the training data, which a saved model does not keep)")
        )
    facts.append(("Fingerprint", schema.fingerprint))
    return facts


def search(model: Any) -> Facts:
    budget = units.duration(model.time_budget_) if model.time_budget_ else "no time limit"
    limit = f" (limit {model.n_trials})" if model.n_trials is not None else ""
    return [
        ("Task", model.task_),
        ("Metric", score_label(model)),
        ("Preset", str(model.preset_)),
        (
            "Time",
            f"{units.duration(model.fit_seconds_)} used of {budget}"
            + (" (interrupted)" if model.interrupted_ else ""),
        ),
        ("Trials", f"{len(model.leaderboard_)} run{limit}: {_trial_states(model)}"),
        ("Stopped", f"{model.stop_reason_}: {model.stop_detail_}"),
        ("Families", ", ".join(model.families_)),
        *[(f"Left out: {name}", why) for name, why in getattr(model, "left_out_families_", {}).items()],
        ("Validation", model.validation_[:1].upper() + model.validation_[1:]),
        *(
            [("Sample weights", "every fit and every score weights the rows")]
            if getattr(model, "weighted_", False)
            else []
        ),
        *(
            [("Rows as a fidelity", model.row_rungs_[:1].upper() + model.row_rungs_[1:])]
            if model.row_rungs_
            else []
        ),
        *(
            [("Peak memory", f"{model.peak_memory_mb_:,.0f} MB, this process and its workers together")]
            if model.peak_memory_mb_
            else []
        ),
        ("Seed", str(model.seed)),
    ]


def choice(model: Any) -> Facts:
    chosen = model.chosen_
    return [
        ("Model", chosen.label),
        (f"CV {model.metric_.display_name}", score_text(model, chosen.score, chosen.score_std)),
        *_held_out(model),
        *_calibration(model),
        ("Why", selection_text(model)),
        ("Training energy (CV)", units.energy(chosen.energy_kwh)),
        ("Latency", f"{units.number(chosen.predict_ms_per_1k, 3)} ms per 1,000 rows"),
        ("Size", units.size(chosen.model_bytes)),
    ]


def _calibration(model: Any) -> Facts:
    """Whether the asked-for calibration map was kept, and the out-of-fold log loss it was judged by."""
    found = getattr(model, "calibration_", None)  # a model saved before calibration= has none
    if found is None:
        return []
    verdict = "applied by predict_proba" if found.kept else "not kept: it did not lower the log loss"
    return [
        (
            "Calibration",
            f"{found.method}, {verdict} (out-of-fold log loss {found.log_loss_before:.4f} without it, "
            f"{found.log_loss_after:.4f} with it, cross-fitted)",
        )
    ]


def _held_out(model: Any) -> Facts:
    """The chosen model's score on the test rows withheld from the search, when there are some."""
    held = getattr(model, "holdout_", None)
    name = model.metric_.display_name
    if held is None:
        return [(f"Held-out {name}", "no test rows withheld (holdout off, or 'auto' on 5,000 rows or fewer)")]
    facts = [
        (
            f"Held-out {name}",
            f"{score_text(model, held.score)} on {held.rows:,} test rows ({held.share:.0%}) the search never "
            + (
                "saw, scored before the model was refit on all rows"
                if held.refit_on_all_rows
                else "saw; the model is not refitted on them"
            ),
        )
    ]
    if held.single_trial is not None:
        single = (
            "not refitted" if not np.isfinite(held.single_score) else score_text(model, held.single_score)
        )
        facts.append((f"Held-out {name}, best single trial #{held.single_trial}", single))
    return facts


def cost(model: Any) -> Facts:
    method = model.energy_method_
    search, refit = (
        units.energy(model.search_energy_.energy_kwh),
        units.energy(model.refit_energy_.energy_kwh),
    )
    parts = f"search {search}, final refit {refit}"
    meter = f"CodeCarbon {method['codecarbon']}, tracking mode '{method['tracking_mode']}'"
    return [
        ("Energy, whole run", f"{units.energy(model.total_energy_.energy_kwh)} ({parts})"),
        (
            "CO₂, whole run",
            f"{units.mass(model.total_energy_.co2_kg)} at the grid intensity of {method['country']}",
        ),
        ("Measurement", _measurement(model)),
        ("How", f"{method['description'][:1].upper()}{method['description'][1:]}."),
        ("Meter", f"{meter}, RAM counted at {units.number(method['ram_power_w'], 3)} W"),
    ]


def environment(model: Any) -> Facts:
    method = model.energy_method_
    gpu = "a GPU" if method.get("gpu") else "no GPU"
    return [
        (
            "Hardware",
            f"{method.get('cpu_model') or 'unknown CPU'}, {os.cpu_count()} logical CPUs, {gpu}; "
            f"{model.n_jobs} worker(s)",
        ),
        ("System", f"Python {platform.python_version()} on {platform.system()} {platform.machine()}"),
        (
            "Versions",
            ", ".join(f"{name} {package_version(name) or 'not installed'}" for name in ("automl", *PACKAGES)),
        ),
    ]


def cards(model: Any) -> list[Card]:
    chosen = model.chosen_
    budget = f"of {units.duration(model.time_budget_)}" if model.time_budget_ else "no time limit"
    better = "higher" if model.metric_.sign > 0 else "lower"
    return [
        Card(
            "Chosen model",
            chosen.label if chosen.is_ensemble else chosen.family,
            ("" if chosen.is_ensemble else f"trial #{chosen.number} · ")
            + f"rule: {model.selection_['rule']}",
        ),
        Card(
            f"CV {model.metric_.display_name}",
            score_text(model, chosen.score, chosen.score_std),
            f"{'holdout' if model.cv_ == 1 else f'{model.cv_}-fold'}, {better} is better",
        ),
        Card("Energy, whole run", units.energy(model.total_energy_.energy_kwh), _measurement(model)),
        Card(
            "CO₂, whole run",
            units.mass(model.total_energy_.co2_kg),
            f"grid of {model.energy_method_['country']}",
        ),
        Card("Trials", f"{len(model.leaderboard_)}", _trial_states(model).replace(", ", " · ")),
        Card("Time", units.duration(model.fit_seconds_), f"{budget} · stopped: {model.stop_reason_}"),
    ]
