"""One trial: pick a family, sample its parameters, cross-validate a fresh pipeline with pruning.

Fold 0 is scored at partial fidelity first (iteration-level pruning), then every fold's score
is reported (fold-level pruning). Steps are laid out so a pruner compares like with like:
``0..len(PARTIAL_RUNGS)-1`` are the partial stages of fold 0, and fold ``f`` is reported at
step ``len(PARTIAL_RUNGS) + f``.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from automl import families as family_builder
from automl.data import Schema
from automl.deadline import Deadline, DeadlineReached
from automl.energy import EnergyMeter, model_bytes
from automl.fidelity import Pace, train
from automl.memory import estimate_mb
from automl.metrics import Metric
from automl.sampling import FIT_ERROR, NOT_RUN, PRUNED_AT_SHARE, left_out
from automl.smoothing import laplace_weight, smooth
from automl.spaces import PARTIAL_RUNGS, FamilySpace
from automl.tasks import is_regression
from automl.validation import Validation, make_splits  # noqa: F401  (make_splits: the k-fold splits, public here)

#: A trial whose folds on all rows would take more than this share of the time left is pruned at a row sample.
TRIAL_SHARE = 0.15
#: Early stopping and fold 0's partial stages watch at most this many of a fold's validation rows
#: (the same ones in every trial); the fold is scored on all of them. Watching 160,000 rows
#: doubled the time of a 100,000-row boosting fit.
WATCHED_ROWS = 50_000
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


class OOFFiles:
    """Out-of-fold predictions as files in a folder, one per trial, written by the worker that ran it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, number: int, score: float, prediction: np.ndarray) -> None:
        """Keep trial ``number``'s predictions; not those beyond float32's range, which no blend could use."""
        with np.errstate(over="ignore"):
            stored = prediction.astype(np.float32)
        if not np.isfinite(stored).all():
            return
        path = self.folder / f"{number}.npy"
        np.save(path.with_suffix(".tmp.npy"), stored)
        os.replace(path.with_suffix(".tmp.npy"), path)

    def numbers(self) -> set[int]:
        return {int(p.stem) for p in self.folder.glob("*.npy") if p.stem.isdigit()}

    def keep_only(self, numbers: set[int]) -> None:
        for number in self.numbers() - numbers:
            (self.folder / f"{number}.npy").unlink(missing_ok=True)

    def read(self, number: int) -> np.ndarray | None:
        """Trial ``number``'s predictions in float64, or None if they were not kept."""
        try:
            prediction = np.load(self.folder / f"{number}.npy").astype(np.float64)
        except (FileNotFoundError, ValueError, EOFError):
            return None
        if prediction.ndim == 2:  # class probabilities, stored in float32: rows sum to 1 again in float64
            prediction /= prediction.sum(axis=1, keepdims=True)
        return prediction

    def load(self, scores: dict[int, float], keep: int = OOF_KEEP) -> OOFStore:
        """The predictions of the ``keep`` best-scoring trials among ``scores`` that have a file, in memory."""
        store = OOFStore(keep)
        for number in sorted(self.numbers() & set(scores), key=lambda n: -scores[n])[:keep]:
            prediction = self.read(number)
            if prediction is not None:
                store.add(number, scores[number], prediction)
        return store


