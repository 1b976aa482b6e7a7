"""The reliability table and expected calibration error of out-of-fold probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from automl.calibration import reliability


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
