"""The search's life cycle: open the study, queue the defaults, run trials in workers, collect.

``run_search`` is to the estimators what ``_run_search`` is to scikit-learn's ``BaseSearchCV``:
it owns the study (its storage, the known-good defaults, the wait for other machines' trials)
and hands back a ``SearchResult``; the estimator only validates, chooses and refits.

Trials run in worker processes (``automl.workers``), each asking the study for a trial, running
it and telling the result. This process supervises: it decides when the search stops, stops a
worker whose fit runs past the deadline, records the peak memory, and notices a worker that died.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState
from threadpoolctl import threadpool_limits

from automl import workers
from automl.candidates import Candidate
from automl.costs import MEASURES
from automl.deadline import Deadline
from automl.energy import EnergyMeter
from automl.ensemble import blend, diverse_candidates, ensemble_selection, sampled_rows
from automl.errors import ConfigError
from automl.objective import Objective, OOFFiles, OOFSink, OOFStore, Problem
from automl.presets import Preset
from automl.sampling import NOT_RUN, QUEUED_NOT_RUN
from automl.spaces import FamilySpace
from automl.stopping import Stop, Stopper, StopRule
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
    "rows",
    "refit_rows",
    "fidelity",
    "fidelity_max",
    "fit_seconds",
    "train_seconds",
    "cpu_seconds",
    "energy_kwh",
    "co2_kg",
    "predict_ms_per_1k",
    "model_bytes",
    "params",
    "reason",
]
#: The share of each further thread's speed a fit is expected to gain (on two threads against one,
#: at 200,000 rows: histogram gradient boosting 1.65x, LightGBM 1.77x, a random forest 1.91x, the MLP 1.08x).
PARALLEL_EFFICIENCY = 0.5
#: What a trial's attributes say of its rows and rounds, as leaderboard columns.
FIDELITY_COLUMNS = ("rows", "refit_rows", "fidelity", "fidelity_max")
#: Time is kept for refitting this many of the best trials when an ensemble may be chosen,
#: the others' than the best's up to this share of the time budget (every refit pass together).
ENSEMBLE_RESERVE, MEMBERS_RESERVE_SHARE = 3, 0.15
#: A worker still in a trial this long after the search's deadline is stopped (seconds, and share of the budget).
OVERRUN_GRACE, OVERRUN_SHARE = 1.0, 0.02
#: A search restarts at most this many workers that died, before it gives up on the rest of its budget.
MAX_RESTARTS = 8


@dataclass(frozen=True)
class SearchPlan:
    """How to run a search: the preset's sampler and pruner, the budget, and where the study lives.

    ``storage`` and ``study_name`` name a shared study (continued if it exists); without a storage
    the study is private to this search.
    """

    preset: Preset
    deadline: Deadline
    n_trials: int | None
    train_share: float
    storage: str | None = None
    study_name: str | None = None
    n_jobs: int = 1
    seed: int | None = 0
    country: str = "USA"
    stop: StopRule = field(default_factory=lambda: StopRule(converge=False))
    energy_budget_kwh: float | None = None
    #: Row-sample steps before the partial stages of fold 0 (``objective.Steps``).
    row_rungs: int = 0
    memory_limit_mb: float = float("inf")
    #: How many times faster the refit trains than a trial, per row (it has more threads).
    refit_speedup: float = 1.0
    #: How many refits of the chosen model the time is kept for, counted in the first one's time:
    #: 1, or more when it is refit again on all rows once scored on the held-out test rows.
    refit_passes: float = 1.0
    #: What shows the search's progress, given the study's storage URL and name (``progress.SearchProgress``).
    progress: Callable[[str, str], AbstractContextManager[Any]] | None = None

    @property
    def refit_models(self) -> int:
        """How many of the best trials' refits the budget keeps time for (an ensemble may need several)."""
        return ENSEMBLE_RESERVE if self.preset.ensemble else 1


