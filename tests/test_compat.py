"""Each private attribute automl reads from another library (automl/compat.py), checked one by one.

An upgrade of scikit-learn or CodeCarbon that moves one of them fails here, by name.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, get_scorer, make_scorer

from automl.compat import codecarbon_cpu, is_scorer, scorer_parts
from automl.energy import MEASURED_MODES, EnergyMeter
from conftest import load_dataset


@pytest.mark.parametrize(
    ("name", "response"),
    [
        ("roc_auc", ("decision_function", "predict_proba")),
        ("neg_log_loss", "predict_proba"),
        ("accuracy", "predict"),
    ],
)
def test_scorer_parts_score_like_the_scorer(name: str, response: object) -> None:
    X, y = load_dataset("breast_cancer")
    X, y = X.to_numpy(dtype=float), (y.to_numpy() == y.iloc[0]).astype(int)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    scorer = get_scorer(name)
    parts = scorer_parts(scorer)
    assert parts.response_method == response and parts.sign in (1, -1) and isinstance(parts.kwargs, dict)
    prediction = model.predict(X) if response == "predict" else model.predict_proba(X)[:, 1]
    if name == "neg_log_loss":
        prediction = model.predict_proba(X)
    assert parts.sign * parts.score_func(y, prediction, **parts.kwargs) == pytest.approx(scorer(model, X, y))


def test_is_scorer_tells_a_scorer_from_a_plain_function() -> None:
    assert is_scorer(get_scorer("accuracy")) and is_scorer(make_scorer(f1_score))
    assert not is_scorer(f1_score) and not is_scorer(lambda y, p: 0.0)


def test_codecarbon_cpu_says_how_power_is_obtained() -> None:
    meter = EnergyMeter.for_country("USA")
    with meter.measure("probe"):
        sum(range(100_000))
    cpu = codecarbon_cpu(meter.tracker)
    assert cpu.mode in (*MEASURED_MODES, "constant", "cpu_load", "windows_emi"), cpu.mode
    assert cpu.tdp_watts is None or cpu.tdp_watts > 0
    assert np.isfinite(meter.method()["cpu_power_w"])
