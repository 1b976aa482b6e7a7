"""The search's life cycle: open the study, queue the defaults, run trials here or in workers, collect.

``run_search`` is to the estimators what ``_run_search`` is to scikit-learn's ``BaseSearchCV``:
it owns the study (its storage, the known-good defaults, the trial loop in this process or in
worker processes, the wait for other machines' trials) and hands back a ``SearchResult``; the
estimator only validates, chooses and refits.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from automl.deadline import Deadline
from automl.energy import EnergyMeter
from automl.errors import ConfigError
from automl.objective import Objective, OOFStore, Problem
from automl.presets import Preset
from automl.spaces import FamilySpace
from automl.storage import open_storage

logger = logging.getLogger("automl")

#: Set by a signal handler that stops the search (the CLI's Ctrl-C). The KeyboardInterrupt such a
#: handler raises is lost when it lands in a finalizer, so the search also checks this between trials.
stop_requested = threading.Event()

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
LEADERBOARD_COLUMNS = [
    "number",
    "family",
    "state",
    "score",
    "score_std",
    "folds",
    "fit_seconds",
    "cpu_seconds",
    "energy_kwh",
    "co2_kg",
    "predict_ms_per_1k",
    "model_bytes",
    "params",
    "reason",
]


@dataclass(frozen=True)
class SearchPlan:
    """How to run a search: the preset's sampler and pruner, the budget, and where the study lives.

    ``storage`` and ``study_name`` name a shared study (continued if it exists); without a storage
    the study is private to this search.
    """

    preset: Preset
    deadline: Deadline
    n_trials: int | None
    cv: int
    storage: str | None = None
    study_name: str | None = None
    n_jobs: int = 1
    seed: int | None = 0
    country: str = "USA"

    @property
    def refit_models(self) -> int:
        """How many of the best trials' refits the budget keeps time for (an ensemble may need several)."""
        return ENSEMBLE_RESERVE if self.preset.ensemble else 1


#: Time is kept for refitting this many of the best trials when an ensemble may be chosen.
ENSEMBLE_RESERVE = 3


@dataclass
class SearchResult:
    """What a search leaves: every trial (a study held in memory), its leaderboard and the out-of-fold predictions.

    ``stop_reason`` says why trials stopped: ``time budget``, ``trial count`` or ``interrupted``.
    ``overhead_seconds`` is the energy tracking's overhead in worker processes.
    """

    study: optuna.Study
    leaderboard: pd.DataFrame
    oof: OOFStore
    interrupted: bool
    stop_reason: str
    overhead_seconds: float = 0.0

    @property
    def complete(self) -> pd.DataFrame:
        return self.leaderboard[self.leaderboard.state == "complete"]


def run_search(problem: Problem, plan: SearchPlan, meter: EnergyMeter) -> SearchResult:
    """Open (or continue) the study, run trials until the budget is spent, and collect every trial."""
    with TemporaryDirectory(prefix="automl-") as scratch, quiet_optuna():
        url = plan.storage or (str(Path(scratch) / "study.journal") if plan.n_jobs > 1 else None)
        storage = open_storage(url)
        study = optuna.create_study(
            storage=storage,
            direction="maximize",
            load_if_exists=True,
            study_name=plan.study_name or f"automl-{uuid.uuid4().hex[:8]}",
            sampler=plan.preset.make_sampler(plan.seed),
            pruner=plan.preset.make_pruner(storage),
        )
        study.set_user_attr("deadline_at", plan.deadline.at)
        enqueue_defaults(study, list(problem.families.values()))
        budget = Budget(plan.deadline, plan.n_trials, plan.cv, plan.refit_models)
        oof = OOFStore()
        overhead = 0.0
        if plan.n_jobs == 1:
            interrupted = run_trials(study, storage, problem, budget, meter, oof)
        else:
            from automl.parallel import run_workers

            assert url is not None, "workers share a study through a storage"
            try:
                results = run_workers(
                    plan.n_jobs, url, study.study_name, problem, budget, plan.preset, plan.seed, plan.country
                )
            except KeyboardInterrupt:
                results, interrupted = [], True
            else:
                interrupted = any(r.interrupted for r in results)
            for result in results:
                oof.merge(result.oof)
            overhead = sum(r.overhead_seconds for r in results)
        if plan.storage and not interrupted:
            wait_for_others(study, budget.search_deadline())
        memory = in_memory(study, storage)
    board = leaderboard(memory, problem.families)
    return SearchResult(
        memory, board, oof, interrupted, "interrupted" if interrupted else budget.reason(memory), overhead
    )


