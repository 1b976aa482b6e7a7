"""What a notebook shows: the live progress of a verbose fit, automl's log records, a fitted model's summary."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

import automl
from conftest import QUICK


def test_a_verbose_fit_shows_its_progress_and_log_lines(
    titanic: tuple[pd.DataFrame, pd.Series],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    X, y = titanic
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # as in a fresh notebook: logging not set up
    automl.AutoMLClassifier(families=["logistic_regression"], verbose=True, **QUICK).fit(X, y)
    out = capsys.readouterr().out
    assert "automl: binary, roc_auc, preset balanced" in out  # the display's title
    assert "trials: 3 done, 0 pruned, 0 failed of 3" in out
    assert "the search stopped (trial count)" in out and "chosen: logistic_regression" in out

    automl.AutoMLClassifier(families=["logistic_regression"], **QUICK).fit(X, y)
    assert capsys.readouterr().out == ""  # not verbose: nothing printed


def test_log_records_say_what_was_dropped_why_it_stopped_and_the_choice(
    titanic: tuple[pd.DataFrame, pd.Series], caplog: pytest.LogCaptureFixture
) -> None:
    X, y = titanic
    with caplog.at_level(logging.INFO, logger="automl"):
        automl.AutoMLClassifier(families=["logistic_regression"], **QUICK).fit(X.assign(constant=1), y)
    messages = [r.getMessage() for r in caplog.records if r.name == "automl"]
    assert "column 'constant' is not used: constant" in messages
    assert any(m.startswith("the search stopped (trial count)") for m in messages)
    assert any(m.startswith("chosen: logistic_regression (trial #") for m in messages)


def test_a_fitted_models_html_summarises_the_choice_and_the_front(
    binary_model: tuple[automl.AutoMLClassifier, pd.DataFrame, pd.Series],
) -> None:
    model, *_ = binary_model
    page = model._repr_html_()
    assert model.chosen_.label in page and f"{model.metric_.display(model.chosen_.score):.4g}" in page
    assert "energy" in page and "Pareto front" in page and "<a " not in page
    front = model.pareto_front_
    assert page.count("<tr><td>logistic_regression (trial #") == (front.family == "logistic_regression").sum()
    assert model._repr_mimebundle_()["text/html"] == page
    assert (
        "sk-" in automl.AutoMLClassifier()._repr_html_()
    )  # unfitted: scikit-learn's diagram of the parameters