@dataclass
class SearchResult:
    """What a search leaves: every trial (a study held in memory), its leaderboard and the out-of-fold predictions.

    ``stop_reason`` says why trials stopped (``time budget``, ``trial count``, ``converged``,
    ``energy budget``, ``interrupted``) and ``stop_detail`` says it in a sentence.
    ``overhead_seconds`` is what energy tracking added in the workers; ``peak_memory_mb`` the
    largest memory of this process and its workers together.
    """

    study: optuna.Study
    leaderboard: pd.DataFrame
    oof: OOFStore
    interrupted: bool
    stop_reason: str
    overhead_seconds: float = 0.0
    peak_memory_mb: float = 0.0
    stop_detail: str = ""

    @property
    def complete(self) -> pd.DataFrame:
        return self.leaderboard[self.leaderboard.state == "complete"]


@dataclass(frozen=True)
class TrialsJob:
    """What a worker needs to run trials on a study: everything small and picklable, the data in files."""

    folder: str
    storage_url: str
    study_name: str
    preset: Preset
    seed: int | None
    country: str
    deadline_at: float | None
    n_trials: int | None
    train_share: float
    refit_models: int
    row_rungs: int = 0
    energy_budget_kwh: float | None = None
    refit_speedup: float = 1.0
    refit_passes: float = 1.0

    @property
    def stop_file(self) -> Path:
        return Path(self.folder) / "stop"


@dataclass(frozen=True)
class WorkerReport:
    """What a worker's run of trials leaves besides the trials: whether it was interrupted, and its meter's figures."""

    interrupted: bool
    overhead_seconds: float
    energy_method: dict[str, Any] = field(default_factory=dict)


def run_trials_task(job: TrialsJob, index: int) -> WorkerReport:
    """In a worker: run trials on the job's study until its budget, the trial count or a stop says otherwise."""
    meter = EnergyMeter.for_country(job.country)
    overhead = meter.overhead_seconds  # a worker serves many searches; this one's overhead is the difference
    problem = Problem.load(Path(job.folder))
    storage = open_storage(job.storage_url)
    seed = None if job.seed is None else job.seed + index
    with quiet_optuna():
        study = optuna.load_study(
            study_name=job.study_name,
            storage=storage,
            sampler=job.preset.make_sampler(seed),
            pruner=job.preset.make_pruner(storage, job.row_rungs),
        )
        budget = Budget(
            Deadline.until(job.deadline_at),
            job.n_trials,
            job.train_share,
            job.refit_models,
            job.stop_file,
            job.energy_budget_kwh,
            job.refit_speedup,
            job.refit_passes,
        )
        # Models without a threads parameter (histogram gradient boosting's OpenMP, BLAS) keep to
        # the worker's share of the cores: two workers of two threads each on two cores spin-wait.
        with threadpool_limits(limits=problem.threads):
            interrupted = run_trials(
                study, storage, problem, budget, meter, OOFFiles(Path(job.folder) / "oof")
            )
    return WorkerReport(interrupted, meter.overhead_seconds - overhead, meter.method())


