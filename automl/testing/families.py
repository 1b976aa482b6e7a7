"""A conformance check for one model family, in the spirit of AutoGluon's ``FitHelper.verify_model``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from automl import families as family_builder
from automl.data import encode, infer_schema, to_frame
from automl.deadline import Deadline
from automl.fidelity import Stretch, train
from automl.objective import make_splits
from automl.search import quiet_optuna
from automl.spaces import FamilySpace
from automl.tasks import is_regression


@dataclass(frozen=True)
class FamilyCheck:
    """What ``verify_family`` saw: the configurations it fitted and the partial stages it scored."""

    family: str
    task: str
    configurations: int
    rungs: int


def verify_family(
    family: FamilySpace, task: str, X: pd.DataFrame, y: Any, *, seed: int = 0, samples: int = 2
) -> FamilyCheck:
    """Fit ``family`` for ``task`` on ``X, y`` the ways a search does, and raise AssertionError on any misstep.

    Checked: every listed default and ``samples`` sampled configurations build, fit on a training
    fold and predict the validation fold (finite values; probabilities of the right shape that sum
    to 1); the same seed gives the same predictions; training along the fidelity calls back at
    each partial stage with a model that predicts, and ends at the full fidelity; a family that
    takes sample weights is changed by them (half the rows weighted near zero), with and without
    a validation fold; a refit stretched past its least rounds when no time is left trains at
    least those and at most its fidelity, and predicts.

    Parameters
    ----------
    family : FamilySpace
        One family, from ``automl.load_spaces()``.
    task : {"binary", "multiclass", "regression"}
        One of the family's tasks.
    X : DataFrame
        A small real table (a few hundred rows).
    y : array-like
        Its target; class labels are encoded here as the search encodes them.
    seed : int
        Seeds the folds, the sampler and the models.
    samples : int
        How many configurations to sample from the family's space, besides its defaults.
    """
    assert task in family.tasks, f"{family.name} does not list the task {task!r}"
    frame = to_frame(X)
    schema = infer_schema(frame)
    features = encode(frame, schema)
    target = (
        np.asarray(y, dtype=float)
        if is_regression(task)
        else np.unique(np.asarray(y), return_inverse=True)[1]
    )
    train_idx, valid_idx = make_splits(target, task, 3, seed)[0]
    X_train, X_valid = features.iloc[train_idx], features.iloc[valid_idx]
    y_train = target[train_idx]

    def full_fidelity(params: dict[str, Any]) -> int | None:
        if family.fidelity is None:
            return None
        built = family_builder.build(family, task, params, schema, seed=seed, threads=1)[-1]
        return int(built.get_params()[family.fidelity.param])

    def fit_predict(
        params: dict[str, Any],
        rungs: list[int] | None = None,
        stop_early: bool = True,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """Train as cross-validation does (stopping early on the validation rows), or as a refit does."""
        pipeline = family_builder.build(family, task, params, schema, seed=seed, threads=1)
        full = full_fidelity(params)

        def on_rung(rung: int, estimator: Any, preprocess: Any) -> None:
            where = f"partial stage {rung}"
            _check_prediction(family, task, estimator, preprocess.transform(X_valid), len(valid_idx), where)
            assert rungs is not None
            rungs.append(rung)

        valid = (X_valid, target[valid_idx]) if stop_early else None
        trained = train(
            pipeline,
            family,
            X_train,
            y_train,
            Deadline(None),
            on_rung if rungs is not None else None,
            valid=valid,
            weights=(None, None) if weights is None else (weights, np.ones(len(valid_idx))),
        )
        if full is not None and family.fidelity is not None:
            param = family.fidelity.param
            assert trained.reached is not None and 1 <= trained.reached <= full, (
                f"{family.name} {params}: reached {trained.reached} of {full} {param}"
            )
            if not stop_early:
                reached = pipeline[-1].get_params()[param]
                assert reached == full, f"{family.name} {params}: trained to {reached}, not {full}"
        return _check_prediction(family, task, pipeline, X_valid, len(valid_idx), str(params))

    with quiet_optuna():
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    configurations = [dict(d) for d in family.defaults]
    for _ in range(samples):
        configurations.append(family.suggest(study.ask(), task))
    rungs_seen = 0
    for params in configurations:
        rungs: list[int] = []
        first = fit_predict(params, rungs)
        again = fit_predict(params)
        np.testing.assert_allclose(
            first,
            again,
            rtol=1e-6,
            atol=1e-9,
            err_msg=f"{family.name} {params}: the same seed gave other predictions (with or without partial stages)",
        )
        fit_predict(params, stop_early=False)
        if family.sample_weight:
            tilted = np.where(np.arange(len(train_idx)) % 2 == 0, 1.0, 1e-3)
            for stop_early in (True, False):
                weighted = fit_predict(params, stop_early=stop_early, weights=tilted)
                assert not np.allclose(weighted, first), (
                    f"{family.name} {params}: sample weights changed nothing"
                )
        full = full_fidelity(params)
        if family.fidelity is not None and full is not None:
            expected = len(family.fidelity.rungs(full))
            assert len(rungs) <= expected, (
                f"{family.name} {params}: {len(rungs)} partial stages, at most {expected}"
            )
            if family.early_stopping is None:
                assert len(rungs) == expected, (
                    f"{family.name} {params}: {len(rungs)} partial stages, not {expected}"
                )
        rungs_seen += len(rungs)
    default, full = configurations[0], full_fidelity(configurations[0])
    if family.fidelity is not None and full is not None:
        pipeline = family_builder.build(family, task, default, schema, seed=seed, threads=1)
        least = max(1, full // 4)
        stretched = train(
            pipeline, family, X_train, y_train, Deadline(None), stretch=Stretch(least, Deadline(0))
        )
        assert stretched.reached is not None and least <= stretched.reached <= full, (
            f"{family.name} {default}: a stretch out of time trained {stretched.reached}, not {least} to {full}"
        )
        _check_prediction(family, task, pipeline, X_valid, len(valid_idx), f"{default}, stretched")
    return FamilyCheck(family.name, task, len(configurations), rungs_seen)


def _check_prediction(family: FamilySpace, task: str, model: Any, X: Any, rows: int, what: str) -> np.ndarray:
    if is_regression(task):
        prediction = np.asarray(model.predict(X), dtype=float)
        assert prediction.shape == (rows,), f"{family.name} {what}: predict gave shape {prediction.shape}"
    else:
        prediction = np.asarray(model.predict_proba(X), dtype=float)
        assert prediction.ndim == 2 and prediction.shape[0] == rows, (
            f"{family.name} {what}: predict_proba gave {prediction.shape}"
        )
        np.testing.assert_allclose(
            prediction.sum(axis=1), 1.0, rtol=1e-5, err_msg=f"{family.name} {what}: probabilities"
        )
    assert np.isfinite(prediction).all(), f"{family.name} {what}: predictions are not all finite"
    return prediction