def join_search(problem: Problem, plan: SearchPlan, meter: EnergyMeter) -> int:
    """Run trials on the shared study of ``plan`` until its budget is spent; the number this process finished."""
    with quiet_optuna():
        storage = open_storage(plan.storage)
        try:
            study = optuna.load_study(
                study_name=plan.study_name,
                storage=storage,
                sampler=plan.preset.make_sampler(plan.seed),
                pruner=plan.preset.make_pruner(storage),
            )
        except KeyError:
            raise ConfigError(
                f"no study named {plan.study_name!r} in the storage; start it with `automl search` first"
            ) from None
        deadline = Deadline.until(study.user_attrs.get("deadline_at"))
        before = len(study.get_trials(deepcopy=False, states=FINISHED))
        run_trials(
            study,
            storage,
            problem,
            Budget(deadline, plan.n_trials, plan.cv, plan.refit_models),
            meter,
            OOFStore(),
        )
        return len(study.get_trials(deepcopy=False, states=FINISHED)) - before


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna's per-trial log lines hidden during a search, and the user's own verbosity restored after."""
    level = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(level)


def enqueue_defaults(study: optuna.Study, families: Sequence[FamilySpace]) -> None:
    """Each family's known-good configurations go first, cheap families before dear ones."""
    depth = max((len(f.defaults) for f in families), default=0)
    for i in range(depth):
        for family in families:
            if i < len(family.defaults):
                study.enqueue_trial(
                    {"family": family.name, **family.trial_params(family.defaults[i])}, skip_if_exists=True
                )


