"""Estimators that misbehave on purpose, for the fault tests: the search must survive each of them."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class _Faulty(ClassifierMixin, BaseEstimator):
    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.full((len(X), len(self.classes_)), 1.0 / len(self.classes_))


class Quitter(_Faulty):
    """Calls ``sys.exit`` in the middle of a fit."""

    def fit(self, X: Any, y: Any) -> Quitter:
        raise SystemExit(3)


class Sleeper(_Faulty):
    """A fit that does not return for a long time and checks no deadline, like one long call into C."""

    def fit(self, X: Any, y: Any) -> Sleeper:
        time.sleep(60)
        self.classes_ = np.unique(y)
        return self


class Slowpoke(_Faulty):
    """A fit whose time grows with its rows: 2.5 s for every 10,000 of them."""

    def fit(self, X: Any, y: Any) -> Slowpoke:
        time.sleep(len(X) / 4000)
        self.classes_ = np.unique(y)
        return self