def run_search(problem: Problem, plan: SearchPlan, folder: Path) -> SearchResult:
    """Open (or continue) the study, run trials in workers until the budget is spent, and collect every trial.

    ``folder`` is a scratch folder where ``problem.save`` wrote the data the workers read.
    """
    scratch = str(folder)
    with quiet_optuna():
        url = plan.storage or str(folder / "study.journal")
        storage = open_storage(url)
        study = optuna.create_study(
            storage=storage,
            direction="maximize",
            load_if_exists=True,
            study_name=plan.study_name or f"automl-{uuid.uuid4().hex[:8]}",
            sampler=plan.preset.make_sampler(plan.seed),
            pruner=plan.preset.make_pruner(storage, plan.row_rungs),
        )
        _claim(study, problem, plan)
        set_metric_name(study, problem.objective_name)
        study.set_user_attr("deadline_at", plan.deadline.at)
        study.set_user_attr("stop", None)
        enqueue_defaults(study, list(problem.families.values()))
        job = _job(scratch, url, study.study_name, plan)
        budget = Budget(
            plan.deadline,
            plan.n_trials,
            plan.train_share,
            plan.refit_models,
            energy_kwh=plan.energy_budget_kwh,
            refit_speedup=plan.refit_speedup,
            refit_passes=plan.refit_passes,
        )
        probe = EnsembleProbe(problem, OOFFiles(folder / "oof"), plan.preset.ensemble)
        stopper = Stopper(plan.stop, probe, started=time.time())
        supervisor = Supervisor(job, plan.n_jobs, study, storage, budget, stopper, plan.memory_limit_mb)
        with plan.progress(url, study.study_name) if plan.progress else nullcontext():
            supervisor.run()
        if plan.storage and not supervisor.interrupted:
            wait_for_others(study, supervisor.budget.search_deadline())
        memory = in_memory(study)
        board = leaderboard(memory, problem.families)
        complete = board[board.state == "complete"]
        oof = OOFFiles(folder / "oof").load(dict(zip(complete.number, complete.score, strict=True)))
    stop = supervisor.stop or _budget_stop(supervisor, memory)
    return SearchResult(
        memory,
        board,
        oof,
        supervisor.interrupted,
        stop.reason,
        supervisor.overhead_seconds,
        supervisor.peak.mb,
        stop.detail,
    )


def _claim(study: optuna.Study, problem: Problem, plan: SearchPlan) -> None:
    """Record what the study's trials are of; a study that holds another problem's trials is never continued."""
    identity = {
        "fingerprint": problem.schema.fingerprint,
        "task": problem.task,
        "metric": problem.metric.name,
    }
    recorded = study.user_attrs.get("problem")
    if recorded is not None and recorded != identity:
        differs = ", ".join(
            f"{k} {recorded.get(k)!r} there, {v!r} here" for k, v in identity.items() if recorded.get(k) != v
        )
        raise ConfigError(
            f"the study {study.study_name!r} holds trials of another problem ({differs}); continuing it would "
            "mix incomparable trials: give another study_name, or no storage (a fitted model's clone keeps both)"
        )
    study.set_user_attr("problem", identity)


def _budget_stop(supervisor: Supervisor, study: optuna.Study) -> Stop:
    """Why a search that no stop rule ended stopped."""
    if supervisor.interrupted:
        return Stop("interrupted", "the search was interrupted (Ctrl-C or a stop signal)")
    budget = supervisor.budget
    reason = budget.reason(study) or "no more trials"
    spent = "the time budget was spent"
    if budget.reserve >= 1:
        spent += f" ({budget.reserve:.0f} s of it kept for the final refit)"
    details = {"time budget": spent, "trial count": "the trial count was reached"}
    if reason == "energy budget" and budget.energy_kwh is not None:
        details[reason] = (
            f"the trials used {budget.energy_spent(study) * 1000:.3g} Wh, which with the final refit "
            f"reaches the energy budget of {budget.energy_kwh * 1000:.3g} Wh"
        )
    return Stop(reason, details.get(reason, reason))


class EnsembleProbe:
    """Scores the ensemble of some complete trials from their out-of-fold files, for the convergence rule.

    On large data it scores a fixed sample of rows, which is enough to tell whether it moved.
    """

    def __init__(self, problem: Problem, oof: OOFFiles, spec: dict[str, Any] | None) -> None:
        self.problem, self.oof, self.spec = problem, oof, spec
        self.y = problem.y[problem.validation.scored]  # the rows out-of-fold predictions are made for
        self.weight = problem.weight(problem.validation.scored)
        self.rows = sampled_rows(len(self.y))

    def __call__(self, trials: list[FrozenTrial]) -> float | None:
        if not self.spec or len(trials) < 2:
            return None
        table = pd.DataFrame(
            {
                "number": [t.number for t in trials],
                "score": [float(t.user_attrs.get("score", -math.inf)) for t in trials],
                "family": [t.params.get("family") for t in trials],
            }
        )
        top = diverse_candidates(table, int(self.spec.get("candidates", 20)))
        predictions = {}
        for number in top["number"]:
            prediction = self.oof.read(int(number))
            if prediction is not None:
                predictions[int(number)] = prediction if self.rows is None else prediction[self.rows]
        y = self.y if self.rows is None else self.y[self.rows]
        weight = self.weight if self.weight is None or self.rows is None else self.weight[self.rows]
        metric, size = self.problem.metric, int(self.spec.get("size", 20))
        weights = ensemble_selection(predictions, y, metric, size, weight=weight)
        return metric.score(y, blend(predictions, weights), weight) if weights else None


