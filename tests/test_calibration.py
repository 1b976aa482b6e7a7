"""The reliability of out-of-fold probabilities, and calibration= maps kept only when they help."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import automl
from automl.calibration import reliability
from automl.errors import ConfigError
from automl.report import write_report
from automl.smoothing import laplace_weight, smooth

QUICK: dict[str, Any] = {"preset": "fast", "n_trials": 2, "cv": 3, "seed": 0}


def test_calibrated_probabilities_have_a_small_error_and_overconfident_ones_a_large_one() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20_000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    calibrated = reliability(y, np.column_stack([1 - p, p]))
    assert calibrated.ece < 0.02 and calibrated.table.rows.sum() == p.size and len(calibrated.table) == 10
    sharp = np.where(p > 0.5, 0.99, 0.01)
    assert reliability(y, np.column_stack([1 - sharp, sharp])).ece == pytest.approx(0.24, abs=0.02)


def test_multiclass_reads_the_top_label() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.1, 0.1, 0.8]])
    found = reliability(np.array([0, 1, 2, 2]), proba)
    assert "top label" in found.what
    assert found.ece == pytest.approx((2 * abs(0.7 - 0.5) + 2 * abs(0.8 - 1.0)) / 4)


@pytest.fixture(scope="module")
def titanic_lightgbm(titanic: tuple[pd.DataFrame, pd.Series]) -> dict[str, automl.AutoMLClassifier]:
    X, y = titanic
    return {
        method: automl.AutoMLClassifier(families=["lightgbm"], calibration=method, **QUICK).fit(X, y)
        for method in ("isotonic", "sigmoid")
    }


def test_a_map_that_lowers_the_log_loss_is_kept_and_applied(
    titanic_lightgbm: dict[str, automl.AutoMLClassifier],
    titanic: tuple[pd.DataFrame, pd.Series],
    tmp_path: Path,
) -> None:
    X, _ = titanic
    model = titanic_lightgbm["isotonic"]
    found = model.calibration_
    assert found.kept and found.log_loss_after < found.log_loss_before
    weight = laplace_weight(model.n_train_rows_)
    raw = smooth(model.model_.predict_proba(model._features(X)), weight)
    calibrated = model.predict_proba(X)
    np.testing.assert_allclose(calibrated, model.calibrator_.apply(raw, weight))
    assert np.abs(calibrated - raw).max() > 0.01 and calibrated.min() > 0
    explanation = model.explain(X)
    np.testing.assert_allclose(explanation.predicted(), calibrated[:, 1], rtol=1e-6)
    html = write_report(model, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "isotonic, applied by predict_proba (out-of-fold log loss" in html


def test_a_map_that_does_not_help_is_not_kept(
    titanic_lightgbm: dict[str, automl.AutoMLClassifier], titanic: tuple[pd.DataFrame, pd.Series]
) -> None:
    model = titanic_lightgbm["sigmoid"]
    assert not model.calibration_.kept and model.calibrator_ is None
    X, _ = titanic
    raw = smooth(model.model_.predict_proba(model._features(X)), laplace_weight(model.n_train_rows_))
    np.testing.assert_allclose(model.predict_proba(X), raw)


def test_calibration_is_for_binary_tasks(iris: tuple[pd.DataFrame, pd.Series]) -> None:
    with pytest.raises(
        ConfigError, match="calibration='isotonic' is for binary tasks; this one is multiclass"
    ):
        automl.AutoMLClassifier(calibration="isotonic", **QUICK).fit(*iris)
    with pytest.raises(ConfigError, match="unknown calibration method 'platt'"):
        automl.AutoMLClassifier(calibration="platt", **QUICK).fit(*iris)
