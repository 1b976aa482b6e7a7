"""The ``automl`` command line: search, predict, export, report, select, worker, spaces, presets.

Every command reports a bad input as one line, ``error: ...``, with exit status 2 and no
traceback; an interrupted search exits with 128 + the signal number after saving what it can.
"""

from __future__ import annotations

import difflib
import functools
import os
import shlex
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import optuna
import pandas as pd
import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from automl import __version__, workers
from automl import data as data_module
from automl.candidates import Candidate
from automl.errors import AutoMLError, ConfigError, SearchError
from automl.estimator import AutoMLClassifier, AutoMLRegressor
from automl.metrics import Metric, get_metric
from automl.params import EnergyAmount
from automl.presets import available_presets, load_preset
from automl.progress import SearchProgress
from automl.runs import (
    Dataset,
    RunFolder,
    RunRecord,
    Session,
    Settings,
    now,
    parse_duration,
    parse_holdout,
    read_table,
    resolve_path,
    session_budget,
)
from automl.search import recover_interrupted, stop_requested
from automl.spaces import load_spaces, select_families
from automl.storage import open_storage, redact, sqlite_url
from automl.tasks import is_regression
from automl.tracking import require_mlflow
from automl.units import clock, energy

if TYPE_CHECKING:
    from automl.explain import Explanation

EXAMPLES = """**Examples**

```
automl search churn.csv --target churned
automl predict runs/churn new_customers.csv -o predictions.parquet --id-column customer_id
automl export runs/churn --format onnx -o churn.onnx
automl report runs/churn
automl select runs/churn --rule cheapest_within --tolerance 0.01
automl presets
automl spaces list
```
"""
SEARCH_EXAMPLES = """**Examples**

```
automl search churn.csv --target churned
automl search churn.csv --target churned --preset fast --time-budget 2m
automl search churn.parquet -t churned --preset green -o runs/green
automl search churn.csv -o runs/churn --resume --time-budget 10m
automl search churn.csv -t churned --storage postgresql://db/automl
```
"""

