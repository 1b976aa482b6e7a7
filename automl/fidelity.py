"""Training along a family's fidelity parameter (trees, boosting rounds, epochs), in one run.

One training run serves three purposes: fold 0 is scored at partial stages of it (so pruning
can stop a poor trial early), it stops on the validation fold when that has not improved for
the family's patience (early stopping, for boosting and the MLP), and the deadline is checked
while it grows. Warm-startable estimators are grown in chunks; LightGBM reports through
callbacks. Nothing is trained twice.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from automl.deadline import Deadline, DeadlineReached
from automl.spaces import FamilySpace

#: A warm-startable estimator's first stage is this share of its fidelity, to measure its pace.
FIRST_STAGE = 1 / 8
#: After it, a stage is sized to last about this many seconds (or to double what is trained), so the
#: deadline is checked that often while a fit that is quick anyway is not cut into stages that each
#: pay a fit's fixed cost.
STAGE_SECONDS = 2.0
#: ``on_rung(rung, model, preprocess)``: ``model`` predicts from features ``preprocess`` transformed.
OnRung = Callable[[int, Any, Any], None]
#: The sample weights of the training rows and of the validation rows (None: every row counts once).
Weights = tuple[np.ndarray | None, np.ndarray | None]


@dataclass(frozen=True)
class Stretch:
    """Train past the first ``floor`` rounds only while ``until`` allows: the fidelity is then the most."""

    floor: int
    until: Deadline

    def allows(self, done: int, seconds_per_round: float, end: int) -> int:
        """Where training from ``done`` rounds towards ``end`` may go: past the floor, only as far as time allows."""
        left = self.until.left()
        if seconds_per_round * (end - done) <= left:
            return end
        if done < self.floor:
            return min(end, self.floor)
        return done + max(0, int(left / seconds_per_round))


@dataclass(frozen=True)
class Pace:
    """What a training run's time says of one plain fit's (it holds no model, so it outlives the fit)."""

    #: The rounds trained, early stopping's patience past the best included (None: no fidelity).
    rounds: int | None = None
    #: Under early stopping, a warm-started run's seconds per round in its fastest stage, and the
    #: seconds its preprocessing took: a plain fit pays each warm start's binning and rescoring only
    #: once (None for a run in one piece, or without early stopping).
    round_seconds: float | None = None
    preprocess_seconds: float = 0.0

    def plain_seconds(self, seconds: float, rounds: int) -> float:
        """How long one plain fit of ``rounds`` would take, this run having trained in ``seconds``."""
        if self.round_seconds is not None:
            return self.preprocess_seconds + self.round_seconds * rounds
        return seconds * rounds / self.rounds if self.rounds else seconds


@dataclass(frozen=True)
class Trained:
    """What a training run reached: the fitted pipeline and the fidelity that was worth training.

    ``reached`` is the number of rounds (or epochs, or trees) at which the validation score was
    best, under early stopping; else the fidelity trained (all of it, unless a ``Stretch`` ended
    it sooner). None for a family without a fidelity.
    """

    pipeline: Pipeline
    reached: int | None
    pace: Pace = Pace()


def train(
    pipeline: Pipeline,
    family: FamilySpace,
    X: Any,
    y: np.ndarray,
    deadline: Deadline,
    on_rung: OnRung | None = None,
    valid: tuple[Any, np.ndarray] | None = None,
    weights: Weights = (None, None),
    stretch: Stretch | None = None,
) -> Trained:
    """Fit ``pipeline``; ``on_rung`` is called at each partial stage, ``valid`` (X, y) enables early stopping.

    ``weights`` are the sample weights of the training rows and of ``valid``'s (None: unweighted).
    Past ``deadline`` the fit raises ``DeadlineReached``; past ``stretch``'s, it ends, keeping what it trained.
    """
    preprocess, estimator = pipeline[:-1], pipeline[-1]
    started = time.perf_counter()
    Xt = preprocess.fit_transform(X, y)
    preprocessed = time.perf_counter() - started
    fidelity = family.fidelity
    weighted = {} if weights[0] is None else {"sample_weight": weights[0]}
    if fidelity is None:
        estimator.fit(Xt, y, **weighted)
        return Trained(pipeline, None)
    full = int(estimator.get_params()[fidelity.param])
    rungs = fidelity.rungs(full) if on_rung else []
    stopping = family.early_stopping if valid is not None else None
    validation = None if stopping is None or valid is None else (preprocess.transform(valid[0]), valid[1])
    report = on_rung or (lambda rung, model, transform: None)
    if _is_lightgbm(estimator):
        return _train_lightgbm(
            pipeline, Xt, y, deadline, full, rungs, report, validation, stopping, weights, stretch
        )
    if "warm_start" in estimator.get_params():
        trained = _train_warm(
            pipeline, family, Xt, y, deadline, full, rungs, report, validation, stopping, weights, stretch
        )
        return replace(trained, pace=replace(trained.pace, preprocess_seconds=preprocessed))
    estimator.fit(Xt, y, **weighted)  # a fidelity it cannot grow in stages: one fit, no partial stages
    return Trained(pipeline, full, Pace(full))


def _train_warm(
    pipeline: Pipeline,
    family: FamilySpace,
    Xt: Any,
    y: np.ndarray,
    deadline: Deadline,
    full: int,
    rungs: list[int],
    report: OnRung,
    validation: tuple[Any, np.ndarray] | None,
    stopping: Any,
    weights: Weights,
    stretch: Stretch | None,
) -> Trained:
    """Grow a warm-startable estimator chunk by chunk, scoring rungs and stopping early where asked."""
    preprocess, estimator = pipeline[:-1], pipeline[-1]
    assert family.fidelity is not None
    param = family.fidelity.param
    fit_params: dict[str, Any] = {} if weights[0] is None else {"sample_weight": weights[0]}
    if validation is not None:
        estimator.set_params(**_early_stopping_params(estimator, stopping.patience))
        fit_params.update(X_val=validation[0], y_val=validation[1])
        if weights[1] is not None:
            fit_params["sample_weight_val"] = weights[1]
    estimator.set_params(warm_start=True)
    done, spent, fastest = 0, 0.0, math.inf
    # The first stage measures the pace that the deadline is checked against; without a deadline,
    # it goes as far as training must.
    first = (
        max(1, round(full * FIRST_STAGE)) if deadline.at is not None else (stretch.floor if stretch else full)
    )
    while done < full:
        deadline.check()
        value = _next_stage(done, spent, full, rungs, first)
        if done:
            pace = spent / done
            if pace * (value - done) > deadline.left():
                value = done + int(max(0.0, deadline.left()) / pace)
            if value == done:
                raise DeadlineReached(
                    f"cut off at {done} of {full} {param}: the next stage would end past the time budget"
                )
            if stretch is not None:
                value = stretch.allows(done, pace, value)
                if value == done:
                    break
        started = time.perf_counter()
        with warnings.catch_warnings():
            # Every stage grows on the same rows, so the class weights that forests warn about do not change.
            warnings.filterwarnings("ignore", message="class_weight presets", category=UserWarning)
            estimator.set_params(**{param: value}).fit(Xt, y, **fit_params)
        seconds = time.perf_counter() - started
        grown = max(1, min(value, _trained(estimator) or value) - done)
        spent, done, fastest = spent + seconds, value, min(fastest, seconds / grown)
        if value in rungs:
            report(rungs.index(value), estimator, preprocess)
        if validation is not None and (_trained(estimator) < value or _stops_here(estimator)):
            break
    estimator.set_params(warm_start=False)
    best = _best(estimator) if validation is not None else done
    # A forest's warm starts cost nothing extra: its fastest stage would only be its luckiest.
    return Trained(
        pipeline, best, Pace(_trained(estimator) or done, fastest if validation is not None else None)
    )


def _next_stage(done: int, spent: float, full: int, rungs: list[int], first: int) -> int:
    """Where the next warm start grows to: the next rung or the end, or less if that would take long."""
    target = min([r for r in rungs if r > done] + [full])
    if not done:
        return min(target, first)
    per_unit = spent / done
    if per_unit * (target - done) > STAGE_SECONDS:
        # At least double what is trained: each warm start bins the rows again and predicts them
        # with every tree so far, so many short stages cost more than one long fit.
        target = min(target, max(done + max(1, int(STAGE_SECONDS / per_unit)), 2 * done))
    return target


def _early_stopping_params(estimator: Any, patience: int) -> dict[str, Any]:
    """The constructor arguments that make an estimator stop on the validation data given to ``fit``."""
    params = estimator.get_params()
    if "n_iter_no_change" in params:  # scikit-learn's histogram gradient boosting
        return {"early_stopping": True, "n_iter_no_change": patience, "scoring": "loss"}
    if "patience" in params:  # automl's MLP
        return {"patience": patience}
    raise ValueError(f"{type(estimator).__name__} cannot stop early on a validation fold")


def _stops_here(estimator: Any) -> bool:
    """Whether early stopping would end training where this stage ended, so a stage boundary moves nothing.

    A warm start that resumes there would train on, checking its rule only after a new round.
    """
    if hasattr(estimator, "validation_score_"):
        # scikit-learn's rule: none of the last n scores beats the one before them by more than tol.
        scores, n = estimator.validation_score_, estimator.n_iter_no_change
        return len(scores) > n and not np.any(scores[-n:] > scores[-n - 1] + estimator.tol)
    return estimator.stopped_early()


def _trained(estimator: Any) -> int:
    """How far a warm-started estimator has trained."""
    return int(getattr(estimator, "n_iter_", getattr(estimator, "n_epochs_", 0)))


def _best(estimator: Any) -> int:
    """The round (or epoch) at which the validation loss was lowest."""
    if hasattr(estimator, "validation_score_"):  # scores, higher is better; entry 0 is before the first round
        return max(1, int(np.argmax(estimator.validation_score_)))
    return max(1, int(estimator.best_epoch_))


def _train_lightgbm(
    pipeline: Pipeline,
    Xt: Any,
    y: np.ndarray,
    deadline: Deadline,
    full: int,
    rungs: list[int],
    report: OnRung,
    validation: tuple[Any, np.ndarray] | None,
    stopping: Any,
    weights: Weights,
    stretch: Stretch | None,
) -> Trained:
    """LightGBM in one run: callbacks score the rungs, check the deadline and stop early on the validation fold."""
    import lightgbm

    preprocess, estimator = pipeline[:-1], pipeline[-1]
    classes = np.unique(y) if hasattr(estimator, "predict_proba") else None

    grown = [0]  # the rounds trained: the booster keeps only those up to the best, under early stopping

    def at_rungs(env: Any) -> None:
        done = grown[0] = env.iteration + 1
        if done in rungs:
            report(rungs.index(done), _BoosterAt(env.model, done, classes), preprocess)

    at_rungs.order = 30  # type: ignore[attr-defined]
    callbacks: list[Any] = [deadline.lightgbm_callback(), at_rungs]
    if stretch is not None:
        started = time.perf_counter()

        def stretched(env: Any) -> None:
            done = env.iteration + 1
            if done < full and stretch.allows(done, (time.perf_counter() - started) / done, done + 1) == done:
                raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

        callbacks.append(stretched)
    fit_params: dict[str, Any] = {} if weights[0] is None else {"sample_weight": weights[0]}
    if validation is not None:
        callbacks.append(lightgbm.early_stopping(stopping.patience, first_metric_only=True, verbose=False))
        fit_params.update(eval_X=(validation[0],), eval_y=(validation[1],))
        if weights[1] is not None:
            fit_params["eval_sample_weight"] = [weights[1]]
    estimator.fit(Xt, y, callbacks=callbacks, **fit_params)
    best = int(getattr(estimator, "best_iteration_", 0) or 0)
    rounds = int(estimator.booster_.current_iteration())
    return Trained(
        pipeline, best if validation is not None and best > 0 else rounds, Pace(max(rounds, grown[0]))
    )


class _BoosterAt:
    """A LightGBM model as it stood after ``iterations`` rounds, while it trains: enough to score a rung."""

    def __init__(self, booster: Any, iterations: int, classes: np.ndarray | None) -> None:
        self.booster = booster
        self.iterations = iterations
        self.classes_ = classes

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(X, num_iteration=self.iterations))

    def predict_proba(self, X: Any) -> np.ndarray:
        output = self.predict(X)
        return np.column_stack([1 - output, output]) if output.ndim == 1 else output


def _is_lightgbm(estimator: Any) -> bool:
    return type(estimator).__module__.startswith("lightgbm")
