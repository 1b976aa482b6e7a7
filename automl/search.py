"""The search: one Optuna study over families and their hyperparameters, cross-validated with pruning.

Each trial picks a family, samples its parameters, and trains a fresh pipeline on every
fold. Fold 0 is scored at partial fidelity first (iteration-level pruning), then every
fold's score is reported (fold-level pruning). Steps are laid out so a pruner compares
like with like: ``0..len(PARTIAL_RUNGS)-1`` are the partial stages of fold 0, and fold
``f`` is reported at step ``len(PARTIAL_RUNGS) + f``.
"""

from __future__ import annotations

import importlib
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from automl import families as family_builder
from automl.data import Schema
from automl.deadline import Deadline, DeadlineReached
from automl.energy import EnergyMeter, model_bytes
from automl.fidelity import train
from automl.metrics import Metric
from automl.smoothing import laplace_weight, smooth
from automl.spaces import PARTIAL_RUNGS, FamilySpace

logger = logging.getLogger("automl")
optuna.logging.set_verbosity(optuna.logging.WARNING)

#: Set by a signal handler that stops the search (the CLI's Ctrl-C). The KeyboardInterrupt such a
#: handler raises is lost when it lands in a finalizer, so the search also checks this between trials.
stop_requested = threading.Event()

#: How many trials' out-of-fold predictions are kept (the best ones), for ensembles and plots.
OOF_KEEP = 64


@dataclass
class OOFStore:
    """Out-of-fold predictions of the best completed trials, kept in memory, not in the study."""

    keep: int = OOF_KEEP
    predictions: dict[int, np.ndarray] = field(default_factory=dict)
    scores: dict[int, float] = field(default_factory=dict)

    def add(self, number: int, score: float, prediction: np.ndarray) -> None:
        self.predictions[number] = prediction
        self.scores[number] = score
        if len(self.predictions) > self.keep:
            worst = min(self.scores, key=self.scores.__getitem__)
            del self.predictions[worst], self.scores[worst]


@dataclass
class Problem:
    """What every trial shares: the data, its folds, the metric and the families to search."""

    X: pd.DataFrame
    y: np.ndarray
    schema: Schema
    task: str
    metric: Metric
    families: dict[str, FamilySpace]
    splits: list[tuple[np.ndarray, np.ndarray]]
    seed: int | None
    threads: int
    #: Score given up per tenfold rise in training energy, in what the sampler optimises (the green preset).
    cost_penalty: float = 0.0

    @property
    def n_classes(self) -> int:
        return 0 if self.task == "regression" else int(self.y.max()) + 1

    def predict(self, model: Any, X: Any, n_train: int) -> np.ndarray:
        """Smoothed class probabilities over all classes (columns by encoded label), or regression values."""
        if self.task == "regression":
            return np.asarray(model.predict(X), dtype=float)
        proba = np.zeros((len(X), self.n_classes))
        proba[:, model.classes_.astype(int)] = model.predict_proba(X)
        return smooth(proba, laplace_weight(n_train))


