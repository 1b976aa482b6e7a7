"""Pruning that compares a partially trained model only with the same family's partial stages.

At a partial stage (say a ninth of its boosting rounds) a gradient-boosting model is far
worse than it will end, while a forest with a ninth of its trees is nearly done. Comparing
the two, as a plain pruner does, prunes boosting before it learns. Fold scores are of fully
trained models, so every family is compared at those steps.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import optuna
from optuna.pruners import BasePruner
from optuna.trial import FrozenTrial, TrialState

from automl.spaces import PARTIAL_RUNGS


class FamilyStudy(optuna.Study):
    """The study as a pruner sees it: the trials of one family only, and nothing else of a study.

    Like Optuna's own ``_BracketStudy`` (Hyperband's view of one bracket), every attribute a
    pruner does not need is refused, so nothing can reach the whole study by mistake.
    """

    _ALLOWED = frozenset(
        {
            "get_trials",
            "_get_trials",
            "trials",
            "direction",
            "directions",
            "_directions",
            "study_name",
            "_study_id",
            "_storage",
            "_family",
            "_thread_local",
            "_is_multi_objective",
            "sampler",
            "pruner",
            "user_attrs",
            "system_attrs",
        }
    )

    def __init__(self, study: optuna.Study, storage: optuna.storages.BaseStorage, family: Any) -> None:
        super().__init__(
            study_name=study.study_name, storage=storage, sampler=study.sampler, pruner=study.pruner
        )
        self._family = family

    def get_trials(
        self, deepcopy: bool = True, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        trials = super()._get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if t.params.get("family") == self._family]

    def __getattribute__(self, name: str) -> Any:
        if name not in FamilyStudy._ALLOWED and not name.startswith("__"):
            raise AttributeError(f"a pruner's view of one family has no attribute {name!r}")
        return object.__getattribute__(self, name)


class PartialStagesByFamily(BasePruner):
    """Wraps ``pruner`` so that partial-stage steps are judged within the trial's family.

    Parameters
    ----------
    pruner : optuna.pruners.BasePruner
        The pruner that decides, on the whole study at row-sample and fold steps and on one
        family's trials at partial-stage steps.
    storage : optuna.storages.BaseStorage, optional
        The study's storage, which the family view reads; set by the search before the first trial.
    row_rungs : int
        How many row-sample steps come before the partial stages (``objective.Steps``).
    """

    def __init__(
        self, pruner: BasePruner, storage: optuna.storages.BaseStorage | None = None, row_rungs: int = 0
    ) -> None:
        self.pruner = pruner
        self.storage = storage
        self.row_rungs = row_rungs

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is not None and self.row_rungs <= step < self.row_rungs + len(PARTIAL_RUNGS):
            if self.storage is None:
                raise RuntimeError("PartialStagesByFamily needs the study's storage; the search sets it")
            return self.pruner.prune(FamilyStudy(study, self.storage, trial.params.get("family")), trial)
        return self.pruner.prune(study, trial)
