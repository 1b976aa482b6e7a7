"""Pruning that compares a partially trained model only with the same family's partial stages.

At a partial stage (say a ninth of its boosting rounds) a gradient-boosting model is far
worse than it will end, while a forest with a ninth of its trees is nearly done. Comparing
the two, as a plain pruner does, prunes boosting before it learns. Fold scores are of fully
trained models, so every family is compared at those steps.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Any

import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial, TrialState

from automl.spaces import PARTIAL_RUNGS


class _FamilyView:
    """The study as a pruner sees it, holding only the trials of one family."""

    def __init__(self, study: optuna.Study, family: Any) -> None:
        self._study = study
        self._family = family

    def get_trials(self, deepcopy: bool = True, states: Container[TrialState] | None = None) -> Sequence[FrozenTrial]:
        trials = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if t.params.get("family") == self._family]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


class PartialStagesByFamily(BasePruner):
    """Wraps ``pruner`` so that partial-stage steps are judged within the trial's family."""

    def __init__(self, pruner: BasePruner) -> None:
        self.pruner = pruner

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is not None and step < len(PARTIAL_RUNGS):
            return self.pruner.prune(_FamilyView(study, trial.params.get("family")), trial)  # type: ignore[arg-type]
        return self.pruner.prune(study, trial)
