"""sensitive_features=: the chosen model's out-of-fold predictions audited per group, in fairness_ and the report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from browser import open_offline, system_chromium

import automl
from automl import fairness
from automl.errors import ConfigError, MissingDependency
from automl.metrics import get_metric

QUICK: dict[str, Any] = {"preset": "fast", "n_trials": 2, "cv": 3, "seed": 0}


@pytest.fixture(scope="module")
def audited(titanic: tuple[pd.DataFrame, pd.Series]) -> automl.AutoMLClassifier:
    X, y = titanic
    return automl.AutoMLClassifier(
        families=["logistic_regression"], sensitive_features=["sex", "age"], **QUICK
    ).fit(X, y)


def test_titanic_predictions_differ_by_sex(
    audited: automl.AutoMLClassifier, titanic: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = titanic
    sex = audited.fairness_.loc["sex"]
    assert list(sex.index) == ["female", "male", "largest gap"]
    assert sex.loc["female", "rows"] == (X.sex == "female").sum() and np.isnan(sex.loc["largest gap", "rows"])
    # Women survived far more often (74% against 19%), and the model says so: a known disparity.
    assert sex.loc["female", "selection rate"] > 0.6 > 0.25 > sex.loc["male", "selection rate"]
    assert sex.loc["largest gap", "selection rate"] == pytest.approx(
        sex.loc["female", "selection rate"] - sex.loc["male", "selection rate"]
    )
    assert sex.loc["female", "false positive rate"] > sex.loc["male", "false positive rate"]
    survived_women = y[X.sex == "female"].mean()
    assert abs(sex.loc["female", "selection rate"] - survived_women) < 0.2
    age = audited.fairness_.loc["age"]
    assert len(age) == 6 and "(missing)" in age.index  # four quartiles, the missing ages, the gap


@pytest.mark.browser
def test_the_report_shows_the_audit(audited: automl.AutoMLClassifier, tmp_path: Path) -> None:
    path = audited.report(tmp_path / "report.html")
    with system_chromium() as browser:
        loaded = open_offline(browser, path)
        page = loaded.page
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.plotly-graph-div')).every(d => d._fullLayout)"
        )
        assert loaded.errors == [] and loaded.requests == []
        rows = page.locator("#fairness-table tbody tr")
        assert rows.count() == len(audited.fairness_)
        female = page.locator("#fairness-table tbody tr", has_text="female").inner_text()
        rate = audited.fairness_.loc[("sex", "female"), "selection rate"]
        assert f"{rate:.3g}" in female
        assert page.locator("#fairness-table tr.gap").count() == 2
        assert page.locator("nav a", has_text="Fairness").count() == 1


def test_regression_audits_the_error(auto_mpg: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = auto_mpg
    model = automl.AutoMLRegressor(families=["ridge"], sensitive_features=["origin"], **QUICK).fit(X, y)
    audit = model.fairness_
    assert list(audit.columns) == ["rows", "root_mean_squared_error", "mean error", "mean absolute error"]
    assert set(audit.loc["origin"].index) == {"europe", "japan", "usa", "largest gap"}


def test_bad_sensitive_features(
    titanic: tuple[pd.DataFrame, pd.Series], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = titanic
    with pytest.raises(ConfigError, match=r"sensitive_features \['gender'\] are not columns of X"):
        automl.AutoMLClassifier(sensitive_features=["gender"], **QUICK).fit(X, y)
    with pytest.raises(ConfigError, match="sensitive_features"):
        automl.AutoMLClassifier(sensitive_features="sex", **QUICK).fit(X, y)
    monkeypatch.setitem(sys.modules, "fairlearn.metrics", None)
    with pytest.raises(
        MissingDependency,
        match=r"pip install fairlearn \(or, in automl's checkout, pip install \"\.\[fairness\]\"\)",
    ):
        automl.AutoMLClassifier(families=["logistic_regression"], sensitive_features=["sex"], **QUICK).fit(
            X, y
        )


def test_sample_weights_weigh_every_metric_but_the_count() -> None:
    y = np.array([1, 0, 1, 0, 1, 1])
    proba = np.array([[0.2, 0.8], [0.3, 0.7], [0.6, 0.4], [0.9, 0.1], [0.1, 0.9], [0.8, 0.2]])
    frame = pd.DataFrame({"group": ["a", "a", "a", "b", "b", "b"]})
    weights = np.array([1.0, 3.0, 1.0, 1.0, 1.0, 2.0])
    metric = get_metric("accuracy", "binary")
    audit = fairness.audit(frame, ["group"], y, proba, "binary", metric, weights).loc["group"]
    assert audit.loc["a", "rows"] == 3
    assert audit.loc["a", "selection rate"] == pytest.approx(4 / 5)  # rows 0 and 1 (weights 1 + 3) of 5
    assert audit.loc["a", "accuracy"] == pytest.approx(1 / 5) and audit.loc["b", "accuracy"] == pytest.approx(
        2 / 4
    )
    assert audit.loc["b", "true positive rate"] == pytest.approx(1 / 3)