app = typer.Typer(
    name="automl",
    help=(
        "Find a good machine-learning model for a table of data, automatically.\n\n"
        "automl tries many kinds of models and settings (a *search*), scores each one by "
        "cross-validation (training on part of the rows, testing on the rest), measures the energy it used, and "
        "keeps the best trade-off. Everything a search produces goes into a run folder: the model, an HTML "
        "report, the table of all trials and run.json."
    ),
    epilog=EXAMPLES,
    rich_markup_mode="markdown",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
spaces_app = typer.Typer(
    help="The model families automl can search and their settings (YAML search spaces).", no_args_is_help=True
)
app.add_typer(spaces_app, name="spaces")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"automl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Find a good machine-learning model for a table of data, automatically."""


F = TypeVar("F", bound=Callable[..., Any])


def _reports_errors(command: F) -> F:
    """Turn automl's own errors, and the file system's, into one line and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AutoMLError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except OSError as exc:  # an unwritable folder, a full disk, a path that is a file
            where = f": {exc.filename}" if exc.filename else ""
            typer.echo(f"error: {exc.strerror or exc}{where}; check the path and its permissions", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


# ---- stopping a search ---------------------------------------------------------------------------


class StopRequests:
    """Ctrl-C or SIGTERM: the first stops the search cleanly (a KeyboardInterrupt, which the
    search turns into "keep what finished"); a second quits at once. SQLite and PostgreSQL
    commit each trial atomically, so quitting never leaves a damaged study.
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self.shielded = False
        self.on_quit: Callable[[], None] = lambda: None

    def __enter__(self) -> StopRequests:
        stop_requested.clear()
        self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    @contextmanager
    def shield(self) -> Iterator[None]:
        """While the results are written, a first signal waits for them instead of breaking them."""
        self.shielded = True
        try:
            yield
        finally:
            self.shielded = False

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signal is not None:
            self.on_quit()
            os._exit(128 + number)
        self.signal = number
        stop_requested.set()
        if self.shielded:
            print(
                "\nstopping: writing the results first; press Ctrl-C again to quit at once",
                file=sys.stderr,
                flush=True,
            )
            return
        print(
            "\nstopping: the running trial is dropped, finished trials are kept and the best model so far is "
            "refit and saved; press Ctrl-C again to quit at once",
            file=sys.stderr,
            flush=True,
        )
        raise KeyboardInterrupt

    @property
    def exit_code(self) -> int:
        return 0 if self.signal is None else 128 + self.signal


# ---- what every search needs ---------------------------------------------------------------------


def _plan(settings: Settings, dataset: Dataset) -> tuple[str, Metric]:
    """Check the preset, search space, families, metric and row columns against the data before anything is written."""
    load_preset(settings.preset)
    spaces = load_spaces(settings.search_space)
    task = data_module.infer_task(data_module.to_target(dataset.y, len(dataset.X)))
    data_module.to_weights(dataset.weights, len(dataset.X))
    if settings.time_column is not None:
        data_module.time_order(dataset.X, settings.time_column)
    if settings.families is not None:
        select_families(spaces, task, settings.families)
    return task, get_metric(settings.metric, task)


def _estimator(
    settings: Settings,
    task: str,
    *,
    time_budget: float | None,
    storage: str,
    study: str,
    n_jobs: int,
    mlflow: str | None = None,
) -> Any:
    cls = AutoMLRegressor if is_regression(task) else AutoMLClassifier
    return cls(
        preset=settings.preset,
        time_budget=time_budget,
        n_trials=settings.n_trials,
        metric=settings.metric,
        families=settings.families,
        search_space=settings.search_space,
        storage=storage,
        study_name=study,
        seed=settings.seed,
        n_jobs=n_jobs,
        country=settings.country,
        stop_when_converged=settings.stop_when_converged,
        energy_budget=settings.energy_budget,
        cv="time" if settings.time_column else None,
        time_column=settings.time_column,
        holdout=settings.holdout,
        sensitive_features=settings.sensitive_features,
        calibration=settings.calibration,
        mlflow=mlflow,
    )


def _open_study(url: str, name: str, *, create: bool) -> tuple[optuna.Study, optuna.storages.BaseStorage]:
    storage = open_storage(url)
    if create:
        return optuna.create_study(
            storage=storage, study_name=name, direction="maximize", load_if_exists=True
        ), storage
    try:
        return optuna.load_study(study_name=name, storage=storage), storage
    except KeyError:
        raise ConfigError(
            f"no study named {name!r} in {redact(url)}; start it with `automl search ... --storage URL --study {name}`"
        ) from None


def _check_study_data(study: optuna.Study, dataset: Dataset) -> None:
    recorded = study.user_attrs.get("automl")
    if recorded:
        dataset.check_same(recorded["data"]["fingerprint"], f"study {study.study_name!r}")


def _families(value: str | None) -> list[str] | None:
    return _names("--families", value, "family names", " (see `automl spaces list`)")


def _names(option: str, value: str | None, what: str, hint: str = "") -> list[str] | None:
    """A comma-separated list of names; an empty one is a ConfigError."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise ConfigError(f"{option} is empty; give {what} separated by commas{hint}")
    return names


# ---- search --------------------------------------------------------------------------------------


@app.command(epilog=SEARCH_EXAMPLES)
@_reports_errors
def search(
    data: Annotated[
        Path,
        typer.Argument(
            help="The table to learn from: a CSV or Parquet file, one row per example.", show_default=False
        ),
    ],
    target: Annotated[
        str | None, typer.Option("--target", "-t", help="The column to predict (required for a new run).")
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(
            help="How to search: fast, balanced (default), best, green, or your own preset YAML file. "
            "`automl presets` explains them."
        ),
    ] = None,
    time_budget: Annotated[
        str | None,
        typer.Option(
            help="How long to search: 90 (seconds), 90s, 10m, 2h. Default: the preset's. When resuming: more "
            "time on top of what was used."
        ),
    ] = None,
    n_trials: Annotated[
        int | None, typer.Option(help="Stop after this many trials (counting every worker).", min=1)
    ] = None,
    energy_budget: Annotated[
        str | None,
        typer.Option(
            help="Stop when the trials (and the final refit) have used this much energy: 0.5 (Wh), 0.5Wh, "
            "500mWh, 0.001kWh."
        ),
    ] = None,
    sensitive_features: Annotated[
        str | None,
        typer.Option(
            help="Audit the chosen model by these columns, comma-separated, e.g. sex,age (a report section; "
            "needs fairlearn: pip install fairlearn). They stay features.",
        ),
    ] = None,
    calibration: Annotated[
        str | None,
        typer.Option(
            help="isotonic or sigmoid: calibrate a binary task's probabilities on the out-of-fold predictions, "
            "kept only when it lowers their log loss.",
        ),
    ] = None,
    holdout: Annotated[
        str | None,
        typer.Option(
            help="Rows withheld from the search as test rows, to score the chosen model on once: a share "
            "(0.2), off, or auto (20% above 5,000 rows, none below). Once scored, the model is refit on all rows "
            "when the time budget allows.",
        ),
    ] = None,
    stop_when_converged: Annotated[
        bool | None,
        typer.Option(
            "--stop-when-converged/--no-stop-when-converged",
            help="Stop before the time budget once more search does not pay. Default: the preset's "
            "(every preset but best).",
        ),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(
            help="What 'better' means, as a scikit-learn scorer: accuracy, roc_auc, log_loss, f1, rmse, mae, "
            "r2... Default: roc_auc for two classes, log_loss for more, rmse for numbers."
        ),
    ] = None,
    families: Annotated[
        str | None,
        typer.Option(
            help="Only these model families, comma-separated, e.g. lightgbm,random_forest (`automl spaces list`)."
        ),
    ] = None,
    search_space: Annotated[
        Path | None,
        typer.Option(help="Your own search-space YAML file or folder, instead of the built-in one."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="The run folder to write. Default: runs/<data file name>. An existing run folder is continued.",
        ),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Where the trials are stored. Default: an SQLite file in the run folder. A "
            "postgresql://user@host/db URL lets `automl worker` on other machines join."
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="The study's name in the storage (default: the run folder's name).")
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Random seed (default 0): same seed, data and trials give the same results."),
    ] = None,
    n_jobs: Annotated[
        int, typer.Option(help="Worker processes on this machine, each running trials.", min=1)
    ] = 1,
    country: Annotated[
        str | None,
        typer.Option(
            help="3-letter code of the country whose electricity turns energy into CO2 (default USA)."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the run in --out: finished trials are kept, the rest of the time budget is used.",
        ),
    ] = False,
    weight_column: Annotated[
        str | None,
        typer.Option(
            help="A column of sample weights: how much each row counts in every fit and score (not a feature)."
        ),
    ] = None,
    group_column: Annotated[
        str | None,
        typer.Option(
            help="A column of group labels (a customer, a patient): no fold splits a group (not a feature)."
        ),
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option(
            help="A column of dates or times: validate forward in time (each model scored on rows later than "
            "it trained on)."
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only errors: no progress, no summary.")
    ] = False,
    mlflow: Annotated[
        str | None,
        typer.Option(
            "--mlflow",
            help="Also log the search to this MLflow tracking URI (sqlite:///mlflow.db, http://host:5000): "
            'settings, score, energy, the report and the model. Needs: pip install ".[mlflow]".',
        ),
    ] = None,
) -> None:
    """Search for the best model to predict TARGET from the other columns of DATA.

    Writes a run folder with the chosen model (model.joblib), report.html, leaderboard.csv (every trial),
    pareto_front.csv (the best accuracy for each energy cost), run.json (settings, versions, times) and the
    search's database (study.db). Ctrl-C stops early and still saves the best model found so far; run the
    same command again (or add --resume) to continue.
    """
    budget = parse_duration(time_budget) if time_budget is not None else None
    EnergyAmount(none=True).check("--energy-budget", energy_budget)
    if mlflow is not None:
        require_mlflow()
    folder = RunFolder(out or Path("runs") / data.stem)
    previous = folder.read() if folder.exists() else None
    if resume and previous is None:
        raise ConfigError(f"--resume: {folder.path} holds no run to continue; drop --resume to start one")
    settings = _search_settings(
        previous,
        {
            "target": target,
            "preset": preset if Path(preset or "").suffix not in (".yaml", ".yml") else resolve_path(preset),
            "metric": metric,
            "families": _families(families),
            "search_space": resolve_path(search_space),
            "seed": seed,
            "country": country,
            "storage": storage,
            "study": study,
            "n_trials": n_trials,
            "energy_budget": energy_budget,
            "stop_when_converged": stop_when_converged,
            "weight_column": weight_column,
            "group_column": group_column,
            "time_column": time_column,
            "holdout": parse_holdout(holdout),
            "sensitive_features": _names("--sensitive-features", sensitive_features, "column names"),
            "calibration": calibration,
        },
    )
    workers.POOL.ensure(n_jobs)  # the worker processes start while the data is read
    dataset = Dataset.read(data, settings.target, settings)
    settings.data = str(dataset.path)
    if previous is not None:
        dataset.check_same(previous.data["fingerprint"], f"the run in {folder.path}")
        if previous.status == "complete" and budget is None and n_trials is None:
            _out().print(
                f"{folder.path} is complete (its time budget is spent); give --time-budget or --n-trials to "
                "search longer."
            )
            return
    task, scorer = _plan(settings, dataset)
    study_obj, storage_obj, storage_url = _open_search_study(settings, folder, dataset)
    if previous is not None:
        previous.close_killed(study_obj)
        if (
            settings.storage is None
        ):  # a shared study may have live workers: its heartbeats recover their trials
            recover_interrupted(study_obj, storage_obj)
    budget = session_budget(
        settings, budget, load_preset(settings.preset).time_budget, previous.used_seconds if previous else 0.0
    )

    study_obj.set_user_attr(
        "automl",
        {"settings": {**settings.as_dict(), "storage": None}, "data": dataset.describe(), "task": task},
    )
    record = RunRecord(
        settings=Settings.from_dict(
            {**settings.as_dict(), "storage": settings.storage and redact(settings.storage)}
        ),
        data=dataset.describe(),
        sessions=[*(previous.sessions if previous else []), Session(now(), budget)],
        task=task,
        metric=scorer.name,
    )
    folder.write(record)
    model = _estimator(
        settings,
        task,
        time_budget=budget,
        storage=storage_url,
        study=study_obj.study_name,
        n_jobs=n_jobs,
        mlflow=mlflow,
    )
    progress = SearchProgress(
        storage_url,
        study_obj.study_name,
        scorer,
        budget=budget,
        n_trials=settings.n_trials,
        quiet=quiet,
        title=f"automl search {data.name} -> {folder.path}  (preset {Path(settings.preset).stem}, {task}, "
        f"{scorer.display_name})",
    )
    resume_hint = f"automl search {shlex.quote(str(data))} --out {shlex.quote(str(folder.path))} --resume"
    with StopRequests() as stop:
        stop.on_quit = progress.restore_terminal
        try:
            with progress:
                model.fit(dataset.X, dataset.y, sample_weight=dataset.weights, groups=dataset.groups)
        except (KeyboardInterrupt, SearchError) as exc:
            _end_session(folder, record, "interrupted" if stop.signal else "failed")
            if stop.signal is None:
                raise
            typer.echo(
                f"interrupted before a model could be saved ({exc or 'during the search'}); resume with:\n  "
                f"{resume_hint}",
                err=True,
            )
            raise typer.Exit(stop.exit_code) from None
        with stop.shield():
            _save_run(
                folder, record, model, "interrupted" if model.interrupted_ or stop.signal else "complete"
            )
    if not quiet:
        _print_summary(model, folder, scorer)
    if record.status == "interrupted":
        typer.echo(f"The search was stopped early; continue it with:\n  {resume_hint}", err=True)
        raise typer.Exit(stop.exit_code or 130)


def _search_settings(previous: RunRecord | None, given: dict[str, Any]) -> Settings:
    """A new run's settings from the command line; a resumed run's from run.json, with what may change."""
    if previous is None:
        if given["target"] is None:
            raise ConfigError("--target is required: name the column to predict")
        return Settings(data="", **{k: v for k, v in given.items() if v is not None})
    settings = previous.settings.resumed(**given)
    if "***" in (settings.storage or ""):
        raise ConfigError(
            f"this run's study is in {settings.storage}; give --storage with its password again (run.json "
            "keeps no passwords)"
        )
    return settings


def _open_search_study(
    settings: Settings, folder: RunFolder, dataset: Dataset
) -> tuple[optuna.Study, optuna.storages.BaseStorage, str]:
    """The study, its storage and its URL; a shared server is reached before the run folder is created."""
    name = settings.study = settings.study or folder.path.resolve().name
    if settings.storage is None:
        folder.path.mkdir(parents=True, exist_ok=True)
    url = settings.storage or sqlite_url(folder.study_db)
    study, storage = _open_study(url, name, create=True)
    _check_study_data(study, dataset)
    folder.path.mkdir(parents=True, exist_ok=True)
    return study, storage, url


def _end_session(folder: RunFolder, record: RunRecord, status: str) -> None:
    record.sessions[-1].ended_at = now()
    record.sessions[-1].status = record.status = status
    folder.write(record)


def _save_run(folder: RunFolder, record: RunRecord, model: Any, status: str) -> None:
    """Model, tables and report, then run.json last: a run.json saying "complete" means the rest is there."""
    folder.save_model(model)
    folder.write_tables(model)
    model.report(folder.report)
    board = model.leaderboard_
    record.chosen = _chosen(model)
    record.selection = dict(model.selection_)
    record.energy_method = model.energy_method_
    record.stop_reason, record.stop_detail = model.stop_reason_, model.stop_detail_
    record.peak_memory_mb = model.peak_memory_mb_
    record.holdout = _held_out(model)
    record.totals = {
        "trials": len(board),
        **{state: int((board.state == state).sum()) for state in ("complete", "pruned", "fail")},
        "fit_seconds": model.fit_seconds_,
        "search_energy_kwh": model.search_energy_.energy_kwh,
        "refit_energy_kwh": model.refit_energy_.energy_kwh,
        "energy_kwh": model.total_energy_.energy_kwh,
        "co2_kg": model.total_energy_.co2_kg,
    }
    _end_session(folder, record, status)


def _held_out(model: Any) -> dict[str, Any] | None:
    """The held-out score for run.json, with the metric as people quote it beside the internal scores."""
    held, metric = getattr(model, "holdout_", None), model.metric_  # a model saved before holdout= has none
    if held is None:
        return None
    return {
        **held.as_dict(),
        metric.display_name: metric.display(held.score),
        f"cv {metric.display_name}": metric.display(held.cv_score),
    }


def _chosen(model: Any) -> dict[str, Any]:
    chosen = model.chosen_.as_dict()
    chosen[model.metric_.display_name] = model.metric_.display(model.chosen_.score)
    return chosen


def _describe(chosen: Candidate) -> str:
    if chosen.is_ensemble:
        *others, last = [str(n) for n in chosen.members]
        return f"an ensemble of trials {', '.join(others)} and {last}"
    return f"{chosen.family} (trial {chosen.number})"


def _print_summary(model: Any, folder: RunFolder, scorer: Metric) -> None:
    console = _out()
    chosen = model.chosen_
    board = model.leaderboard_
    counts = board.state.value_counts()
    console.print(
        f"Chosen: {_describe(chosen)}; {scorer.display_name} {scorer.display(chosen.score):.4g} by cross-validation; "
        f"trained with {energy(chosen.energy_kwh)}."
    )
    if model.holdout_ is not None:
        held = model.holdout_
        console.print(
            f"Held out: {scorer.display_name} {scorer.display(held.score):.4g} on {held.rows:,} test rows the search "
            f"never saw{' (differs from cross-validation beyond its spread)' if held.suspicious else ''}."
        )
    console.print(
        f"Trials: {counts.get('complete', 0)} done, {counts.get('pruned', 0)} pruned, {counts.get('fail', 0)} failed; "
        f"{clock(model.fit_seconds_)}, {energy(model.total_energy_.energy_kwh)} "
        f"({'measured' if model.energy_method_['measured'] else 'estimated'})."
    )
    console.print(
        f"Run folder: {folder.path} (model.joblib, report.html, leaderboard.csv, pareto_front.csv, run.json)"
    )
    console.print(f"Next: automl predict {folder.path} NEW_DATA.csv -o predictions.csv")


# ---- worker --------------------------------------------------------------------------------------


@app.command()
@_reports_errors
def worker(
    storage: Annotated[
        str,
        typer.Option(
            help="The shared storage of the study, e.g. postgresql://user@host/db.", show_default=False
        ),
    ],
    study: Annotated[str, typer.Option(help="The name of the study to join.", show_default=False)],
    data: Annotated[
        Path | None,
        typer.Option(
            help="The data file, if it is not at the path recorded by `automl search` on this machine."
        ),
    ] = None,
    n_jobs: Annotated[int, typer.Option(help="Worker processes on this machine.", min=1)] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Join a running search from another machine (or another terminal) and run its trials.

    The search must have been started with `automl search ... --storage URL` (its study is named after
    the run folder, or by --study). The worker reads the same data (the path recorded in the study) and
    runs trials until the search's time budget or trial count is used up; the machine that started the
    search chooses and saves the model.

    **Example**

    ```
    automl search churn.csv -t churned --storage postgresql://db/automl
    automl worker --storage postgresql://db/automl --study churn
    ```
    """
    shared, _ = _open_study(storage, study, create=False)
    recorded = shared.user_attrs.get("automl")
    if not recorded:
        raise ConfigError(
            f"study {study!r} was not started by `automl search`; start it with `automl search ... --storage "
            f"URL --study {study}`"
        )
    settings = Settings.from_dict(recorded["settings"])
    dataset = Dataset.read(data or settings.data, settings.target, settings)
    _check_study_data(shared, dataset)
    task, scorer = _plan(settings, dataset)
    model = _estimator(settings, task, time_budget=None, storage=storage, study=study, n_jobs=n_jobs)
    deadline = shared.user_attrs.get("deadline_at")
    with StopRequests() as stop:
        progress = SearchProgress(
            storage,
            study,
            scorer,
            title=f"automl worker on study {study!r} ({dataset.path.name}, {task})",
            budget=None if deadline is None else max(deadline - time.time(), 0.0),
            n_trials=settings.n_trials,
            quiet=quiet,
        )
        stop.on_quit = progress.restore_terminal
        try:
            with progress:
                finished = model.join(
                    dataset.X, dataset.y, sample_weight=dataset.weights, groups=dataset.groups
                )
        except KeyboardInterrupt:  # stopped before its trials began; nothing of its own to keep
            raise typer.Exit(stop.exit_code) from None
    if not quiet:
        _out().print(
            f"worker {socket.gethostname()}:{os.getpid()} finished {finished} trial(s) on study {study!r}"
        )
    if stop.signal:
        raise typer.Exit(stop.exit_code)


# ---- using a run ---------------------------------------------------------------------------------


@app.command()
@_reports_errors
def predict(
    run: Annotated[
        Path, typer.Argument(help="The run folder of a search (e.g. runs/churn).", show_default=False)
    ],
    data: Annotated[
        Path,
        typer.Argument(
            help="The rows to predict: a CSV or Parquet file with the same columns (the target column may be absent).",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the predictions to this file: .csv, .parquet (or .pq) or .json, by its suffix "
            "(default: print them as CSV).",
        ),
    ] = None,
    proba: Annotated[
        bool, typer.Option("--proba", help="Also give each class's probability (classification only).")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also give each column's contribution (SHAP value) to each prediction; needs shap: pip install shap.",
        ),
    ] = False,
    id_column: Annotated[
        str | None,
        typer.Option(
            "--id-column",
            help="A column of the input that names each row; it is copied into the output as its first column.",
        ),
    ] = None,
) -> None:
    """Predict the target for new rows with the model a search chose.

    The output has one row per input row, in the same order: the --id-column if given, a `prediction`
    column, with --proba one `proba_<class>` column per class, and with --explain a `base_value` and one
    `contribution_<column>` column per column (per class and column for a multiclass run:
    `base_value_<class>`, `contribution_<class>_<column>`), which add up to the probability of the
    positive class, of each class, or to the predicted value. A Parquet input's own index (one that is
    not just 0, 1, 2, ...) is kept as the output's index.
    """
    writer = _table_writer(output)
    folder = RunFolder(run)
    record = folder.read()
    model = folder.load_model()
    frame = read_table(data)
    X = frame.drop(columns=[record.settings.target, *record.settings.row_columns], errors="ignore")
    if id_column is not None:
        if id_column not in frame.columns:
            raise ConfigError(
                f"--id-column {id_column!r} is not a column of {data}; its columns are {list(frame.columns)[:20]}"
            )
        if id_column not in model.feature_names_in_:  # a column the model was fitted with stays in its input
            X = X.drop(columns=id_column, errors="ignore")
    if proba:
        if not hasattr(model, "predict_proba"):
            raise ConfigError(f"--proba needs a classification run; {run} predicts numbers (regression)")
        probabilities = model.predict_proba(X)
        table = pd.DataFrame(probabilities, columns=[f"proba_{c}" for c in model.classes_], index=frame.index)
        table.insert(0, "prediction", model.classes_[probabilities.argmax(axis=1)])
    else:
        table = pd.DataFrame({"prediction": model.predict(X)}, index=frame.index)
    if explain:
        contributions = _contributions(model.explain(X.reset_index(drop=True)))
        table = pd.concat([table, contributions.set_axis(table.index)], axis=1)
    if id_column is not None:
        table.insert(0, id_column, frame[id_column])
    writer(table, sys.stdout if output is None else output)
    if output is not None:
        typer.echo(f"wrote {len(table)} predictions to {output}", err=True)