def join_search(plan: SearchPlan, folder: Path) -> int:
    """Run trials on the shared study of ``plan`` until its budget is spent; the number this process finished.

    ``folder`` holds the problem, as for ``run_search``.
    """
    with quiet_optuna():
        assert plan.storage is not None and plan.study_name is not None
        storage = open_storage(plan.storage)
        try:
            study = optuna.load_study(study_name=plan.study_name, storage=storage)
        except KeyError:
            raise ConfigError(
                f"no study named {plan.study_name!r} in the storage; start it with `automl search` first"
            ) from None
        before = len(study.get_trials(deepcopy=False, states=FINISHED))
        deadline = Deadline.until(study.user_attrs.get("deadline_at"))
        job = _job(str(folder), plan.storage, plan.study_name, plan, deadline)
        Supervisor(job, plan.n_jobs, study, storage).run()
        return len(study.get_trials(deepcopy=False, states=FINISHED)) - before


def _job(scratch: str, url: str, name: str, plan: SearchPlan, deadline: Deadline | None = None) -> TrialsJob:
    return TrialsJob(
        folder=scratch,
        storage_url=url,
        study_name=name,
        preset=plan.preset,
        seed=plan.seed,
        country=plan.country,
        deadline_at=(deadline or plan.deadline).at,
        n_trials=plan.n_trials,
        train_share=plan.train_share,
        refit_models=plan.refit_models,
        energy_budget_kwh=plan.energy_budget_kwh,
        row_rungs=plan.row_rungs,
        refit_speedup=plan.refit_speedup,
        refit_passes=plan.refit_passes,
    )


