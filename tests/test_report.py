"""The HTML report, checked as a person sees it: rendered in headless Chromium with the network off."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import plotly.offline
import pytest
from browser import LoadedPage, open_offline, system_chromium
from sklearn.exceptions import NotFittedError

import automl
from automl.errors import ConfigError
from automl.report import write_report
from automl.spaces import builtin_dir
from conftest import load_dataset

ARTIFACTS = Path(__file__).parent / "artifacts"
#: The explanation figures, which every report draws.
EXPLAINED = ("contributions", "beeswarm", "dependence")
MAX_BYTES = 10_000_000

#: A k-NN family that asks for more neighbours than there are rows: every trial fails at predict time.
FAILING_FAMILY = """\
family: {name}
description: k-NN with more neighbours than rows; fails on purpose.
tasks: [binary, multiclass]
estimator: {{classification: sklearn.neighbors.KNeighborsClassifier}}
preprocessing: {{categorical: onehot, scale: true}}
fixed: {{n_neighbors: 100000}}
priority: 0
defaults:
  - {{weights: uniform}}
params:
  weights: {{type: categorical, choices: [uniform, distance]}}
"""

#: What every plot container holds once plotly has drawn into it.
PLOTS_JS = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(div => ({
    name: div.id.replace('plot-', ''),
    drawn: Boolean(div._fullLayout) && div.querySelectorAll('svg.main-svg').length > 0,
    marks: div.querySelectorAll('.cartesianlayer .trace path, .cartesianlayer .trace image, '
                                + '.cartesianlayer .hm image').length,
    width: div.getBoundingClientRect().width,
}))"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with system_chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def classification(tmp_path_factory: pytest.TempPathFactory) -> automl.AutoMLClassifier:
    """Glass (six imbalanced classes) plus an ID and a constant column, searched with two families that always fail."""
    spaces = tmp_path_factory.mktemp("spaces")
    for name in ("logistic_regression", "knn", "extra_trees"):
        shutil.copy(builtin_dir() / f"{name}.yaml", spaces)
    for name in ("wide_knn", "wider_knn"):
        (spaces / f"{name}.yaml").write_text(FAILING_FAMILY.format(name=name))
    X, y = load_dataset("glass")
    X = X.assign(sample_id=[f"g{i:03d}" for i in range(len(X))], lab="A")
    families = ["wide_knn", "wider_knn", "logistic_regression", "knn", "extra_trees"]
    return automl.AutoMLClassifier(
        preset="fast", search_space=spaces, families=families, n_trials=16, cv=3, time_budget=60, seed=0
    ).fit(X, y)


@pytest.fixture(scope="module")
def regression() -> automl.AutoMLRegressor:
    X, y = load_dataset("auto_mpg")
    return automl.AutoMLRegressor(
        preset="fast", families=["ridge", "knn"], n_trials=12, cv=3, time_budget=60, seed=0
    ).fit(X, y)


def render(model: Any, path: Path, chromium: Any, name: str) -> LoadedPage:
    """Write the report, open it offline, and save a screenshot as a test artifact."""
    write_report(model, path)
    loaded = open_offline(chromium, path)
    loaded.page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.plotly-graph-div')).every(d => d._fullLayout)"
    )
    ARTIFACTS.mkdir(exist_ok=True)
    loaded.page.screenshot(path=ARTIFACTS / f"report-{name}.png", full_page=True)
    return loaded


def check_page(loaded: LoadedPage, model: Any, expected_plots: set[str]) -> dict[str, dict[str, Any]]:
    """What every report must show: no error, no request, drawn plots, a row per trial."""
    page = loaded.page
    assert loaded.errors == []
    assert loaded.requests == []
    plots = {p["name"]: p for p in page.evaluate(PLOTS_JS)}
    assert expected_plots <= set(plots)
    for name, plot in plots.items():
        assert plot["drawn"] and plot["marks"] > 0 and plot["width"] > 200, (
            f"plot {name} did not render: {plot}"
        )
    missing = page.locator("figure.plot .note").all_inner_texts()
    assert len(plots) + len(missing) == page.locator("figure.plot").count()
    assert all(len(note) > 20 for note in missing)
    assert page.locator("#leaderboard-table tbody tr").count() == len(model.leaderboard_)
    assert page.locator("#front-table tbody tr").count() == len(model.pareto_front_)
    assert page.locator("#leaderboard-table tr.chosen").count() == (not model.chosen_.is_ensemble)
    return plots


def test_classification_report_in_browser(
    classification: automl.AutoMLClassifier, chromium: Any, tmp_path: Path
) -> None:
    loaded = render(classification, tmp_path / "report.html", chromium, "classification")
    expected = {"pareto", "history", "families", "features", "confusion", "roc", "calibration", *EXPLAINED}
    check_page(loaded, classification, expected)
    page = loaded.page
    warnings = page.locator("#warnings").inner_text()
    assert "Imbalanced classes" in warnings
    assert "'sample_id': ID-like" in warnings and "'lab': constant" in warnings
    assert re.search(
        r"\d+ trials failed with the same error\s+ValueError: Expected n_neighbors <= n_samples_fit", warnings
    )
    assert "wide_knn, wider_knn" in warnings
    assert "Expected calibration error" in page.locator("[data-plot=calibration] figcaption").inner_text()
    header = page.locator("header").inner_text()
    assert "estimated, not measured" in header or "measured" in header


def test_leaderboard_sorts_and_filters(
    classification: automl.AutoMLClassifier, chromium: Any, tmp_path: Path
) -> None:
    loaded = render(classification, tmp_path / "report.html", chromium, "classification-sorted")
    page = loaded.page
    energy = page.locator("#leaderboard-table th", has_text="Energy")
    energy.click()
    column = [
        c.get_attribute("data-sort")
        for c in page.locator("#leaderboard-table tbody tr td:nth-child(8)").all()
    ]
    values = [float(v) for v in column if v]
    assert values == sorted(values) and len(values) == classification.leaderboard_.energy_kwh.notna().sum()
    page.locator("#leaderboard-filter").fill("fail")
    failed = int((classification.leaderboard_.state == "fail").sum())
    assert page.locator("#leaderboard-table tbody tr:not([hidden])").count() == failed
    assert (
        page.locator("#leaderboard-count").inner_text()
        == f"{failed} of {len(classification.leaderboard_)} trials"
    )
    assert loaded.errors == []


def test_pareto_buttons_switch_the_cost(
    classification: automl.AutoMLClassifier, chromium: Any, tmp_path: Path
) -> None:
    page = render(classification, tmp_path / "report.html", chromium, "classification-latency").page
    title = "document.querySelector('#plot-pareto .xtitle').textContent"
    assert page.evaluate(title).startswith("training energy")
    page.locator("#plot-pareto .updatemenu-button", has_text="prediction latency").click()
    page.wait_for_function(f"() => {title}.startsWith('prediction latency')")


def test_regression_report_in_browser(
    regression: automl.AutoMLRegressor, chromium: Any, tmp_path: Path
) -> None:
    loaded = render(regression, tmp_path / "report.html", chromium, "regression")
    check_page(
        loaded,
        regression,
        {"pareto", "history", "families", "params", "features", "actual", "residuals", *EXPLAINED},
    )
    caption = loaded.page.locator("#explanations figcaption").first.inner_text()
    assert "SHAP contributions to the predicted value (predict)" in caption
    assert "Nothing to warn about" in loaded.page.locator("#warnings").inner_text()


def test_report_of_a_loaded_model_says_what_it_cannot_show(
    regression: automl.AutoMLRegressor, chromium: Any, tmp_path: Path
) -> None:
    model = automl.load(regression.save(tmp_path / "model.joblib"))
    loaded = render(model, tmp_path / "report.html", chromium, "regression-loaded")
    plots = check_page(loaded, model, {"pareto", "history", "families", *EXPLAINED})  # on the kept background
    assert not {"actual", "residuals"} & set(plots)
    notes = loaded.page.locator("#model .note").all_inner_texts()
    assert any("out-of-fold predictions" in note for note in notes)


def test_report_is_one_self_contained_file(regression: automl.AutoMLRegressor, tmp_path: Path) -> None:
    path = regression.report(tmp_path / "nested" / "report.html")
    html = path.read_text(encoding="utf-8")
    assert path.stat().st_size < MAX_BYTES
    assert html.count(plotly.offline.get_plotlyjs()[:500]) == 1
    assert not re.search(r"""<script[^>]+src=|<link[^>]+href=|@import|url\(\s*['"]?https?:""", html)
    assert html.count("Plotly.newPlot(") == html.count('class="plotly-graph-div"') >= 5


def test_small_budget_warns_and_falls_back_to_permutation_importance(tmp_path: Path) -> None:
    X, y = load_dataset("auto_mpg")
    model = automl.AutoMLRegressor(preset="fast", families=["knn", "mlp"], n_trials=1, cv=3, seed=0).fit(X, y)
    html = write_report(model, tmp_path / "report.html").read_text(encoding="utf-8")
    assert "The budget was too small to try every family" in html
    assert "never ran: mlp" in html
    assert "permutation importance" in html


def test_report_needs_a_file_name_and_a_fitted_model(
    regression: automl.AutoMLRegressor, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="is a folder"):
        write_report(regression, tmp_path)
    with pytest.raises(NotFittedError):
        write_report(automl.AutoMLRegressor(), tmp_path / "report.html")