def make_splits(y: np.ndarray, task: str, folds: int, seed: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    splitter = (KFold if task == "regression" else StratifiedKFold)(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


class Objective:
    """Trains and scores one trial; its costs go into the trial's user attributes."""

    def __init__(self, problem: Problem, deadline: Callable[[], Deadline], meter: EnergyMeter, oof: OOFStore) -> None:
        self.problem = problem
        self.deadline = deadline
        self.meter = meter
        self.oof = oof

    def __call__(self, trial: optuna.Trial) -> float:
        problem = self.problem
        family = problem.families[trial.suggest_categorical("family", list(problem.families))]
        params = family.suggest(trial)
        folds_done: list[float] = []
        attrs: dict[str, Any] = {"fold_scores": folds_done}
        try:
            with self.meter.measure(f"trial-{trial.number}") as energy:
                prediction = self._cross_validate(trial, family, params, folds_done, attrs)
        except DeadlineReached as exc:
            attrs["reason"] = str(exc)
            raise optuna.TrialPruned(str(exc)) from None
        except optuna.TrialPruned as exc:
            attrs["reason"] = str(exc) or f"pruned after {len(folds_done)} fold(s)"
            raise
        except Exception as exc:
            attrs["reason"] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            attrs.update(energy.as_dict(), fit_seconds=energy.seconds, folds=len(folds_done))
            for key, value in attrs.items():
                trial.set_user_attr(key, value)
        score = float(np.mean(folds_done))
        trial.set_user_attr("score", score)
        trial.set_user_attr("score_std", float(np.std(folds_done)))
        self.oof.add(trial.number, score, prediction)
        if problem.cost_penalty:
            return score - problem.cost_penalty * math.log10(max(energy.energy_kwh, 1e-12))
        return score

    def _cross_validate(self, trial: optuna.Trial, family: FamilySpace, params: dict[str, Any], fold_scores: list[float], attrs: dict[str, Any]) -> np.ndarray:
        problem = self.problem
        oof = np.zeros((len(problem.y), problem.n_classes)) if problem.n_classes else np.zeros(len(problem.y))
        last = len(problem.splits) - 1
        for fold, (train_idx, valid_idx) in enumerate(problem.splits):
            deadline = self.deadline()
            deadline.check()
            X_train, X_valid = problem.X.iloc[train_idx], problem.X.iloc[valid_idx]
            y_train, y_valid = problem.y[train_idx], problem.y[valid_idx]
            pipeline = family_builder.build(family, problem.task, params, problem.schema, seed=problem.seed, threads=problem.threads)

            def report_rung(rung: int, estimator: Any, preprocess: Any) -> None:
                score = problem.metric.score(y_valid, problem.predict(estimator, preprocess.transform(X_valid), len(train_idx)))
                trial.report(score, rung)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at {PARTIAL_RUNGS[rung]:.0%} of its training on fold 0")

            train(pipeline, family, X_train, y_train, deadline, on_rung=report_rung if fold == 0 else None)
            start = time.perf_counter()
            prediction = problem.predict(pipeline, X_valid, len(train_idx))
            if fold == last:
                attrs["predict_ms_per_1k"] = (time.perf_counter() - start) * 1e6 / len(valid_idx)
                attrs["model_bytes"] = model_bytes(pipeline)
            oof[valid_idx] = prediction
            score = problem.metric.score(y_valid, prediction)
            if not math.isfinite(score):
                raise ValueError(f"fold {fold} scored {score}")
            fold_scores.append(score)
            trial.report(score, len(PARTIAL_RUNGS) + fold)
            if fold < last and trial.should_prune():
                raise optuna.TrialPruned(f"pruned after {fold + 1} of {last + 1} folds")
        return oof


def enqueue_defaults(study: optuna.Study, families: Sequence[FamilySpace]) -> None:
    """Each family's known-good configurations go first, cheap families before dear ones."""
    depth = max((len(f.defaults) for f in families), default=0)
    for i in range(depth):
        for family in families:
            if i < len(family.defaults):
                study.enqueue_trial({"family": family.name, **family.trial_params(family.defaults[i])}, skip_if_exists=True)


def leaderboard(study: optuna.Study, families: dict[str, FamilySpace]) -> pd.DataFrame:
    """Every trial as a row: state, score, costs and parameters."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.state == optuna.trial.TrialState.WAITING:
            continue
        name = trial.params.get("family")
        family = families.get(name)
        attrs = trial.user_attrs
        rows.append({
            "number": trial.number,
            "family": name,
            "state": trial.state.name.lower(),
            "score": attrs.get("score", np.nan) if trial.state == optuna.trial.TrialState.COMPLETE else np.nan,
            "score_std": attrs.get("score_std", np.nan),
            "folds": attrs.get("folds", 0),
            "fit_seconds": attrs.get("fit_seconds", np.nan),
            "cpu_seconds": attrs.get("cpu_seconds", np.nan),
            "energy_kwh": attrs.get("energy_kwh", np.nan),
            "co2_kg": attrs.get("co2_kg", np.nan),
            "predict_ms_per_1k": attrs.get("predict_ms_per_1k", np.nan),
            "model_bytes": attrs.get("model_bytes", np.nan),
            "params": family.from_trial_params(trial.params) if family else {},
            "reason": attrs.get("reason", ""),
        })
    columns = ["number", "family", "state", "score", "score_std", "folds", "fit_seconds", "cpu_seconds", "energy_kwh",
               "co2_kg", "predict_ms_per_1k", "model_bytes", "params", "reason"]
    return pd.DataFrame(rows, columns=columns)


def refit_seconds(fit_seconds: float, folds: int, cv: int) -> float:
    """Expected time to refit a trial on all rows, from its cross-validation time."""
    if not folds or not math.isfinite(fit_seconds):
        return 0.0
    per_fold = fit_seconds / folds
    return per_fold * cv / max(cv - 1, 1) * 1.2 + 0.5


class Budget:
    """Stops the study at the time budget or the trial count.

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

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        done = study.get_trials(deepcopy=False, states=FINISHED)
        complete = [t for t in done if t.state == optuna.trial.TrialState.COMPLETE]
        top = sorted(complete, key=lambda t: t.value, reverse=True)[: self.refit_models]
        self.reserve = sum(refit_seconds(t.user_attrs.get("fit_seconds", 0.0), t.user_attrs.get("folds", 0), self.cv) for t in top)
        if stop_requested.is_set() or self.search_deadline().left() <= 0 or (self.n_trials is not None and len(done) >= self.n_trials):
            study.stop()


FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)


def run_trials(study: optuna.Study, problem: Problem, budget: Budget, meter: EnergyMeter, oof: OOFStore) -> bool:
    """Run trials on ``study`` until the budget says stop; crashed trials are recorded and skipped.

    Returns True when the user interrupted the search (Ctrl-C): what completed is kept.
    """
    if budget.search_deadline().left() <= 0:
        return False
    if budget.n_trials is not None and len(study.get_trials(deepcopy=False, states=FINISHED)) >= budget.n_trials:
        return False
    for module in sorted({m for family in problem.families.values() for m in family.preload}):
        importlib.import_module(module)  # before the first trial, so no trial is charged for it
    objective = Objective(problem, budget.search_deadline, meter, oof)
    left = budget.search_deadline().left()
    try:
        study.optimize(
            objective,
            timeout=None if math.isinf(left) else left,
            callbacks=[budget],
            catch=(Exception,),
            gc_after_trial=False,
        )
    except KeyboardInterrupt:
        logger.warning("search interrupted: keeping the %d finished trials", len(study.get_trials(deepcopy=False, states=FINISHED)))
        return True
    return stop_requested.is_set()


def wait_for_others(study: optuna.Study, deadline: Deadline, poll_seconds: float = 0.5) -> None:
    """Let trials that other processes are running on a shared study finish, so the choice sees them all.

    Waits no later than ``deadline``; a trial whose process died is failed by the storage's heartbeat.
    """
    while deadline.left() > 0 and study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        time.sleep(poll_seconds)
        optuna.storages.fail_stale_trials(study)


def recover_interrupted(study: optuna.Study) -> int:
    """Mark trials a killed process left RUNNING as failed and queue their parameters again.

    Only for a study no other process is running (a resumed single-machine run); with
    many workers, the storage's heartbeat does this instead.
    """
    stale = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in stale:
        study._storage.set_trial_user_attr(trial._trial_id, "reason", "interrupted: its process stopped before it finished")
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        study.enqueue_trial(trial.params, skip_if_exists=False)
    return len(stale)
