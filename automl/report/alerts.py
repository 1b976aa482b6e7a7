"""Warnings a reader should see before trusting the chosen model, each with what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from automl import units
from automl.report.summary import class_balance
from automl.sampling import FAILURES_TO_LEAVE_OUT, left_out

#: A warning when the largest class has this many times the rows of the smallest.
IMBALANCE_RATIO = 4.0
#: Failure messages are cut to this many characters in a warning (the leaderboard has them in full).
MAX_REASON = 300


@dataclass(frozen=True)
class Alert:
    title: str
    detail: str


def collect(model: Any) -> list[Alert]:
    return [*_data(model), *_search(model), *_held_out(model)]


def _held_out(model: Any) -> list[Alert]:
    held = getattr(model, "holdout_", None)
    if held is None or not held.suspicious:
        return []
    metric = model.metric_
    return [
        Alert(
            "Cross-validation and test rows disagree",
            f"The chosen model scores {units.number(metric.display(held.score))} {metric.display_name} on the "
            f"{held.rows:,} test rows but {units.number(metric.display(held.cv_score))} by cross-validation, "
            f"a gap beyond the folds' spread (± {units.number(held.cv_std, 2)}). The search may have fitted "
            "its folds (too many trials for too few rows), or the test rows differ from the rest: trust the "
            "held-out score.",
        )
    ]


def _data(model: Any) -> list[Alert]:
    alerts = []
    balance = class_balance(model)
    if balance is not None:
        rows = [count for _, count, _ in balance]
        if max(rows) >= IMBALANCE_RATIO * min(rows):
            smallest = min(balance, key=lambda item: item[1])
            on_accuracy = model.metric_.name == "accuracy"
            alerts.append(
                Alert(
                    "Imbalanced classes, scored by accuracy" if on_accuracy else "Imbalanced classes",
                    f"The smallest class '{smallest[0]}' has {smallest[1]:,} rows ({smallest[2]:.1%}), "
                    f"{max(rows) / min(rows):.1f}× fewer than the largest. Accuracy can look good while that "
                    "class is missed: "
                    "read the confusion matrix, and prefer a metric such as roc_auc, balanced_accuracy or "
                    "neg_log_loss.",
                )
            )
    dropped = model.schema_.dropped
    if dropped:
        listed = "; ".join(f"'{column}': {reason}" for column, reason in dropped.items())
        alerts.append(
            Alert(
                f"{len(dropped)} column{'s' if len(dropped) > 1 else ''} dropped",
                f"No model saw these columns: {listed}. Check that none of them should have been used.",
            )
        )
    high = model.schema_.high_cardinality
    if high:
        alerts.append(
            Alert(
                "High-cardinality categorical columns",
                f"{', '.join(repr(c) for c in high)} have many distinct values: linear models, k-NN and the "
                "MLP read them target-encoded (the mean target of each category, fitted inside each fold), "
                "boosting groups the categories itself and forests see arbitrary codes. If a column is an "
                "identifier, drop it.",
            )
        )
    return alerts


def _search(model: Any) -> list[Alert]:
    alerts = []
    board = model.leaderboard_
    if model.interrupted_:
        alerts.append(
            Alert(
                "The search was interrupted",
                f"It stopped after {len(board)} trials; the chosen model is the best of those, not of a full search.",
            )
        )
    failed = board[board.state == "fail"].reason.fillna("").value_counts()
    for reason, count in failed[failed >= 2].items():
        shown = reason if len(reason) <= MAX_REASON else reason[:MAX_REASON] + "…"
        alerts.append(
            Alert(
                f"{count} trials failed with the same error",
                f"{shown or 'no error message recorded'}. A repeated failure usually means a family cannot handle "
                "this data or a search-space bound is wrong; the leaderboard lists the trials.",
            )
        )
    dropped = left_out(model.study_)
    if dropped:
        names = ", ".join(f"{family} ({reason[:MAX_REASON]})" for family, reason in dropped.items())
        alerts.append(
            Alert(
                f"{len(dropped)} famil{'y' if len(dropped) == 1 else 'ies'} left out after repeated failures",
                f"{names}: after {FAILURES_TO_LEAVE_OUT} failed trials and none complete, the search stopped "
                "sampling it; the leaderboard shows every error.",
            )
        )
    tried = set(board.family)
    never = [f for f in model.families_ if f not in tried]
    if never:
        alerts.append(
            Alert(
                "The budget was too small to try every family",
                f"{len(never)} of {len(model.families_)} families never ran: {', '.join(never)}. "
                "A larger time_budget or n_trials (or fewer families) would compare them all.",
            )
        )
    complete = set(board.loc[board.state == "complete", "family"])
    unfinished = [f for f in model.families_ if f in tried and f not in complete]
    if unfinished:
        alerts.append(
            Alert(
                "Families without a complete trial",
                f"{', '.join(unfinished)}: every trial was pruned or failed, so the choice never considered them; "
                "the leaderboard says why.",
            )
        )
    return alerts