def _has_own_index(table: pd.DataFrame) -> bool:
    return not isinstance(table.index, pd.RangeIndex) or not table.index.equals(pd.RangeIndex(len(table)))


def _write_csv(table: pd.DataFrame, target: Any) -> None:
    table.to_csv(target, index=_has_own_index(table))


def _write_parquet(table: pd.DataFrame, path: Any) -> None:
    table.to_parquet(path, index=_has_own_index(table))


def _write_json(table: pd.DataFrame, path: Any) -> None:
    (table.reset_index() if _has_own_index(table) else table).to_json(path, orient="records", indent=1)


#: A writer takes the table and a path (or, for CSV, the open stdout).
_WRITERS: dict[str, Callable[[pd.DataFrame, Any], None]] = {
    ".csv": _write_csv,
    ".parquet": _write_parquet,
    ".pq": _write_parquet,
    ".json": _write_json,
}


def _table_writer(output: Path | None) -> Callable[[pd.DataFrame, Any], None]:
    """How to write ``output``, by its suffix; checked before any work is done."""
    if output is None:
        return _write_csv
    writer = _WRITERS.get(output.suffix.lower())
    if writer is None:
        raise ConfigError(
            f"cannot tell the format of {output} from its suffix; name it .csv, .parquet, .pq or .json"
        )
    return writer