class Supervisor:
    """Runs a job's trials in ``n_workers`` worker processes and watches over them.

    It ends the search when the ``stopper`` says so (the workers finish or cut off their trial
    and stop), stops a worker whose trial runs past the deadline (the trial is told pruned, with
    why), restarts a worker that died (its trial is told failed, with why), and on Ctrl-C
    interrupts every worker and keeps what finished. ``peak`` is the memory of the process tree.
    """

    #: Seconds between two checks of the stop rule.
    STOP_EVERY = 1.0

    def __init__(
        self,
        job: TrialsJob,
        n_workers: int,
        study: optuna.Study,
        storage: optuna.storages.BaseStorage,
        budget: Budget | None = None,
        stopper: Stopper | None = None,
        memory_limit_mb: float = float("inf"),
    ) -> None:
        self.job = job
        self.n_workers = n_workers
        self.study = study
        self.storage = storage
        self.budget = budget or Budget(
            Deadline.until(job.deadline_at),
            job.n_trials,
            job.train_share,
            job.refit_models,
            refit_speedup=job.refit_speedup,
            refit_passes=job.refit_passes,
        )
        self.stopper = stopper
        self.memory_limit_mb = memory_limit_mb
        self.stop: Stop | None = None
        self._checked = 0.0
        self.peak = workers.MemoryPeak()
        self.interrupted = False
        self.overhead_seconds = 0.0
        self.oof = OOFFiles(Path(job.folder) / "oof")
        self._running: dict[int, int] = {}  # worker index -> the index it seeds its sampler with

    def run(self) -> None:
        self.job.stop_file.unlink(missing_ok=True)
        self.budget.update(self.study)
        if self.budget.reason(self.study):
            return
        restarts = 0
        try:
            for seat in range(self.n_workers):
                self._start(seat)
            while self._running:
                for result in workers.POOL.results(workers.POLL_SECONDS):
                    seat = self._running.pop(result.index)
                    if result.ok:
                        self.overhead_seconds += result.value.overhead_seconds
                        self.interrupted |= result.value.interrupted
                        continue
                    self._fail_running(result.pid, f"its worker process died: {result.value}")
                    if restarts < MAX_RESTARTS and not self.budget.reason(self.study):
                        restarts += 1
                        self._start(seat)
                self._watch()
        except KeyboardInterrupt:
            self.interrupted = True
            self._stop_all()

    def _start(self, seat: int) -> None:
        index = next(i for i in workers.POOL.ensure(len(self._running) + 1) if i not in self._running)
        workers.POOL.submit(index, run_trials_task, self.job, seat)
        self._running[index] = seat

    def _watch(self) -> None:
        """One look: memory, the refit reserve, the stop rule, overruns, and the out-of-fold files worth keeping."""
        if self.peak.sample(workers.POOL.pids()) > self.memory_limit_mb:
            self._over_memory()
        self.budget.update(self.study)
        if (
            self.stopper is not None
            and self.stop is None
            and time.monotonic() - self._checked > self.STOP_EVERY
        ):
            self._checked = time.monotonic()
            try:
                self.stop = self.stopper.check(self.study)
            except (
                Exception
            ) as exc:  # a broken stop rule must not lose the search: it runs its budget instead
                logger.warning(
                    "the convergence rule failed (%s: %s); the search runs its whole budget",
                    type(exc).__name__,
                    exc,
                )
                self.stopper = None
            if self.stop is not None:
                self.job.stop_file.write_text(self.stop.reason)
                self.study.set_user_attr("stop", {"reason": self.stop.reason, "detail": self.stop.detail})
        late = -self.budget.search_deadline().left()
        if late > OVERRUN_GRACE + OVERRUN_SHARE * self.budget.seconds:
            for index in list(self._running):
                self._stop_worker(
                    index,
                    "cut off at the time budget: its fit did not stop at "
                    "the deadline, so its worker process was stopped",
                    state=TrialState.PRUNED,
                )
        complete = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        best = sorted(complete, key=lambda t: -float(t.user_attrs.get("score", -math.inf)))[: 2 * _OOF_KEEP]
        self.oof.keep_only({t.number for t in best} | self._running_numbers())

    def _over_memory(self) -> None:
        """Stop the running worker that uses the most memory, while the process tree is over the limit."""
        used = workers.memory_mb(workers.POOL.pids())
        if used <= self.memory_limit_mb or not self._running:
            return
        index = max(self._running, key=lambda i: workers.memory_mb_of(workers.POOL.pid(i)))
        self._stop_worker(
            index,
            f"stopped: the search's processes used {used / 1000:.1f} GB, "
            f"over the memory limit of {self.memory_limit_mb / 1000:.1f} GB",
        )

    def _running_numbers(self) -> set[int]:
        return {t.number for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}

    def _stop_worker(self, index: int, reason: str, state: TrialState = TrialState.FAIL) -> None:
        """Kill worker ``index``, then tell the trial it was running as failed or pruned, with ``reason``.

        Killed first: else it may finish the trial in between, and telling a finished trial raises.
        """
        pid = workers.POOL.pid(index)
        workers.POOL.kill(index)
        self._fail_running(pid, reason, state)

    def _fail_running(self, pid: int, reason: str, state: TrialState = TrialState.FAIL) -> None:
        """Tell the trial that worker ``pid`` was running (if any) as failed or pruned, with ``reason``."""
        label = worker_label(pid)
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if trial.user_attrs.get("worker") == label:
                set_trial_attr(self.storage, self.study, trial.number, "reason", reason)
                self.study.tell(trial.number, state=state)

    def _stop_all(self) -> None:
        """Ctrl-C: every worker is interrupted (its running trial told failed) and stopped if it does not stop."""
        for index in self._running:
            workers.POOL.interrupt(index)
        waited = time.monotonic()
        while self._running and time.monotonic() - waited < 5.0:
            try:
                for result in workers.POOL.results(workers.POLL_SECONDS):
                    self._running.pop(result.index, None)
            except KeyboardInterrupt:
                break
        for index in list(self._running):
            self._stop_worker(index, "interrupted: the search was stopped while it ran")
        self._running.clear()


