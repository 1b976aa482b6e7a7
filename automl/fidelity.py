"""Training along a family's fidelity parameter (trees, boosting rounds, epochs).

Growing the fidelity in stages lets the search score fold 0 at a fraction of the training
(iteration-level pruning) and stop a fit at the deadline instead of overrunning it.
Estimators with ``warm_start`` continue from the previous stage; the others are refit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from automl.deadline import Deadline, DeadlineReached
from automl.spaces import FamilySpace

#: A warm-startable estimator is grown in this many chunks so the deadline is checked in between.
CHUNKS = 8


def train(
    pipeline: Pipeline,
    family: FamilySpace,
    X: Any,
    y: np.ndarray,
    deadline: Deadline,
    on_rung: Callable[[int, Any, Any], None] | None = None,
) -> Pipeline:
    """Fit ``pipeline``; ``on_rung(rung_index, estimator, transform)`` is called at each partial stage."""
    preprocess, estimator = pipeline[:-1], pipeline[-1]
    report = on_rung or (lambda rung, model, transform: None)
    Xt = preprocess.fit_transform(X, y)
    fidelity = family.fidelity
    if fidelity is None:
        estimator.fit(Xt, y)
        return pipeline
    full = int(estimator.get_params()[fidelity.param])
    rungs = fidelity.rungs(full) if on_rung else []
    if "warm_start" in estimator.get_params():
        chunks = [int(round(full * (i + 1) / CHUNKS)) for i in range(CHUNKS)]
        estimator.set_params(warm_start=True)
        done, spent = 0, 0.0
        for value in sorted(set(rungs + chunks) - {0}):
            deadline.check()
            if done and spent / done * (value - done) > deadline.left():
                raise DeadlineReached(
                    f"cut off at {done} of {full} {fidelity.param}: the next stage would end past the time budget"
                )
            started = time.perf_counter()
            estimator.set_params(**{fidelity.param: value}).fit(Xt, y)
            spent, done = spent + time.perf_counter() - started, value
            if value in rungs:
                report(rungs.index(value), estimator, preprocess)
        estimator.set_params(warm_start=False)
        return pipeline
    fit_params = {"callbacks": [deadline.lightgbm_callback()]} if _is_lightgbm(estimator) else {}
    for index, value in enumerate(rungs):
        deadline.check()
        partial = clone(estimator).set_params(**{fidelity.param: value}).fit(Xt, y, **fit_params)
        report(index, partial, preprocess)
    deadline.check()
    estimator.fit(Xt, y, **fit_params)
    return pipeline


def _is_lightgbm(estimator: Any) -> bool:
    return type(estimator).__module__.startswith("lightgbm")