@app.command("export")
@_reports_errors
def export_command(
    run: Annotated[Path, typer.Argument(help="The run folder of a search.", show_default=False)],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="skops (loads safely, with automl.export.load), onnx (for onnxruntime; its input is the encoded "
            "float32 matrix) or joblib.",
        ),
    ] = "skops",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The file to write (default: model.<format> in the run folder)."),
    ] = None,
) -> None:
    """Export the chosen model for inference elsewhere: column alignment, model, labels and smoothing in one file.

    Needs the export extra: pip install ".[export]".

    **Example**

    ```
    automl export runs/churn --format onnx -o churn.onnx
    ```
    """
    folder = RunFolder(run)
    folder.read()
    path = folder.load_model().export(output or folder.path / f"model.{format}", format=format)
    typer.echo(f"wrote {path}")


def _contributions(explanation: Explanation) -> pd.DataFrame:
    """An explanation as flat columns: ``base_value`` and ``contribution_<column>`` (per class for several)."""
    values, base_value = explanation.values, explanation.base_value
    if isinstance(base_value, pd.Series):
        base = pd.DataFrame({f"base_value_{c}": [v] * len(values) for c, v in base_value.items()})
        flat = values.set_axis([f"contribution_{c}_{name}" for c, name in values.columns], axis=1)
    else:
        base = pd.DataFrame({"base_value": [base_value] * len(values)})
        flat = values.add_prefix("contribution_")
    return pd.concat([base, flat], axis=1)