_OOF_KEEP = 64


def worker_label(pid: int) -> str:
    return f"{os.uname().nodename}:{pid}"


def set_trial_attr(
    storage: optuna.storages.BaseStorage, study: optuna.Study, number: int, key: str, value: Any
) -> None:
    """A user attribute of trial ``number``, set from outside the trial (public storage API only)."""
    trial_id = storage.get_trial_id_from_study_id_trial_number(
        storage.get_study_id_from_name(study.study_name), number
    )
    storage.set_trial_user_attr(trial_id, key, value)


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
        if trial.state == TrialState.WAITING or QUEUED_NOT_RUN in trial.user_attrs:
            continue
        name = trial.params.get("family")
        family = families.get(str(name))
        attrs = trial.user_attrs
        rows.append(
            {
                "number": trial.number,
                "family": name,
                "state": "duplicate" if "duplicate_of" in attrs else trial.state.name.lower(),
                "score": attrs.get("score", np.nan)
                if trial.state == TrialState.COMPLETE and "duplicate_of" not in attrs
                else np.nan,
                "score_std": attrs.get("score_std", np.nan),
                "folds": attrs.get("folds", 0),
                **{key: attrs.get(key, np.nan) for key in (*FIDELITY_COLUMNS, *MEASURES, "train_seconds")},
                "params": family.from_trial_params(trial.params) if family else {},
                "reason": _reason(attrs),
            }
        )
    return pd.DataFrame(rows, columns=LEADERBOARD_COLUMNS)


def _reason(attrs: dict[str, Any]) -> str:
    """Why a trial was pruned, failed or not run, as the leaderboard says it."""
    reason = str(attrs.get("reason", ""))
    if "duplicate_of" in attrs:
        repeat = f"the same configuration as trial #{attrs['duplicate_of']}, not run again"
        return f"{repeat}: {reason}" if reason else repeat
    return reason


def causes(study: optuna.Study) -> dict[str, int]:
    """How many trials did not complete for each reason (a repeat counts under its original's)."""
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.PRUNED, TrialState.FAIL)):
        if QUEUED_NOT_RUN in trial.user_attrs:
            continue
        reason = str(trial.user_attrs.get("reason", ""))
        counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def fold_seconds(fit_seconds: float, folds: int, train_seconds: float = math.nan) -> float:
    """A trial's training seconds per fold at its refit's rounds: ``train_seconds`` when recorded.

    A trial recorded without it counts its whole time per fold, scoring and row samples included.
    """
    if math.isfinite(train_seconds):
        return train_seconds
    if not folds or not math.isfinite(fit_seconds):
        return 0.0
    return fit_seconds / folds


def refit_seconds(per_fold: float, growth: float, speedup: float = 1.0) -> float:
    """Expected time to refit a trial on all rows: its training time per fold, grown as its training set grows.

    ``speedup``: how many times faster the refit trains per row than the trial (``thread_speedup``).
    """
    if not per_fold:
        return 0.0
    return per_fold * growth / speedup * 1.2 + 0.5


def thread_speedup(threads: int, trial_threads: int) -> float:
    """How many times faster a fit on ``threads`` is than on a trial's ``trial_threads``, expected."""
    return 1.0 + PARALLEL_EFFICIENCY * max(0.0, threads / trial_threads - 1.0)


