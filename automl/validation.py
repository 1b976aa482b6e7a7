"""How a trial is scored: k-fold cross-validation or one holdout split, and rows as a fidelity.

On large tables one stratified holdout split replaces k-fold (as AutoGluon does), and fold 0 is
first trained on growing samples of its rows (10,000, then four times more at each rung), so a
poor configuration is pruned after a small sample instead of a full fit: successive halving over
the data size, as FLAML grows its sample size. Each family may also cap the rows it trains on
(k-NN, whose prediction cost grows with the square of the rows, or deep forests).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from automl.tasks import is_regression

#: The first row sample fold 0 is trained on, and how much each further rung grows it.
FIRST_RUNG_ROWS, RUNG_GROWTH = 10_000, 4


@dataclass(frozen=True)
class Validation:
    """The splits a trial is scored on, and the row samples fold 0 is trained on first.

    Each split's training rows are in a fixed random order, so that the first ``n`` of them are
    a random sample of ``n`` rows, and a larger sample holds every smaller one.
    """

    splits: list[tuple[np.ndarray, np.ndarray]]
    row_rungs: tuple[int, ...] = ()
    holdout: bool = False
    holdout_above: int | None = None

    @cached_property
    def scored(self) -> np.ndarray:
        """The rows that get an out-of-fold prediction: all of them in k-fold, the holdout rows otherwise."""
        return np.sort(np.concatenate([valid for _, valid in self.splits]))

    @property
    def folds(self) -> int:
        return len(self.splits)

    @property
    def train_share(self) -> float:
        """The share of all rows a split trains on: what a refit on all rows grows by."""
        total = len(self.splits[0][0]) + len(self.splits[0][1])
        return float(np.mean([len(train) for train, _ in self.splits])) / total

    def describe(self) -> str:
        if self.holdout:
            valid = len(self.splits[0][1])
            return (
                f"one holdout split: {valid:,} rows ({valid / (valid + len(self.splits[0][0])):.0%}) scored, "
                f"because the table has more than {self.holdout_above:,} rows"
            )
        return f"{self.folds}-fold cross-validation"

    def describe_rungs(self) -> str:
        if not self.row_rungs:
            return ""
        return (
            "fold 0 is trained on "
            + ", then ".join(f"{r:,}" for r in self.row_rungs)
            + f", then all {len(self.splits[0][0]):,} of its rows; a poor trial is pruned at a sample"
        )


def plan(
    y: np.ndarray,
    task: str,
    folds: int,
    seed: int | None,
    *,
    holdout_above: int | None = None,
    holdout_fraction: float = 0.2,
) -> Validation:
    """k-fold splits, or one holdout split above ``holdout_above`` rows, with the row rungs their size calls for."""
    rng = np.random.default_rng(seed)
    holdout = holdout_above is not None and len(y) > holdout_above
    if holdout:
        stratify = None if is_regression(task) else y
        train, valid = train_test_split(
            np.arange(len(y)), test_size=holdout_fraction, random_state=seed, stratify=stratify
        )
        splits = [(rng.permutation(train), np.sort(valid))]
    else:
        splits = [(rng.permutation(train), valid) for train, valid in make_splits(y, task, folds, seed)]
    return Validation(splits, row_rungs(len(splits[0][0])), holdout, holdout_above)


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