@app.command()
@_reports_errors
def report(
    run: Annotated[Path, typer.Argument(help="The run folder of a search.", show_default=False)],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Where to write the HTML report (default: report.html in the run folder)."
        ),
    ] = None,
) -> None:
    """Write the HTML report of a run again: leaderboard, accuracy-vs-energy front, chosen model. Opens offline."""
    folder = RunFolder(run)
    folder.read()
    path = folder.load_model().report(output or folder.report)
    typer.echo(f"wrote {path}")


@app.command()
@_reports_errors
def select(
    run: Annotated[Path, typer.Argument(help="The run folder of a search.", show_default=False)],
    rule: Annotated[
        str,
        typer.Option(
            help="best: the most accurate model; cheapest_within: the cheapest one within --tolerance of the "
            "best; knee: the best trade-off."
        ),
    ] = "best",
    tolerance: Annotated[
        float,
        typer.Option(
            help="For cheapest_within: how much worse than the best is acceptable, as a fraction (0.005 = 0.5%).",
            min=0,
        ),
    ] = 0.005,
    cost: Annotated[
        str | None,
        typer.Option(help="What 'cheap' means: energy, fit_time, latency or size. Default: the run's."),
    ] = None,
    trial: Annotated[
        int | None, typer.Option(help="Choose this trial of the Pareto front by number instead of by a rule.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="The training data, if it moved from the path recorded in run.json.")
    ] = None,
) -> None:
    """Choose another model from the run's Pareto front and refit it, without searching again.

    The Pareto front holds the models no other model beats on both accuracy and cost. This command picks
    one by a rule, refits it on all rows, and rewrites the model, pareto_front.csv, report.html and run.json.
    """
    folder = RunFolder(run)
    record = folder.read()
    model = folder.load_model()
    dataset = Dataset.read(data or record.settings.data, record.settings.target, record.settings)
    dataset.check_same(record.data["fingerprint"], f"the run in {folder.path}")
    before = model.chosen_
    model.select(
        rule,
        tolerance=tolerance,
        cost=cost,
        trial=trial,
        X=dataset.X,
        y=dataset.y,
        sample_weight=dataset.weights,
    )
    folder.save_model(model)
    folder.write_tables(model)
    model.report(folder.report)
    record.chosen, record.selection = _chosen(model), dict(model.selection_)
    record.holdout = _held_out(model)
    folder.write(record)
    metric = model.metric_
    after = model.chosen_
    _out().print(
        f"Chosen: {_describe(after)}; {metric.display_name} {metric.display(after.score):.4g}; "
        f"trained with {energy(after.energy_kwh)}. Before: {_describe(before)}; "
        f"{metric.display_name} {metric.display(before.score):.4g}; {energy(before.energy_kwh)}."
    )


# ---- spaces and presets --------------------------------------------------------------------------

SearchSpaceOption = Annotated[
    Path | None,
    typer.Option("--search-space", help="A search-space YAML file or folder instead of the built-in one."),
]


@spaces_app.command("list")
@_reports_errors
def spaces_list(search_space: SearchSpaceOption = None) -> None:
    """List the model families, the tasks they do and how many settings each one searches."""
    table = Table("family", "tasks", "settings", "what it is", box=None, show_edge=False)
    for family in load_spaces(search_space).values():
        table.add_row(family.name, ", ".join(family.tasks), str(len(family.params)), family.description)
    _out().print(table)


@spaces_app.command("show")
@_reports_errors
def spaces_show(
    family: Annotated[str, typer.Argument(help="The family's name, e.g. lightgbm.", show_default=False)],
    search_space: SearchSpaceOption = None,
) -> None:
    """Print a family's YAML search space: the model, its settings and their ranges."""
    spaces = load_spaces(search_space)
    if family not in spaces:
        close = difflib.get_close_matches(family, list(spaces), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown family {family!r}; {hint}available families: {', '.join(spaces)}")
    source = spaces[family].source
    console = _out()
    console.print(f"# {source}")
    console.print(Syntax(source.read_text(), "yaml", theme="ansi_dark", background_color="default"))


@spaces_app.command("validate")
@_reports_errors
def spaces_validate(
    path: Annotated[
        Path, typer.Argument(help="A search-space YAML file, or a folder of them.", show_default=False)
    ],
) -> None:
    """Check a search-space file or folder; errors name the file and the key at fault."""
    spaces = load_spaces(path)
    _out().print(
        f"ok: {path} defines {len(spaces)} famil{'y' if len(spaces) == 1 else 'ies'}: "
        + ", ".join(
            f"{f.name} ({len(f.params)} setting{'' if len(f.params) == 1 else 's'})" for f in spaces.values()
        )
    )


@app.command()
@_reports_errors
def presets() -> None:
    """List the presets: ready-made search settings, picked with `automl search --preset NAME`."""
    table = Table("preset", "time budget", "what it is for", box=None, show_edge=False)
    for name, preset in available_presets().items():
        budget = clock(preset.time_budget) if preset.time_budget else "none"
        table.add_row(name + (" (default)" if name == "balanced" else ""), budget, preset.description)
    _out().print(table)
    _out().print(
        "Your own preset: copy one of these YAML files, edit it and pass its path, e.g. --preset my_preset.yaml"
    )


if __name__ == "__main__":
    app(prog_name="automl")
