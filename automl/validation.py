"""How a trial is scored: k-fold cross-validation or one holdout split, and rows as a fidelity.

The folds may also keep groups whole (rows of one customer never on both sides), run forward in
time (a model is validated only on rows later than those it trained on), or be the user's own
splitter or splits.

On large tables one stratified holdout split replaces k-fold (as AutoGluon does), and fold 0 is
first trained on growing samples of its rows (10,000, then four times more at each rung), so a
poor configuration is pruned after a small sample instead of a full fit: successive halving over
the data size, as FLAML grows its sample size. Each family may also cap the rows it trains on
(k-NN, whose prediction cost grows with the square of the rows, or deep forests).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    TimeSeriesSplit,
    train_test_split,
)

from automl.errors import ConfigError, DataError
from automl.tasks import is_regression

#: The first row sample fold 0 is trained on, and how much each further rung grows it.
FIRST_RUNG_ROWS, RUNG_GROWTH = 10_000, 4


@dataclass(frozen=True)
class Validation:
    """The splits a trial is scored on, and the row samples fold 0 is trained on first.

    Each split's training rows are in a fixed random order, so that the first ``n`` of them are
    a random sample of ``n`` rows, and a larger sample holds every smaller one. Above
    ``search_rows``, a split trains on a sample of that many of its rows (the refit on all).
    """

    splits: list[tuple[np.ndarray, np.ndarray]]
    row_rungs: tuple[int, ...] = ()
    holdout: bool = False
    holdout_above: int | None = None
    #: ``kfold``, ``holdout``, ``groups``, ``time`` or ``custom``; ``time_column`` orders the time folds.
    kind: str = "kfold"
    time_column: str | None = None
    search_rows: int | None = None
    #: The table's rows (a refit trains on all of them); 0: those the splits hold.
    rows: int = 0

    @classmethod
    def all_rows(cls, rows: int) -> Validation:
        """One split that trains on every row and scores none: what a refit runs on."""
        return cls([(np.arange(rows), np.arange(0))])

    @cached_property
    def scored(self) -> np.ndarray:
        """The rows that get an out-of-fold prediction: all of them in k-fold, the holdout rows otherwise."""
        return np.sort(np.concatenate([valid for _, valid in self.splits]))

    @property
    def folds(self) -> int:
        return len(self.splits)

    @cached_property
    def train_share(self) -> float:
        """The share of all rows a split trains on: what a refit on all rows grows by."""
        total = self.rows or max(len(np.union1d(self.splits[0][0], self.scored)), 1)
        return float(np.mean([len(train) for train, _ in self.splits])) / total

    @property
    def forward(self) -> bool:
        """Whether the score is forward-validated: every fold validates on rows later than it trained on."""
        return self.kind == "time"

    def describe(self) -> str:
        if self.kind == "time":
            order = f"the order of '{self.time_column}'" if self.time_column else "row order"
            return (
                f"forward-chaining validation in {self.folds} splits on {order}: each model is scored on "
                "rows later than the ones it trained on (the score is forward-validated)"
            )
        if self.kind == "groups":
            return f"{self.folds}-fold cross-validation that keeps each group in one fold"
        if self.kind == "custom":
            return f"the {self.folds} split{'s' if self.folds > 1 else ''} given as cv"
        if self.holdout:
            valid = len(self.splits[0][1])
            share = valid / (self.rows or valid + len(self.splits[0][0]))
            return (
                f"one holdout split: {valid:,} rows ({share:.0%}) scored, "
                f"because the table has more than {self.holdout_above:,} rows"
            )
        return f"{self.folds}-fold cross-validation"

    def describe_rungs(self) -> str:
        sampled = self.sampled()
        rungs = (
            "fold 0 is trained on "
            + ", then ".join(f"{r:,}" for r in self.row_rungs)
            + f", then all {len(self.splits[0][0]):,} of its rows; a poor trial is pruned at a sample"
            if self.row_rungs
            else ""
        )
        return "; ".join(part for part in (sampled, rungs) if part)

    def sampled(self) -> str:
        """Whether the search's splits train on a sample of their rows, in a sentence ('' when not)."""
        if self.search_rows is None or len(self.splits[0][0]) < self.search_rows:
            return ""
        return (
            f"each trial trains on a random sample of {self.search_rows:,} of a split's training rows "
            f"(a preset's search_rows); the chosen model is refit on all {self.rows:,} rows"
        )


