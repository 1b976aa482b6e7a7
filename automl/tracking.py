"""MLflow: one run per search (settings, score, costs, report, tables and the chosen model), and no autologging
of automl's own fits.

MLflow is optional: it is imported only when a search is tracked (``mlflow=URI``), and automl's
fits are shielded from the user's ``mlflow.sklearn.autolog()`` only when MLflow is already imported.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from types import ModuleType
from typing import Any

import numpy as np

from automl.errors import ConfigError
from automl.versions import package_version

logger = logging.getLogger("automl")

#: The packages an MLflow model of automl needs where it is loaded, besides automl itself.
MODEL_REQUIREMENTS = ("scikit-learn", "lightgbm", "pandas", "numpy", "mlflow")


def require_mlflow() -> ModuleType:
    """MLflow, or a ConfigError with the command that installs it."""
    try:
        return importlib.import_module("mlflow")
    except ImportError:
        raise ConfigError(
            'tracking a search in MLflow needs the package mlflow; install it with: pip install ".[mlflow]" '
            '(or pip install "mlflow>=2.16")'
        ) from None


@contextmanager
def no_autologging() -> Iterator[None]:
    """automl's internal fits (trials, refits, encoders) never reach the user's MLflow autologging."""
    if "mlflow" not in sys.modules:  # autologging is switched on through mlflow, so it is off
        yield
        return
    with importlib.import_module("mlflow.utils.autologging_utils").disable_autologging():
        yield


def log_search(model: Any, uri: str) -> str | None:
    """Log a fitted search as one MLflow run in the tracking store ``uri``; returns the run's id.

    The model is logged without an input signature: MLflow would enforce its column types,
    refusing a categorical column that automl reads as it read the text in training. A store
    that refuses the run costs a warning, not the fitted model: None is returned then.
    """
    mlflow = require_mlflow()
    try:
        return _log(mlflow, model, uri)
    except mlflow.exceptions.MlflowException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        logger.warning("the search was not logged to MLflow at %s: %s", uri, first)
        return None


def _log(mlflow: ModuleType, model: Any, uri: str) -> str:
    from automl.mlflow_model import AutoMLPythonModel  # it subclasses an MLflow class
    from automl.runs import RunFolder  # runs imports the estimators, which import this module

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow.start_run(run_name=f"automl {model.preset_} {model.task_}") as run:
            mlflow.log_params(_params(model))
            mlflow.log_metrics(_metrics(model))
            mlflow.set_tags(
                {"automl.version": package_version("automl"), "automl.chosen": model.chosen_.label}
            )
            with TemporaryDirectory(prefix="automl-mlflow-") as scratch:
                folder = Path(scratch)
                model.report(folder / "report.html")
                RunFolder(folder).write_tables(model)
                for name in ("report.html", "leaderboard.csv", "pareto_front.csv"):
                    mlflow.log_artifact(str(folder / name))
            where = (
                "name" if int(mlflow.__version__.split(".")[0]) >= 3 else "artifact_path"
            )  # renamed in 3.0
            mlflow.pyfunc.log_model(
                **{where: "model"},
                python_model=AutoMLPythonModel(model.inference_model()),
                pip_requirements=_requirements(),
            )
            return str(run.info.run_id)
    finally:
        mlflow.set_tracking_uri(previous)


def _params(model: Any) -> dict[str, Any]:
    """The search's settings as given and as resolved, as MLflow params (text, at most 6,000 characters)."""
    given = {
        key: ("" if value is None else str(value)) for key, value in model.get_params(deep=False).items()
    }
    given.pop("mlflow", None)
    resolved = {
        "preset_": model.preset_,
        "task_": model.task_,
        "metric_": model.metric_.name,
        "cv_": model.cv_,
        "time_budget_": model.time_budget_,
        "selection_rule_": model.selection_["rule"],
        "cost_": model.cost_,
        "families_": ",".join(model.families_),
        "chosen_family": model.chosen_.family,
        "stop_reason_": model.stop_reason_,
    }
    return {key: str(value)[:6000] for key, value in {**given, **resolved}.items()}


def _metrics(model: Any) -> dict[str, float]:
    board = model.leaderboard_
    metrics = {
        f"cv_{model.metric_.display_name}": float(model.metric_.display(model.chosen_.score)),
        "cv_score": float(model.chosen_.score),
        "energy_kwh": model.total_energy_.energy_kwh,
        "search_energy_kwh": model.search_energy_.energy_kwh,
        "refit_energy_kwh": model.refit_energy_.energy_kwh,
        "co2_kg": model.total_energy_.co2_kg,
        "fit_seconds": model.fit_seconds_,
        "trials": float(len(board)),
        "trials_complete": float((board.state == "complete").sum()),
        "peak_memory_mb": model.peak_memory_mb_,
    }
    return {key: float(value) for key, value in metrics.items() if np.isfinite(value)}


def _requirements() -> list[str]:
    """Pinned where installed; automl itself must be importable where the model is loaded."""
    pinned = {name: package_version(name) for name in MODEL_REQUIREMENTS}
    return [f"{name}=={number}" if number else name for name, number in pinned.items()]