def refit_growth(rows: float, refit_rows: float, train_share: float) -> float:
    """How many times more rows a trial's refit trains on than its folds did (1 / ``train_share`` if unknown)."""
    if rows > 0 and refit_rows > 0:  # NaN for a trial recorded before automl kept them
        return refit_rows / rows
    return 1.0 / train_share


def trial_refit_seconds(attrs: Mapping[str, Any], train_share: float, speedup: float = 1.0) -> float:
    """Expected time to refit a trial on all rows, from its user attributes or its leaderboard row."""
    per_fold = fold_seconds(
        float(attrs.get("fit_seconds", math.nan)),
        int(attrs.get("folds") or 0),
        float(attrs.get("train_seconds", math.nan)),
    )
    return refit_seconds(per_fold, _growth(attrs, train_share), speedup)


def _growth(attrs: Mapping[str, Any], train_share: float) -> float:
    return refit_growth(float(attrs.get("rows") or 0), float(attrs.get("refit_rows") or 0), train_share)


class Budget:
    """When the trials stop: the time budget, the trial count, the energy budget, or a stop request.

    Time (and energy) is kept for the final refit: that of the ``refit_models`` best trials so
    far (more than one when an ensemble of them may be chosen). In a worker, ``stop_file`` is
    where the supervisor says the search is over, and why.
    """

    def __init__(
        self,
        deadline: Deadline,
        n_trials: int | None,
        train_share: float,
        refit_models: int = 1,
        stop_file: Path | None = None,
        energy_kwh: float | None = None,
        refit_speedup: float = 1.0,
        refit_passes: float = 1.0,
    ) -> None:
        self.deadline = deadline
        self.n_trials = n_trials
        self.train_share = train_share
        self.refit_models = refit_models
        self.stop_file = stop_file
        self.energy_kwh = energy_kwh
        self.refit_speedup = refit_speedup
        self.refit_passes = refit_passes
        self.reserve = 0.0

    @property
    def seconds(self) -> float:
        """The whole budget in seconds (0 without a time limit)."""
        return 0.0 if self.deadline.at is None else self.deadline.at - self.deadline.start

    def search_deadline(self) -> Deadline:
        return self.deadline.earlier(self.reserve)

    def _refit_trials(self, study: optuna.Study) -> list[FrozenTrial]:
        """The ``refit_models`` best complete trials, best first: those the final refit may fit."""
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        ranked = sorted(complete, key=lambda t: -math.inf if t.value is None else t.value, reverse=True)
        return ranked[: self.refit_models]

    def refit_energy(self, study: optuna.Study) -> float:
        """The energy (kWh) the final refit is expected to take: the best trials' per fold, scaled to all rows."""
        total = 0.0
        for trial in self._refit_trials(study):
            folds = int(trial.user_attrs.get("folds", 0) or 0)
            if folds:
                energy = float(trial.user_attrs.get("energy_kwh") or 0.0)
                total += energy / folds * _growth(trial.user_attrs, self.train_share)
        return total * self.refit_passes

    def update(self, study: optuna.Study) -> None:
        """Keep time for refitting the best trials finished so far."""
        seconds = [
            trial_refit_seconds(t.user_attrs, self.train_share, self.refit_speedup)
            for t in self._refit_trials(study)
        ]
        # The best trial's refits are always kept for; the others' (an ensemble's members, left out
        # of the refit when they would overrun) only up to a share of the budget, all passes together.
        members = min(sum(seconds[1:]) * self.refit_passes, MEMBERS_RESERVE_SHARE * self.seconds)
        self.reserve = sum(seconds[:1]) * self.refit_passes + members

    def reason(self, study: optuna.Study) -> str:
        """Why no further trial should start, or '' while the budget lasts."""
        if stop_requested.is_set():
            return "interrupted"
        if self.stop_file is not None and self.stop_file.exists():
            return self.stop_file.read_text() or "stopped"
        if (
            self.n_trials is not None
            and len(study.get_trials(deepcopy=False, states=FINISHED)) >= self.n_trials
        ):
            return "trial count"
        if self.search_deadline().left() <= 0:
            return "time budget"
        if (
            self.energy_kwh is not None
            and self.energy_spent(study) + self.refit_energy(study) >= self.energy_kwh
        ):
            return "energy budget"
        return ""

    def energy_spent(self, study: optuna.Study) -> float:
        """The energy (kWh) of every finished trial."""
        return sum(
            float(t.user_attrs.get("energy_kwh") or 0.0)
            for t in study.get_trials(deepcopy=False, states=FINISHED)
        )