@dataclass
class Problem:
    """What every trial shares: the data, its folds, the metric and the families to search."""

    X: pd.DataFrame
    y: np.ndarray
    schema: Schema
    task: str
    metric: Metric
    families: dict[str, FamilySpace]
    validation: Validation
    seed: int | None
    threads: int
    #: Score given up per tenfold rise in training energy, in what the sampler optimises (the green preset).
    cost_penalty: float = 0.0
    #: The memory (MB) one trial may use: the search's limit shared by its workers.
    memory_share_mb: float = float("inf")
    #: Sample weights: each row counts this much in every fit and every score (None: once each).
    weights: np.ndarray | None = None

    @property
    def objective_name(self) -> str:
        """What a trial's value is: the score, less the energy penalty where there is one."""
        if not self.cost_penalty:
            return self.metric.name
        return f"{self.metric.name} - {self.cost_penalty:g} * log10(energy_kwh)"

    @property
    def n_classes(self) -> int:
        return 0 if is_regression(self.task) else int(self.y.max()) + 1

    def weight(self, rows: np.ndarray) -> np.ndarray | None:
        """The sample weights of ``rows`` (None when the rows are unweighted)."""
        return None if self.weights is None else self.weights[rows]

    @property
    def steps(self) -> Steps:
        return Steps(len(self.validation.row_rungs))

    def save(self, folder: Path) -> None:
        """Write the problem for worker processes: the features as one array they memory-map, the rest pickled."""
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "X.npy", self.X.to_numpy())
        with (folder / "problem.pkl").open("wb") as handle:
            pickle.dump(
                dataclasses.replace(self, X=self.X.iloc[:0]), handle, protocol=pickle.HIGHEST_PROTOCOL
            )

    @classmethod
    def load(cls, folder: Path) -> Problem:
        """The problem ``save`` wrote, its features mapped from disk (shared by every process that reads them)."""
        with (folder / "problem.pkl").open("rb") as handle:
            problem: Problem = pickle.load(handle)
        matrix = np.load(folder / "X.npy", mmap_mode="r")
        return dataclasses.replace(problem, X=pd.DataFrame(matrix, columns=problem.X.columns, copy=False))

    def predict(self, model: Any, X: Any, n_train: int) -> np.ndarray:
        """Smoothed class probabilities over all classes (columns by encoded label), or regression values."""
        if is_regression(self.task):
            return np.asarray(model.predict(X), dtype=float)
        proba = np.zeros((len(X), self.n_classes))
        proba[:, model.classes_.astype(int)] = model.predict_proba(X)
        return smooth(proba, laplace_weight(n_train))


def projected_seconds(paces: list[tuple[int, float]], rows: int) -> float:
    """The seconds a fit on ``rows`` would take, from the (rows, seconds) of fits on smaller samples.

    The cost grows as rows to a power read from the last two samples (between 1 and 2: a
    forest's trees grow deeper, a k-NN predicts against more rows), linearly from one sample.
    """
    (last_rows, last_seconds) = paces[-1]
    power = 1.0
    if len(paces) > 1 and paces[-2][1] > 0 and last_seconds > 0:
        (first_rows, first_seconds) = paces[-2]
        power = float(
            np.clip(math.log(last_seconds / first_seconds) / math.log(last_rows / first_rows), 1.0, 2.0)
        )
    return last_seconds * (rows / last_rows) ** power


def refit_fidelity(
    reached: list[int], trained_rows: list[int], rows: int, family: FamilySpace, asked: int | None = None
) -> tuple[int, int]:
    """The rounds (or epochs, or trees) to refit with on all ``rows``: at least, and at most if time allows.

    Under early stopping, the most is the mean of the folds' best rounds, scaled up as the training
    set grows from the folds' size to all rows; the least never passes the ``asked`` rounds of the
    configuration (a sample of a large table scales them several times over, past the refit time the
    search keeps). Without early stopping, both are the fidelity the trial searched.
    """
    if family.early_stopping is None:
        return int(max(reached)), int(max(reached))
    assert family.fidelity is not None
    scaled = max(
        family.fidelity.min, int(round(float(np.mean(reached)) * rows / float(np.mean(trained_rows))))
    )
    least = scaled if asked is None else max(family.fidelity.min, min(scaled, max(asked, *reached)))
    return least, scaled


@dataclass(frozen=True)
class Steps:
    """Where each score of a trial is reported, so that a pruner compares like with like.

    Steps ``0..R-1`` are fold 0 trained on the row samples of ``Validation.row_rungs``; the next
    ``len(PARTIAL_RUNGS)`` are the partial stages of fold 0 on all its rows; fold ``f`` comes after.
    """

    row_rungs: int

    def row(self, rung: int) -> int:
        return rung

    def partial(self, rung: int) -> int:
        return self.row_rungs + rung

    def fold(self, fold: int) -> int:
        return self.row_rungs + len(PARTIAL_RUNGS) + fold

    def is_partial(self, step: int) -> bool:
        return self.row_rungs <= step < self.row_rungs + len(PARTIAL_RUNGS)


