"""Test rows: a share of the rows withheld before the search, to score the chosen model once, honestly.

Cross-validation scores every trial on the same folds and the best of them is chosen, so the
chosen model's cross-validation score is optimistic. Rows the search never saw give a score free
of that selection. This is not the validation holdout (``holdout_above`` in a preset), which
replaces k-fold on large tables and is part of the search.

The test rows are the latest ones when the rows are time-ordered (``cv="time"``), whole groups
when there are groups, and a stratified random share otherwise. Once they are scored, the chosen
model is refit on all rows, test rows included, when the time budget leaves room for it
(``refit_full=False`` keeps the scored model): the held-out score is then that of the same
configuration trained on fewer rows, a slightly pessimistic estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from automl.errors import DataError

#: ``holdout="auto"`` withholds this share of the rows, on tables of more than this many rows.
AUTO_SHARE = 0.2
AUTO_ABOVE = 5000


def resolve(holdout: float | str | None, n_rows: int) -> float | None:
    """The share of rows to withhold: ``auto`` is ``AUTO_SHARE`` above ``AUTO_ABOVE`` rows, and none below."""
    if holdout == "auto":
        return AUTO_SHARE if n_rows > AUTO_ABOVE else None
    return None if holdout is None else float(holdout)


def split(
    y: np.ndarray,
    share: float,
    classification: bool,
    seed: int | None,
    *,
    groups: np.ndarray | None = None,
    time_order: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The rows searched on and the test rows, each sorted.

    The test rows are the latest ones with a time order, whole groups with groups, and otherwise
    a random share, stratified by class for classification.
    """
    rows = np.arange(len(y))
    if time_order is not None:
        cut = len(y) - max(1, int(round(share * len(y))))
        return np.sort(time_order[:cut]), np.sort(time_order[cut:])
    if groups is not None:
        splitter = GroupShuffleSplit(1, test_size=share, random_state=seed)
        searched, test = next(splitter.split(rows, groups=groups))
        return np.sort(searched), np.sort(test)
    if classification and np.bincount(y).min() < 2:
        raise DataError(
            "holdout needs at least 2 rows of every class to withhold test rows of each; "
            "pass holdout=None (--holdout off) or drop the rarest classes"
        )
    try:
        searched, test = train_test_split(
            rows, test_size=share, stratify=y if classification else None, random_state=seed
        )
    except ValueError as exc:  # too few rows for the share, or for a class in each part
        raise DataError(
            f"holdout={share:g} cannot split these {len(y)} rows: {exc}; withhold another share"
        ) from None
    return np.sort(searched), np.sort(test)


@dataclass(frozen=True)
class HoldoutResult:
    """The chosen model's score on the test rows, beside its cross-validation score."""

    rows: int
    share: float
    score: float
    cv_score: float
    cv_std: float
    #: The best single trial's held-out score, when an ensemble was chosen (NaN when it is not a member).
    single_score: float = float("nan")
    single_trial: int | None = None
    #: Whether the returned model was then refit on all rows, test rows included.
    refit_on_all_rows: bool = False

    @property
    def gap(self) -> float:
        return self.cv_score - self.score

    @property
    def suspicious(self) -> bool:
        """Whether the two scores differ by more than the cross-validation spread (the folds' standard deviation)."""
        return bool(np.isfinite(self.cv_std) and abs(self.gap) > self.cv_std)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, as run.json records them."""
        values = {
            "rows": self.rows,
            "share": self.share,
            "score": self.score,
            "cv_score": self.cv_score,
            "cv_std": self.cv_std,
            "single_score": self.single_score,
            "single_trial": self.single_trial,
        }
        plain = {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in values.items()}
        return {
            **plain,
            "differs_beyond_cv_spread": self.suspicious,
            "refit_on_all_rows": self.refit_on_all_rows,
        }
