"""When more search does not pay: the convergence rule.

The time budget is an upper bound, not a target. A search stops earlier when neither its best
trial nor the ensemble of its best trials has improved by more than their noise for a stretch
of trials and of time. The rule is checked by the process that supervises the workers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import optuna
from optuna.trial import FrozenTrial, TrialState

from automl.params import Flag, Number, Table
from automl.sampling import PRUNED_AT_SHARE

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
#: An improvement smaller than this share of the best score never counts (a holdout has no fold spread).
RELATIVE_FLOOR = 1e-4


@dataclass(frozen=True)
class StopRule:
    """A preset's ``stop:`` settings.

    Parameters
    ----------
    converge : bool
        Whether the search may stop before its time budget once it has converged.
    patience_trials : int
        Trials (of any outcome) that must finish without a real improvement; one pruned on a row
        sample of under a quarter of a large table's rows does not count, as it says little about
        the model on all of them.
    patience_share : float
        And the time since the last real improvement must reach this share of the time it took to get there.
    min_seconds : float
        And at least this many seconds.
    margin : float
        A real improvement beats the best by more than this many standard errors of the best trial's
        cross-validated score (its folds' spread over the square root of their number).
    """

    converge: bool = True
    patience_trials: int = 20
    patience_share: float = 0.5
    min_seconds: float = 3.0
    margin: float = 0.5


#: A trial pruned on a row sample counts towards the patience if the sample held this share of the rows.
SAMPLE_EVIDENCE = 0.25
#: The constraints on a preset's ``stop:`` keys.
STOP_KEYS = Table(
    {
        "converge": Flag(),
        "patience_trials": Number(low=1, integer=True),
        "patience_share": Number(low=0),
        "min_seconds": Number(low=0),
        "margin": Number(low=0),
    },
    none=True,
)


@dataclass(frozen=True)
class Stop:
    """Why a search stopped, in a word (``reason``) and in a sentence (``detail``)."""

    reason: str
    detail: str


class Stopper:
    """Decides, from the study, whether the search has converged.

    ``ensemble_score(trials)`` scores the ensemble of those complete trials (or returns None when
    there is no ensemble to consider); it is called only once the best single trial has stopped
    improving.
    """

    def __init__(
        self,
        rule: StopRule,
        ensemble_score: Callable[[list[FrozenTrial]], float | None],
        started: float | None = None,
    ) -> None:
        self.rule = rule
        self.ensemble_score = ensemble_score
        self.started = time.time() if started is None else started
        self._extended_at: float | None = None

    def check(self, study: optuna.Study) -> Stop | None:
        trials = study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.state in FINISHED]
        if not self.rule.converge or any(t.state == TrialState.WAITING for t in trials):
            return None  # the known-good defaults are always tried
        return self._converged(finished)

    def _converged(self, finished: list[FrozenTrial]) -> Stop | None:
        rule = self.rule
        complete = sorted(
            (t for t in finished if t.state == TrialState.COMPLETE and t.value is not None), key=_ended
        )
        if not complete:
            return None
        best, best_se, improved_at = -math.inf, 0.0, self.started
        for trial in complete:
            value = float(trial.value)  # type: ignore[arg-type]
            if value > best + self._margin(best, best_se):
                improved_at = _ended(trial)
            if value > best:
                best, best_se = value, _standard_error(trial)
        if self._extended_at is not None:
            improved_at = max(improved_at, self._extended_at)
        now = time.time()
        since = [
            t
            for t in finished
            if t.datetime_complete is not None
            and t.datetime_complete.timestamp() > improved_at
            and t.user_attrs.get(PRUNED_AT_SHARE, 1.0) >= SAMPLE_EVIDENCE
        ]
        waited, needed = (
            now - improved_at,
            max(rule.min_seconds, rule.patience_share * (improved_at - self.started)),
        )
        if len(since) < rule.patience_trials or waited < needed:
            return None
        before = [t for t in complete if _ended(t) <= improved_at]
        now_score = self.ensemble_score(complete)
        then_score = self.ensemble_score(before) if now_score is not None else None
        if (
            now_score is not None
            and then_score is not None
            and now_score > then_score + self._margin(best, best_se)
        ):
            self._extended_at = now  # the ensemble still gains from the new trials: wait another stretch
            return None
        return Stop(
            "converged",
            f"no trial (nor the ensemble) beat the best by more than its noise over the last "
            f"{len(since)} trials and {waited:.0f} s",
        )

    def _margin(self, best: float, best_se: float) -> float:
        if not math.isfinite(best):
            return 0.0
        return max(self.rule.margin * best_se, RELATIVE_FLOOR * abs(best))


def _ended(trial: FrozenTrial) -> float:
    return math.inf if trial.datetime_complete is None else trial.datetime_complete.timestamp()


def _standard_error(trial: FrozenTrial) -> float:
    folds = int(trial.user_attrs.get("folds", 1) or 1)
    return float(trial.user_attrs.get("score_std", 0.0) or 0.0) / math.sqrt(max(folds, 1))