def run_trials(
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    problem: Problem,
    budget: Budget,
    meter: EnergyMeter,
    oof: OOFSink,
) -> bool:
    """Ask, run and tell trials on ``study`` until the budget says stop; a failing trial is recorded, never raised.

    Returns True when the search was interrupted (Ctrl-C): what finished is kept, and the trial
    that was running is told failed.
    """
    budget.update(study)
    if budget.reason(study):
        return stop_requested.is_set()
    objective = Objective(problem, budget.search_deadline, meter, oof)
    heartbeat = storage.get_heartbeat_interval() if hasattr(storage, "get_heartbeat_interval") else None
    label = worker_label(os.getpid())
    while not budget.reason(study):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings(
                "ignore", "Heartbeat of storage is supposed to be used with Study.optimize"
            )
            if heartbeat:
                optuna.storages.fail_stale_trials(study)
            trial = study.ask()  # the heartbeat is beaten below, as Study.optimize would
        try:
            trial.set_user_attr("worker", label)
            with _beating(storage, study, trial, heartbeat):
                outcome = objective(trial)
        except KeyboardInterrupt:
            trial.set_user_attr("reason", "interrupted: the search was stopped while it ran")
            study.tell(trial, state=TrialState.FAIL)
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


def in_memory(study: optuna.Study) -> optuna.Study:
    """A copy of ``study`` held in memory: it outlives a temporary file, and a saved model carries its trials.

    It is the record of this search, so a queued default that never ran is a failed trial in it,
    marked ``queued_not_run`` (Optuna tells only a running trial, so the stored study keeps it
    queued, and a resumed search runs it first). Trial numbers are those of the stored study.
    """
    memory = optuna.create_study(
        storage=optuna.storages.InMemoryStorage(), study_name=study.study_name, direction="maximize"
    )
    for key, value in study.user_attrs.items():
        memory.set_user_attr(key, value)
    if study.metric_names is not None:
        set_metric_name(memory, study.metric_names[0])
    memory.add_trials(
        [
            _not_run() if trial.state == TrialState.WAITING else trial
            for trial in study.get_trials(deepcopy=False)
        ]
    )
    return memory


def _not_run() -> FrozenTrial:
    return optuna.trial.create_trial(
        state=TrialState.FAIL,
        user_attrs={QUEUED_NOT_RUN: True, "reason": f"{NOT_RUN}a queued default the search ended before"},
    )


def set_metric_name(study: optuna.Study, name: str) -> None:
    """Name the study's value (Optuna marks ``set_metric_names`` experimental; its warning is not the user's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([name])


def record_choice(study: optuna.Study, chosen: Candidate) -> None:
    """The chosen candidate (a trial, or an ensemble's members and weights) as the study's ``chosen`` user attribute."""
    study.set_user_attr(
        "chosen", {**chosen.as_dict(), "members": [[n, w] for n, w in chosen.members.items()]}
    )


def recover_interrupted(study: optuna.Study, storage: optuna.storages.BaseStorage) -> int:
    """Mark trials a killed process left RUNNING as failed and queue their parameters again.

    Only for a study no other process is running (a resumed single-machine run); with
    many workers, the storage's heartbeat does this instead.
    """
    stale: list[FrozenTrial] = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        set_trial_attr(
            storage, study, trial.number, "reason", "interrupted: its process stopped before it finished"
        )
        study.tell(trial.number, state=TrialState.FAIL)
        study.enqueue_trial(trial.params, skip_if_exists=False)
    return len(stale)
