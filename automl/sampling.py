"""Which families a search still samples: one that keeps failing is left out, and the sampler is told so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

#: A family is left out after this many failed trials with none complete.
FAILURES_TO_LEAVE_OUT = 3
#: How the reason of a trial of a left-out family begins.
NOT_RUN = "not run: "
#: The user attribute that marks, in a finished search's record, a queued default that never ran.
QUEUED_NOT_RUN = "queued_not_run"
#: The user attribute of a trial whose fit raised: the exception's type (a failure of the configuration itself).
FIT_ERROR = "fit_error"
#: The user attribute of a trial pruned on a row sample of a large table: the share of its fold's rows it trained on.
PRUNED_AT_SHARE = "pruned_at_share"


def left_out(study: optuna.Study) -> dict[str, str]:
    """Families whose trials have all failed, at least ``FAILURES_TO_LEAVE_OUT`` times: family -> their last error."""
    failed: dict[str, list[str]] = {}
    complete: set[str] = set()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)):
        family = str(trial.params.get("family"))
        if trial.state == TrialState.COMPLETE:
            complete.add(family)
        elif not any(trial.user_attrs.get(key) for key in ("left_out", "duplicate_of", QUEUED_NOT_RUN)):
            failed.setdefault(family, []).append(str(trial.user_attrs.get("reason", "")))
    return {
        f: reasons[-1]
        for f, reasons in failed.items()
        if f not in complete and len(reasons) >= FAILURES_TO_LEAVE_OUT
    }


class AvoidLeftOut(BaseSampler):
    """Wraps a sampler so that it never proposes a family the search has left out.

    Optuna's samplers do not see failed trials, so without this a family whose fit always
    raises would keep being sampled as if it had never been tried.
    """

    def __init__(self, sampler: BaseSampler, seed: int | None = None) -> None:
        self.sampler = sampler
        self._rng = np.random.RandomState(seed)

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self.sampler.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        params = self.sampler.sample_relative(study, trial, search_space)
        distribution = search_space.get("family")
        if "family" in params and isinstance(distribution, CategoricalDistribution):
            params["family"] = self._instead(study, params["family"], distribution.choices)
        return params

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        value = self.sampler.sample_independent(study, trial, param_name, param_distribution)
        if param_name == "family" and isinstance(param_distribution, CategoricalDistribution):
            return self._instead(study, value, param_distribution.choices)
        return value

    def _instead(self, study: optuna.Study, family: Any, choices: Sequence[Any]) -> Any:
        excluded = left_out(study)
        if family not in excluded:
            return family
        allowed = [c for c in choices if c not in excluded]
        return allowed[self._rng.randint(len(allowed))] if allowed else family

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.sampler.before_trial(study, trial)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.sampler.reseed_rng()
        self._rng = np.random.RandomState()