class OOFSink(Protocol):
    def add(self, number: int, score: float, prediction: np.ndarray) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """How a trial ended, as the study is told: a state, and the value a complete trial has."""

    state: TrialState
    value: float | None = None


class Objective:
    """Trains and scores one trial; its costs and how it ended go into the trial's user attributes.

    Every exception a family raises is caught and recorded as the trial's reason, so that a
    broken family costs a line in the leaderboard, never a traceback on the user's screen.
    """

    def __init__(
        self,
        problem: Problem,
        deadline: Callable[[], Deadline],
        meter: EnergyMeter,
        oof: OOFSink,
    ) -> None:
        self.problem = problem
        self.deadline = deadline
        self.meter = meter
        self.oof = oof

    def __call__(self, trial: optuna.Trial) -> Outcome:
        problem = self.problem
        family = problem.families[trial.suggest_categorical("family", list(problem.families))]
        params = family.suggest(trial, self.problem.task)
        skipped = self._skip(trial, family, params)
        if skipped is not None:
            return skipped
        for module in family.preload:  # imported once, before the family's first trial is measured
            importlib.import_module(module)
        folds_done: list[float] = []
        attrs: dict[str, Any] = {"fold_scores": folds_done}
        outcome = Outcome(TrialState.FAIL)
        try:
            with self.meter.measure(f"trial-{trial.number}") as energy:
                prediction = self._cross_validate(trial, family, params, folds_done, attrs)
            score = float(np.mean(folds_done))
            attrs.update(score=score, score_std=float(np.std(folds_done)))
            self.oof.add(trial.number, score, prediction)
            value = score
            if problem.cost_penalty:  # the value is the score less the penalty; both are user attributes
                attrs["energy_penalty"] = problem.cost_penalty * math.log10(max(energy.energy_kwh, 1e-12))
                value = score - attrs["energy_penalty"]
            outcome = Outcome(TrialState.COMPLETE, value)
        except DeadlineReached as exc:
            attrs["reason"] = str(exc)
            outcome = Outcome(TrialState.PRUNED)
        except optuna.TrialPruned as exc:
            attrs["reason"] = str(exc) or f"pruned after {len(folds_done)} fold(s)"
            outcome = Outcome(TrialState.PRUNED)
        except (Exception, SystemExit) as exc:  # a family's SystemExit fails its trial, not the search
            attrs["reason"] = f"{type(exc).__name__}: {exc}"
            attrs[FIT_ERROR] = type(exc).__name__
        finally:
            attrs.update(energy.as_dict(), fit_seconds=energy.seconds, folds=len(folds_done))
            for key, item in attrs.items():
                trial.set_user_attr(key, item)
        return outcome

    def _skip(self, trial: optuna.Trial, family: FamilySpace, params: dict[str, Any]) -> Outcome | None:
        """The outcome of a trial not worth training: its family was left out, or it repeats a finished trial.

        A repeat is told as its original was (the sampler learns the same value), and marked
        ``duplicate_of`` so that the leaderboard and the choice count the model once. Only what
        the configuration decided is repeated: a score, or its fit's own error; a trial failed
        from outside (interrupted, its worker killed) is run again.
        """
        failing = left_out(trial.study)
        if family.name in failing:
            trial.set_user_attr("left_out", True)
            trial.set_user_attr(
                "reason",
                f"{NOT_RUN}{family.name} was left out after its trials kept failing ({failing[family.name]})",
            )
            return Outcome(TrialState.FAIL)
        rows = len(self.problem.validation.splits[0][0])
        needed = estimate_mb(
            family,
            params,
            family.trained_rows(rows),
            self.problem.schema,
        )
        trial.set_user_attr("memory_estimate_mb", needed)
        if needed > self.problem.memory_share_mb:
            trial.set_user_attr(
                "reason",
                f"skipped: it would need about {needed / 1000:.1f} GB, over its share of "
                f"the memory limit ({self.problem.memory_share_mb / 1000:.1f} GB)",
            )
            return Outcome(TrialState.FAIL)
        signature = family.signature(params)
        trial.set_user_attr("config", signature)
        for other in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)):
            if (
                other.user_attrs.get("config") == signature
                and not other.user_attrs.get("duplicate_of")
                and (other.state == TrialState.COMPLETE or FIT_ERROR in other.user_attrs)
            ):
                trial.set_user_attr("duplicate_of", other.number)
                for key in ("reason", "score", "score_std", "folds"):
                    if key in other.user_attrs:
                        trial.set_user_attr(key, other.user_attrs[key])
                return Outcome(other.state, other.value)
        return None

    def _rung_reporter(
        self, trial: optuna.Trial, valid_idx: np.ndarray, n_train: int, spent: list[float]
    ) -> Callable[[int, Any, Any], None]:
        """Scores a partial stage of fold 0 and prunes the trial there if the pruner says so.

        The seconds each scoring takes are appended to ``spent``.
        """
        problem = self.problem
        X_valid, y_valid = problem.X.iloc[valid_idx], problem.y[valid_idx]

        def report(rung: int, estimator: Any, preprocess: Any) -> None:
            started = time.perf_counter()
            score = problem.metric.score(
                y_valid,
                problem.predict(estimator, preprocess.transform(X_valid), n_train),
                problem.weight(valid_idx),
            )
            spent.append(time.perf_counter() - started)
            trial.report(score, problem.steps.partial(rung))
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at {PARTIAL_RUNGS[rung]:.0%} of its training on fold 0")

        return report

    def _watched(self, valid_idx: np.ndarray, rows: int = WATCHED_ROWS) -> np.ndarray:
        """At most ``rows`` of ``valid_idx``, the same in every trial, with every class the fold has."""
        if len(valid_idx) <= rows:
            return valid_idx
        y = self.problem.y
        sample = np.sort(np.random.default_rng(0).permutation(valid_idx)[:rows])
        if self.problem.n_classes and len(np.unique(y[sample])) < len(np.unique(y[valid_idx])):
            return valid_idx  # a rare class left out
        return sample

    def _row_rungs(
        self,
        trial: optuna.Trial,
        family: FamilySpace,
        params: dict[str, Any],
        train_idx: np.ndarray,
        valid_idx: np.ndarray,
        deadline: Deadline,
        attrs: dict[str, Any],
    ) -> None:
        """Fold 0 trained on growing samples of its rows; the pruner may stop the trial at any of them.

        A rung is scored on as many validation rows as it trains on (the same ones in every
        trial): checking a 10,000-row fit on 200,000 rows every round cost more than the fit.
        """
        problem = self.problem
        trained = attrs.setdefault("row_rungs", [])
        paces: list[tuple[int, float]] = []
        for rung, rows in enumerate(problem.validation.row_rungs):
            if rows >= len(train_idx):
                return
            deadline.check()
            started = time.perf_counter()
            sample = np.sort(train_idx[:rows])
            scored = self._watched(valid_idx, rows)
            X_valid, y_valid = problem.X.iloc[scored], problem.y[scored]
            pipeline = family_builder.build(
                family, problem.task, params, problem.schema, seed=problem.seed, threads=problem.threads
            )
            train(
                pipeline,
                family,
                problem.X.iloc[sample],
                problem.y[sample],
                deadline,
                valid=(X_valid, y_valid),
                weights=(problem.weight(sample), problem.weight(scored)),
            )
            score = problem.metric.score(
                y_valid, problem.predict(pipeline, X_valid, rows), problem.weight(scored)
            )
            trained.append(rows)
            trial.report(score, problem.steps.row(rung))
            if trial.should_prune():
                attrs[PRUNED_AT_SHARE] = rows / len(train_idx)
                raise optuna.TrialPruned(f"pruned at {rows:,} of {len(train_idx):,} training rows on fold 0")
            paces.append((rows, time.perf_counter() - started))
            needed = projected_seconds(paces, len(train_idx)) * problem.validation.folds
            if needed > TRIAL_SHARE * deadline.left():
                attrs[PRUNED_AT_SHARE] = rows / len(train_idx)
                raise optuna.TrialPruned(
                    f"pruned at {rows:,} training rows: its folds on all {len(train_idx):,} would take about "
                    f"{needed:.0f} s, over {TRIAL_SHARE:.0%} of the {deadline.left():.0f} s left"
                )

    def _cross_validate(
        self,
        trial: optuna.Trial,
        family: FamilySpace,
        params: dict[str, Any],
        fold_scores: list[float],
        attrs: dict[str, Any],
    ) -> np.ndarray:
        problem = self.problem
        validation = problem.validation
        scored = validation.scored
        n_scored = len(scored)
        oof = np.zeros((n_scored, problem.n_classes)) if problem.n_classes else np.zeros(n_scored)
        last = validation.folds - 1
        reached: list[int] = []
        trained_rows: list[int] = []
        fits: list[tuple[float, Pace]] = []  # each fold's training seconds (no scoring), and its pace
        for fold, (order, valid_idx) in enumerate(validation.splits):
            deadline = self.deadline()
            deadline.check()
            capped = order if family.max_rows is None else order[: family.max_rows]
            if fold == 0:
                self._row_rungs(trial, family, params, capped, valid_idx, deadline, attrs)
            train_idx = np.sort(capped)
            X_train, X_valid = problem.X.iloc[train_idx], problem.X.iloc[valid_idx]
            y_train, y_valid = problem.y[train_idx], problem.y[valid_idx]
            pipeline = family_builder.build(
                family, problem.task, params, problem.schema, seed=problem.seed, threads=problem.threads
            )
            watched = self._watched(valid_idx)
            scoring: list[float] = []
            on_rung = self._rung_reporter(trial, watched, len(train_idx), scoring) if fold == 0 else None
            started = time.perf_counter()
            trained = train(
                pipeline,
                family,
                X_train,
                y_train,
                deadline,
                on_rung=on_rung,
                valid=(problem.X.iloc[watched], problem.y[watched]),
                weights=(problem.weight(train_idx), problem.weight(watched)),
            )
            fits.append((time.perf_counter() - started - sum(scoring), trained.pace))
            if trained.reached is not None:
                reached.append(trained.reached)
            trained_rows.append(len(train_idx))
            start = time.perf_counter()
            prediction = problem.predict(pipeline, X_valid, len(train_idx))
            if fold == last:
                attrs["predict_ms_per_1k"] = (time.perf_counter() - start) * 1e6 / len(valid_idx)
                attrs["model_bytes"] = model_bytes(pipeline)
                if hasattr(pipeline[-1], "precision_"):  # the MLP: float32, or 16-bit on a GPU
                    attrs["precision"] = pipeline[-1].precision_
            oof[np.searchsorted(scored, valid_idx)] = prediction
            score = problem.metric.score(y_valid, prediction, problem.weight(valid_idx))
            if not math.isfinite(score):
                raise ValueError(f"fold {fold} scored {score}")
            fold_scores.append(score)
            trial.report(score, problem.steps.fold(fold))
            if fold < last and trial.should_prune():
                raise optuna.TrialPruned(f"pruned after {fold + 1} of {last + 1} folds")
        refit_rows = family.trained_rows(len(problem.y))
        attrs.update(rows=int(np.mean(trained_rows)), refit_rows=refit_rows)
        least = None
        if reached and family.fidelity is not None:
            attrs["fidelity_reached"] = reached
            attrs["fidelity"], attrs["fidelity_max"] = refit_fidelity(
                reached, trained_rows, refit_rows, family, params.get(family.fidelity.param)
            )
            least = attrs["fidelity"]
        # A fold's training alone (no scoring, no row samples) as one plain fit of the refit's
        # rounds: what the time kept for the refit is estimated from.
        plain = [seconds if least is None else pace.plain_seconds(seconds, least) for seconds, pace in fits]
        attrs["train_seconds"] = float(np.mean(plain)) * family.refit_pace
        return oof