def plan(
    y: np.ndarray,
    task: str,
    folds: int,
    seed: int | None,
    *,
    holdout_above: int | None = None,
    holdout_fraction: float = 0.2,
    splitter: Any = None,
    groups: np.ndarray | None = None,
    time_order: np.ndarray | None = None,
    time_column: str | None = None,
    search_rows: int | None = None,
) -> Validation:
    """The splits a search validates on, and the row rungs their size calls for.

    ``splitter`` is ``"time"`` (forward chaining over ``time_order``, a permutation of the rows,
    or row order), a scikit-learn splitter or a list of (train, validation) index pairs; without
    it, k-fold (by ``groups`` when given), or one holdout split above ``holdout_above`` rows.
    Each split trains on at most ``search_rows`` of its rows, a random sample (the latest ones
    in time-ordered splits, so that a model still learns from the rows just before it is scored).
    """
    rng = np.random.default_rng(seed)
    kind = "kfold"
    if splitter == "time":
        kind, raw = "time", time_splits(len(y), folds, time_order)
    elif splitter is not None:
        kind, raw = "custom", custom_splits(splitter, len(y), y, groups)
    elif groups is not None:
        kind, raw = "groups", group_splits(y, task, folds, seed, groups)
    elif holdout_above is not None and len(y) > holdout_above:
        kind = "holdout"
        stratify = None if is_regression(task) else y
        train, valid = train_test_split(
            np.arange(len(y)), test_size=holdout_fraction, random_state=seed, stratify=stratify
        )
        raw = [(train, valid)]
    else:
        raw = make_splits(y, task, folds, seed)
    splits = [
        (_sample(rng, train, search_rows, latest=kind == "time"), np.sort(valid)) for train, valid in raw
    ]
    return Validation(
        splits,
        row_rungs(len(splits[0][0])),
        kind == "holdout",
        holdout_above,
        kind=kind,
        time_column=time_column,
        search_rows=search_rows,
        rows=len(y),
    )


def _sample(rng: np.random.Generator, train: np.ndarray, rows: int | None, *, latest: bool) -> np.ndarray:
    """A split's training rows in a random order; only ``rows`` of them, at random (the last ones when ``latest``)."""
    if rows is not None and len(train) > rows:
        train = train[-rows:] if latest else rng.permutation(train)[:rows]
    return rng.permutation(train)


def time_splits(rows: int, folds: int, order: np.ndarray | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Forward chaining: split ``k`` trains on the first blocks of rows in time order and validates on the next."""
    if rows < folds + 1:
        raise DataError(
            f"time-ordered validation in {folds} splits needs more than {folds} rows; X has {rows}"
        )
    ranked = np.arange(rows) if order is None else np.asarray(order)
    return [(ranked[train], ranked[valid]) for train, valid in TimeSeriesSplit(n_splits=folds).split(ranked)]


def group_splits(
    y: np.ndarray, task: str, folds: int, seed: int | None, groups: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """k folds that never split a group: stratified by class where it can be, shuffled by ``seed``."""
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise DataError("groups has a single group; folds that keep groups whole need at least 2 groups")
    folds = min(folds, n_groups)
    if is_regression(task):
        splitter: Any = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y, groups))


def custom_splits(
    cv: Any, rows: int, y: np.ndarray, groups: np.ndarray | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The user's splitter's splits, or their own list, checked: valid indices, disjoint validation sets."""
    try:
        raw = list(cv.split(np.zeros(rows), y, groups)) if hasattr(cv, "split") else list(cv)
        splits = [(np.asarray(train, dtype=int), np.asarray(valid, dtype=int)) for train, valid in raw]
    except (TypeError, ValueError) as error:
        raise ConfigError(f"cv could not make splits of the {rows} rows: {error}") from None
    if not splits:
        raise ConfigError("cv gave no splits; give at least one (train, validation) pair of row indices")
    seen = np.zeros(rows, dtype=bool)
    for number, (train, valid) in enumerate(splits):
        if not len(train) or not len(valid):
            raise ConfigError(f"cv split {number} has no training or no validation rows")
        if min(train.min(), valid.min()) < 0 or max(train.max(), valid.max()) >= rows:
            raise ConfigError(f"cv split {number} has row indices outside 0..{rows - 1}")
        if seen[valid].any():
            raise ConfigError(
                f"cv split {number} validates on rows an earlier split already validated on; automl needs "
                "disjoint validation sets (one out-of-fold prediction per row), so use a k-fold-like splitter"
            )
        seen[valid] = True
    return splits


def row_rungs(rows: int) -> tuple[int, ...]:
    """The samples fold 0 trains on before all ``rows``: from 10,000 up, fourfold, each at most a third of all."""
    rungs = []
    size = FIRST_RUNG_ROWS
    while size * 3 <= rows:
        rungs.append(size)
        size *= RUNG_GROWTH
    return tuple(rungs)


def make_splits(
    y: np.ndarray, task: str, folds: int, seed: int | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled k-fold splits, stratified for classes."""
    splitter = (KFold if is_regression(task) else StratifiedKFold)(
        n_splits=folds, shuffle=True, random_state=seed
    )
    return list(splitter.split(np.zeros(len(y)), y))