def leaderboard(study: optuna.Study, families: dict[str, FamilySpace]) -> pd.DataFrame:
    """Every trial as a row: state, score, costs and parameters."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.state == TrialState.WAITING:
            continue
        name = trial.params.get("family")
        family = families.get(str(name))
        attrs = trial.user_attrs
        rows.append(
            {
                "number": trial.number,
                "family": name,
                "state": trial.state.name.lower(),
                "score": attrs.get("score", np.nan) if trial.state == TrialState.COMPLETE else np.nan,
                "score_std": attrs.get("score_std", np.nan),
                "folds": attrs.get("folds", 0),
                **{key: attrs.get(key, np.nan) for key in LEADERBOARD_COLUMNS[6:12]},
                "params": family.from_trial_params(trial.params) if family else {},
                "reason": attrs.get("reason", ""),
            }
        )
    return pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)


def refit_seconds(fit_seconds: float, folds: int, cv: int) -> float:
    """Expected time to refit a trial on all rows, from its cross-validation time."""
    if not folds or not math.isfinite(fit_seconds):
        return 0.0
    per_fold = fit_seconds / folds
    return per_fold * cv / max(cv - 1, 1) * 1.2 + 0.5


class Budget:
    """When the trials stop: the time budget, the trial count, or a stop request.

    Time is kept for the final refit: that of the ``refit_models`` best trials so far (more
    than one when an ensemble of them may be chosen).
    """

    def __init__(self, deadline: Deadline, n_trials: int | None, cv: int, refit_models: int = 1) -> None:
        self.deadline = deadline
        self.n_trials = n_trials
        self.cv = cv
        self.refit_models = refit_models
        self.reserve = 0.0

    def search_deadline(self) -> Deadline:
        return self.deadline.earlier(self.reserve)

    def update(self, study: optuna.Study) -> None:
        """Keep time for refitting the best trials finished so far."""
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        top = sorted(complete, key=lambda t: -math.inf if t.value is None else t.value, reverse=True)[
            : self.refit_models
        ]
        self.reserve = sum(
            refit_seconds(t.user_attrs.get("fit_seconds", 0.0), t.user_attrs.get("folds", 0), self.cv)
            for t in top
        )

    def reason(self, study: optuna.Study) -> str:
        """Why no further trial should start, or '' while the budget lasts."""
        if stop_requested.is_set():
            return "interrupted"
        if (
            self.n_trials is not None
            and len(study.get_trials(deepcopy=False, states=FINISHED)) >= self.n_trials
        ):
            return "trial count"
        if self.search_deadline().left() <= 0:
            return "time budget"
        return ""


def run_trials(
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    problem: Problem,
    budget: Budget,
    meter: EnergyMeter,
    oof: OOFStore,
) -> bool:
    """Ask, run and tell trials on ``study`` until the budget says stop; a failing trial is recorded, never raised.

    Returns True when the user interrupted the search (Ctrl-C): what finished is kept, and the
    trial that was running is told failed.
    """
    budget.update(study)
    if budget.reason(study):
        return stop_requested.is_set()
    for module in sorted({m for family in problem.families.values() for m in family.preload}):
        importlib.import_module(module)  # before the first trial, so no trial is charged for it
    objective = Objective(problem, budget.search_deadline, meter, oof)
    heartbeat = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
    while not budget.reason(study):
        if heartbeat:
            optuna.storages.fail_stale_trials(study)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "Heartbeat of storage is supposed to be used with Study.optimize"
            )
            trial = study.ask()  # the heartbeat is beaten below, as Study.optimize would
        try:
            with _beating(storage, study, trial, heartbeat):
                outcome = objective(trial)
        except KeyboardInterrupt:
            trial.set_user_attr("reason", "interrupted: the search was stopped while it ran")
            study.tell(trial, state=TrialState.FAIL)
            logger.warning(
                "search interrupted: keeping the %d finished trials",
                len(study.get_trials(deepcopy=False, states=FINISHED)),
            )
            return True
        study.tell(trial, outcome.value, state=outcome.state)
        budget.update(study)
    return stop_requested.is_set()


@contextmanager
def _beating(
    storage: optuna.storages.BaseStorage, study: optuna.Study, trial: optuna.Trial, interval: int | None
) -> Iterator[None]:
    """Record the running trial's heartbeat every ``interval`` seconds, so a dead process's trial is failed by others.

    A daemon thread: it never keeps the process alive after an interrupt.
    """
    if not interval:
        yield
        return
    trial_id = storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name(study.study_name), trial.number
    )
    stop = threading.Event()

    def beat() -> None:
        while True:
            storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"automl-heartbeat-{trial.number}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()


def wait_for_others(study: optuna.Study, deadline: Deadline, poll_seconds: float = 0.5) -> None:
    """Let trials that other processes are running on a shared study finish, so the choice sees them all.

    Waits no later than ``deadline``; a trial whose process died is failed by the storage's heartbeat.
    """
    while deadline.left() > 0 and study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        time.sleep(poll_seconds)
        optuna.storages.fail_stale_trials(study)


def in_memory(study: optuna.Study, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """A copy of ``study`` held in memory: it outlives a temporary file, and a saved model carries its trials."""
    memory = optuna.storages.InMemoryStorage()
    optuna.copy_study(from_study_name=study.study_name, from_storage=storage, to_storage=memory)
    return optuna.load_study(study_name=study.study_name, storage=memory)


def recover_interrupted(study: optuna.Study, storage: optuna.storages.BaseStorage) -> int:
    """Mark trials a killed process left RUNNING as failed and queue their parameters again.

    Only for a study no other process is running (a resumed single-machine run); with
    many workers, the storage's heartbeat does this instead.
    """
    stale: list[FrozenTrial] = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in stale:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        storage.set_trial_user_attr(trial_id, "reason", "interrupted: its process stopped before it finished")
        study.tell(trial.number, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, skip_if_exists=False)
    return len(stale)
