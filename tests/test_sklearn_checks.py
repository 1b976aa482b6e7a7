"""scikit-learn's estimator checks on the AutoML estimators (with a tiny search) and the MLP.

Every check passes, so none is listed as an expected failure.
"""

from __future__ import annotations

from typing import Any

from sklearn.utils.estimator_checks import parametrize_with_checks

from automl import AutoMLClassifier, AutoMLRegressor
from automl.mlp import MLPClassifier, MLPRegressor

TINY = {"preset": "balanced", "n_trials": 2, "cv": 2, "seed": 0}
MLP = {"hidden_units": 16, "n_threads": 1, "random_state": 0}


@parametrize_with_checks(
    [
        AutoMLClassifier(families=["logistic_regression"], **TINY),
        AutoMLRegressor(families=["ridge"], **TINY),
        MLPClassifier(max_epochs=20, **MLP),
        MLPRegressor(max_epochs=100, **MLP),  # check_regressors_train wants R^2 > 0.5 on its small problem
    ]
)
def test_sklearn_compatible(estimator: Any, check: Any) -> None:
    check(estimator)
