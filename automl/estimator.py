"""The scikit-learn estimators ``AutoMLClassifier`` and ``AutoMLRegressor``, and ``fit()``.

``fit`` reads as four steps: validate the arguments and the data, search (``search.run_search``),
choose a candidate on the Pareto front, refit it on all rows; the fitted attributes are set
together at the end.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING, Any, ClassVar

import joblib
import numpy as np
import optuna
import pandas as pd
from rich.console import Console
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import estimator_html_repr
from sklearn.utils.validation import check_is_fitted

from automl import data as data_module
from automl import fairness, validation, workers
from automl import holdout as holdout_module
from automl.calibration import CALIBRATION_METHODS, CalibrationResult, Calibrator, calibrate
from automl.candidates import Candidate
from automl.choice import Refit, RefitJob, choose, front_of, on_front, refit
from automl.costs import COSTS
from automl.deadline import Deadline
from automl.energy import DEFAULT_COUNTRY, Energy, check_country
from automl.ensemble import EnsembleModel, blend, ensemble_candidate
from automl.errors import ConfigError, DataError, SearchError
from automl.export import FORMATS, InferenceModel, inference_model
from automl.export import export as export_model
from automl.memory import default_limit_mb
from automl.metrics import Metric, check_metric, get_metric
from automl.notebook import shown_logs, summary_html
from automl.objective import Problem
from automl.params import (
    Anything,
    Constraint,
    EnergyAmount,
    Flag,
    Holdout,
    Jobs,
    MemoryAmount,
    Names,
    Number,
    OneOf,
    Splits,
    Text,
    validate,
)
from automl.presets import COST, N_TRIALS, SELECTION, TIME_BUDGET, TOLERANCE, Preset, load_preset
from automl.progress import SearchProgress
from automl.sampling import left_out
from automl.search import (
    SearchPlan,
    SearchResult,
    causes,
    join_search,
    record_choice,
    run_search,
    thread_speedup,
    trial_refit_seconds,
)
from automl.smoothing import laplace_weight, smooth
from automl.spaces import FamilySpace, Spaces, load_spaces, select_families
from automl.stopping import StopRule
from automl.storage import open_storage
from automl.tasks import CLASSIFICATION_TASKS, REGRESSION, TASKS, is_regression
from automl.tracking import log_search, no_autologging, require_mlflow

if TYPE_CHECKING:
    from automl.explain import Explanation

logger = logging.getLogger("automl")

#: Above this many rows a preset's folds are capped, so the budget buys more trials.
LARGE_DATA_ROWS = 10_000
LARGE_DATA_FOLDS = 3
#: Below this many rows a model is trained on one thread (a random forest of 100 trees on 1,000 rows:
#: 0.36 s on one thread, 0.41 s on two, on the 2-core benchmark machine).
SMALL_DATA_ROWS = 2000
#: The final refit may run past the budget by this fraction of it (the promise is 1.1x + 5 s).
REFIT_GRACE = 0.05
#: A refit on all rows is expected to take this much longer than the last one, per row.
REFIT_MARGIN = 1.3
#: Training rows kept with a fitted model: the background that linear and sampled explanations compare with.
BACKGROUND_ROWS = 100


@dataclass(frozen=True)
class _Settings:
    """The arguments of one ``fit``, checked and resolved against the preset."""

    preset: Preset
    time_budget: float | None
    n_trials: int | None
    cv: int
    #: ``"time"``, a scikit-learn splitter or the user's splits, instead of ``cv`` shuffled folds.
    splitter: Any
    selection: dict[str, Any]
    cost: str
    spaces: Spaces
    n_jobs: int
    stop: StopRule
    energy_budget_kwh: float | None
    memory_limit_mb: float
    holdout: float | str | None


@dataclass(frozen=True)
class _Training:
    """The validated training data: the frame, its schema, the task and the encoded target."""

    frame: pd.DataFrame
    schema: data_module.Schema
    task: str
    metric: Metric
    y: np.ndarray
    label_encoder: LabelEncoder | None
    weights: np.ndarray | None = None
    groups: np.ndarray | None = None
    time_order: np.ndarray | None = None

    def features(self) -> pd.DataFrame:
        return data_module.encode(self.frame, self.schema)

    def rows(self, rows: np.ndarray) -> _Training:
        """The same data restricted to ``rows`` (sorted positions); the time order is that of the rows kept."""
        order = None
        if self.time_order is not None:
            rank = np.empty(len(self.y), dtype=int)
            rank[self.time_order] = np.arange(len(self.y))
            order = np.argsort(rank[rows], kind="stable")
        return replace(
            self,
            frame=self.frame.iloc[rows].reset_index(drop=True),
            y=self.y[rows],
            weights=None if self.weights is None else self.weights[rows],
            groups=None if self.groups is None else self.groups[rows],
            time_order=order,
        )


class _AutoML(BaseEstimator):
    """Searches model families and hyperparameters, then refits the chosen model on all data.

    Parameters
    ----------
    preset : str or path, default="balanced"
        ``fast``, ``balanced``, ``best``, ``green``, or a preset YAML file: the families, folds,
        pruner, sampler, selection rule and default budget of the search.
    time_budget : float, optional
        Seconds the search (and its final refit) may take; default: the preset's.
    n_trials : int, optional
        Stop after this many finished trials.
    metric : str, scorer or callable, optional
        A scikit-learn scorer name (``"roc_auc"``, ``"neg_log_loss"``, ``"rmse"``, ...), default per task.
        Also a scorer from ``sklearn.metrics.make_scorer`` or a function ``f(y_true, y_pred) -> float``
        (greater is better, scored on predicted labels; use ``make_scorer`` for a loss or probabilities).
    cv : int, "time", splitter or list of splits, optional
        Cross-validation folds (at least 2), default the preset's (capped at 3 above 10,000 rows);
        ``"time"``: forward-chaining splits on row order (or ``time_column``), each validated on later
        rows than it trained on; or any scikit-learn splitter, or a list of (train, validation) index pairs.
    time_column : str, optional
        With ``cv="time"``: the column of X (dates or numbers) that orders the rows.
    families : list of str, optional
        Only these model families (``automl spaces list``).
    search_space : str or path, optional
        A search-space YAML file or folder instead of the built-in one.
    storage, study_name : str, optional
        A shared Optuna study (``sqlite:///...``, ``postgresql://...``) that other processes can join.
    selection : {"best", "cheapest_within", "knee"}, optional
        The rule that chooses on the Pareto front; default: the preset's.
    tolerance : float, optional
        For ``cheapest_within``: how much worse than the best score is acceptable, as a fraction.
    cost : {"energy", "fit_time", "latency", "size"}, optional
        What the Pareto front trades the score against; default: the preset's.
    task : {"binary", "multiclass", "regression"}, optional
        The task, when it should not be inferred from ``y``.
    seed : int or None, default=0
        Seeds the folds, the sampler and every model.
    n_jobs : int, default=1
        Worker processes running trials; -1 for one per core.
    stop_when_converged : bool, optional
        Stop before the time budget once more search does not pay (neither the best trial nor the
        ensemble improves beyond its noise for a while); default: the preset's (all but ``best``).
    energy_budget : float or str, optional
        Stop when the trials' energy (and the final refit's) reaches this many Wh (``0.5``, ``"500mWh"``).
    memory_limit : float or str, optional
        The memory the search's processes may use together, in MB (``8000``) or with a unit (``"8GB"``);
        default: 75% of the machine's. A trial expected to need more than its share is skipped, and a
        worker that grows past the limit is stopped.
    country : str, default="USA"
        The 3-letter ISO code of the electricity mix that turns energy into CO2.
    holdout : float, "auto" or None, default="auto"
        The share of the rows withheld before the search as test rows (stratified by class), on
        which the chosen model is scored once after its refit; ``"auto"``: 20% on tables of more
        than 5,000 rows, none below; ``None`` or 0: none. Not the validation holdout that
        replaces k-fold on large tables (a preset's ``holdout_above``).
    refit_full : bool, default=True
        With test rows: once they are scored, refit the chosen model on all rows, test rows
        included, when the time budget leaves room for it (``holdout_.refit_on_all_rows`` says
        whether it did); False returns the model that was scored.
    sensitive_features : list of str, optional
        Columns of X to audit the chosen model's out-of-fold predictions by, each on its own
        (``fairness_``); they stay features of the model. Needs fairlearn (``pip install ".[fairness]"``).
    calibration : {"isotonic", "sigmoid"}, optional
        For a binary task: a map of the positive class's probability fitted on the chosen model's
        out-of-fold predictions, applied by ``predict_proba`` only when it lowers their
        (cross-fitted) log loss; ``calibration_`` says whether it was kept.
    mlflow : str, optional
        An MLflow tracking URI (``file:./mlruns``, ``http://host:5000``, ``sqlite:///mlflow.db``): the search
        is logged there as one run (settings, score, energy, CO2, time, the report and tables, and the
        chosen model as a pyfunc model). Needs the ``mlflow`` extra. automl's own fits are never
        recorded by ``mlflow.sklearn.autolog()``.
    verbose : bool, default=False
        Show the search's progress live (trials, best score, time, energy), in a terminal or a Jupyter
        notebook, and automl's log lines (columns not used, families left out, why the search stopped,
        the choice) unless logging is configured already; they go to the ``automl`` logger either way.

    Attributes
    ----------
    model_ : estimator
        The chosen model refitted on all rows (a pipeline, or an ``EnsembleModel``).
    chosen_ : Candidate
        The chosen point of the front: its members, score and costs.
    best_params_ : dict
        The chosen family and parameters (an ensemble lists its members and weights).
    leaderboard_ : DataFrame
        Every trial: family, state, score, costs, parameters, and why it was pruned or failed.
    candidates_ : DataFrame
        Every model the choice was made among: the complete trials, and the ensemble if one was built.
    pareto_front_ : DataFrame
        The candidates no other beats on both score and cost, best score first.
    study_ : optuna.Study
        The search's study, held in memory.
    search_energy_, refit_energy_, total_energy_ : Energy
        Energy and CO2 of the search, of the final refit and of both.
    energy_method_ : dict
        How the energy was obtained (measured or estimated) and with what.
    stop_reason_ : str
        Why the search stopped: ``time budget``, ``trial count``, ``converged``, ``energy budget`` or
        ``interrupted``; ``stop_detail_`` says it in a sentence.
    peak_memory_mb_ : float
        The largest memory of the search's processes together (this one and its workers).
    holdout_score_ : float or None
        The chosen model's score on the test rows (higher is better, as ``chosen_.score``); None
        without test rows.
    holdout_ : HoldoutResult or None
        The test rows' count and share, the held-out score beside the cross-validation score and
        spread, and the best single trial's held-out score when an ensemble was chosen.
    calibration_ : CalibrationResult or None
        With ``calibration``: the method, whether it was kept, and the out-of-fold log loss without
        it and (cross-fitted) with it.
    fairness_ : DataFrame or None
        With ``sensitive_features``: per (column, group) the rows, the task metric, accuracy,
        selection rate and true/false positive rates (binary), or mean and absolute error
        (regression), of the out-of-fold predictions, and a ``largest gap`` row per column.
    """

    _kinds: ClassVar[tuple[str, ...]] = TASKS
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        "preset": Anything(),
        "time_budget": TIME_BUDGET,
        "n_trials": N_TRIALS,
        "metric": Anything(),
        "cv": Splits(none=True),
        "time_column": Text(none=True),
        "families": Names(none=True),
        "search_space": Text(none=True, path=True),
        "storage": Text(none=True),
        "study_name": Text(none=True),
        "selection": replace(SELECTION, none=True),
        "tolerance": replace(TOLERANCE, none=True),
        "cost": replace(COST, none=True),
        "task": Anything(),
        "seed": Number(
            low=0, high=2**32 - 1, integer=True, none=True, what="a whole number from 0 to 2**32 - 1, or None"
        ),
        "n_jobs": Jobs(),
        "country": Text(),
        "stop_when_converged": Flag(none=True),
        "energy_budget": EnergyAmount(none=True),
        "memory_limit": MemoryAmount(none=True),
        "holdout": Holdout(),
        "refit_full": Flag(),
        "sensitive_features": Names(none=True),
        "calibration": OneOf(CALIBRATION_METHODS, none=True, what="calibration method"),
        "mlflow": Text(none=True),
        "verbose": Flag(),
    }

    def __init__(
        self,
        preset: str = "balanced",
        *,
        time_budget: float | None = None,
        n_trials: int | None = None,
        metric: Any = None,
        cv: Any = None,
        time_column: str | None = None,
        families: Sequence[str] | None = None,
        search_space: str | Path | None = None,
        storage: str | None = None,
        study_name: str | None = None,
        selection: str | None = None,
        tolerance: float | None = None,
        cost: str | None = None,
        task: str | None = None,
        seed: int | None = 0,
        n_jobs: int = 1,
        country: str = DEFAULT_COUNTRY,
        stop_when_converged: bool | None = None,
        energy_budget: float | str | None = None,
        memory_limit: float | str | None = None,
        holdout: float | str | None = "auto",
        refit_full: bool = True,
        sensitive_features: Sequence[str] | None = None,
        calibration: str | None = None,
        mlflow: str | None = None,
        verbose: bool = False,
    ) -> None:
        self.preset = preset
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.metric = metric
        self.cv = cv
        self.time_column = time_column
        self.families = families
        self.search_space = search_space
        self.storage = storage
        self.study_name = study_name
        self.selection = selection
        self.tolerance = tolerance
        self.cost = cost
        self.task = task
        self.seed = seed
        self.n_jobs = n_jobs
        self.country = country
        self.stop_when_converged = stop_when_converged
        self.energy_budget = energy_budget
        self.memory_limit = memory_limit
        self.holdout = holdout
        self.refit_full = refit_full
        self.sensitive_features = sensitive_features
        self.calibration = calibration
        self.mlflow = mlflow
        self.verbose = verbose

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> _AutoML:
        """Search, choose on the Pareto front, and refit the chosen model on all rows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Numeric, string, categorical, boolean, date and text columns; missing values allowed.
            A polars or pyarrow frame keeps its column names.
        y : array-like of shape (n_samples,)
            The target.
        sample_weight : array-like of shape (n_samples,), optional
            How much each row counts, in every fit and every score; a family whose fit takes no
            weights is left out (``left_out_families_``).
        groups : array-like of shape (n_samples,), optional
            Group labels (a customer, a patient): no fold splits a group.

        Returns
        -------
        self
        """
        console = Console(highlight=False) if self.verbose else None
        with no_autologging(), shown_logs(console) if console else nullcontext():
            self._fit(X, y, sample_weight, groups, console)
            if self.mlflow is not None:
                log_search(self, self.mlflow)
        return self

    def _fit(self, X: Any, y: Any, sample_weight: Any, groups: Any, console: Console | None) -> None:
        start = time.time()
        settings = self._settings()
        workers.POOL.ensure(settings.n_jobs)  # the workers start while the data is prepared
        everything = self._training(X, y, settings, sample_weight, groups)
        training, test = self._withhold(everything, settings)
        if self.calibration is not None and training.task != "binary":
            raise ConfigError(
                f"calibration={self.calibration!r} is for binary tasks; this one is {training.task}"
            )
        cv = self._folds(settings, training)
        deadline = Deadline(settings.time_budget, start)
        families, left_out = self._search_families(settings, training)
        problem = self._problem(training, settings, cv, families)
        with TemporaryDirectory(prefix="automl-") as scratch:
            folder = Path(scratch)
            problem.save(folder)
            plan = self._plan(settings, deadline, problem, len(everything.y) if test is not None else 0)
            if console is not None:
                plan = replace(plan, progress=_progress(console, problem, settings))
            result = run_search(problem, plan, folder)
            _log_outcome(result)
            if result.complete.empty:
                raise SearchError(_no_model_message(causes(result.study)))

            candidates = self._candidates(result, settings, problem, deadline, plan.refit_passes)
            front = front_of(candidates, COSTS[settings.cost].column)
            chosen = choose(
                front,
                settings.selection["rule"],
                COSTS[settings.cost].column,
                settings.selection["tolerance"],
            )
            refit_by = deadline.later(REFIT_GRACE * (settings.time_budget or 0)).at
            refit_started = time.time()
            refitted = workers.call(
                refit,
                RefitJob.of(
                    chosen,
                    result.leaderboard,
                    folder,
                    seed=self.seed,
                    threads=_refit_threads(len(problem.X)),
                    country=self.country,
                    deadline_at=refit_by,
                    grow_until=_grow_until(deadline, plan.refit_passes),
                ),
            )
        calibrator, calibration = self._calibration(training, problem, result, refitted.chosen)
        held = (
            None
            if test is None
            else _score_test(
                test, refitted.model, refitted.chosen, result.complete, len(problem.X), calibrator
            )
        )
        scored = refitted
        if held is not None and self.refit_full:
            on_all = self._refit_on_all_rows(
                everything,
                problem,
                result.leaderboard,
                refitted.chosen,
                refit_by,
                # The plan's further passes, in the scored refit's time (``SearchPlan.refit_passes``).
                (plan.refit_passes - 1) * (time.time() - refit_started),
                refitted.rounds,
            )
            if on_all is not None:  # its energy is spent on top of the scored model's
                refitted = replace(
                    on_all,
                    energy=scored.energy + on_all.energy,
                    overhead_seconds=scored.overhead_seconds + on_all.overhead_seconds,
                )
            held = replace(held, refit_on_all_rows=on_all is not None)

        record_choice(result.study, refitted.chosen)
        if self.storage:  # the stored study too: the record a dashboard or a later session reads
            stored = optuna.load_study(study_name=result.study.study_name, storage=open_storage(self.storage))
            record_choice(stored, refitted.chosen)
        self.schema_ = training.schema
        self.feature_names_in_ = np.asarray(training.schema.columns, dtype=object)
        self.n_features_in_ = len(training.schema.columns)
        self.task_, self.metric_ = training.task, training.metric
        if training.label_encoder is not None:
            self._label_encoder, self.classes_ = training.label_encoder, training.label_encoder.classes_
        self.cost_, self.selection_ = COSTS[settings.cost].column, settings.selection
        self.cv_, self.preset_, self.time_budget_ = (
            problem.validation.folds,
            settings.preset.name,
            settings.time_budget,
        )
        self.validation_ = problem.validation.describe()
        self.row_rungs_ = problem.validation.describe_rungs()
        self.oof_rows_ = problem.validation.scored
        self.families_ = list(problem.families)
        self.left_out_families_ = left_out
        self.forward_validated_ = problem.validation.forward
        self.weighted_ = training.weights is not None
        self.n_train_rows_ = len(problem.X) if refitted is scored else len(everything.y)
        self._train = (problem.X, problem.y, problem.weights)
        self._everything = None if refitted is scored else everything
        self._background = _background(problem.X, self.seed)
        self._spaces = settings.spaces
        self.study_, self.leaderboard_, self.oof_ = result.study, result.leaderboard, result.oof
        self.interrupted_, self.stop_reason_, self.stop_detail_ = (
            result.interrupted,
            result.stop_reason,
            result.stop_detail,
        )
        self.candidates_, self.pareto_front_ = pd.DataFrame([c.as_row() for c in candidates]), front
        self.model_, self.chosen_, self.best_params_ = refitted.model, refitted.chosen, refitted.best_params
        self.search_energy_ = Energy.total(result.leaderboard)
        self.refit_energy_ = refitted.energy
        self.total_energy_ = self.search_energy_ + refitted.energy
        self.energy_method_ = refitted.energy_method
        self.energy_overhead_seconds_ = result.overhead_seconds + refitted.overhead_seconds
        self.peak_memory_mb_ = result.peak_memory_mb
        self._test = test
        self.calibrator_, self.calibration_ = calibrator, calibration
        self.fairness_ = self._fairness(training, problem, result, refitted.chosen)
        self.holdout_ = held
        self.holdout_score_ = None if held is None else held.score
        self.fit_seconds_ = time.time() - start
        logger.info(
            "chosen: %s, %s %.4g by cross-validation",
            self.chosen_.label,
            self.metric_.display_name,
            self.metric_.display(self.chosen_.score),
        )

    def join(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> int:
        """Run trials on an existing shared study (``storage`` + ``study_name``) until its budget is spent.

        This is what extra machines do: no refit, no report; the process that started the
        study chooses and refits.

        Returns
        -------
        int
            The number of trials this process finished.
        """
        if not self.storage or not self.study_name:
            raise ConfigError("join() needs the storage URL and study_name of the study to join")
        settings = self._settings()
        workers.POOL.ensure(settings.n_jobs)
        training, _ = self._withhold(self._training(X, y, settings, sample_weight, groups), settings)
        cv = self._folds(settings, training)
        problem = self._problem(training, settings, cv, self._search_families(settings, training)[0])
        with TemporaryDirectory(prefix="automl-") as scratch:
            problem.save(Path(scratch))
            return join_search(self._plan(settings, Deadline(None), problem), Path(scratch))

    # ---- the steps of fit ------------------------------------------------------------------
    def _settings(self) -> _Settings:
        """The arguments checked against ``_parameter_constraints`` and resolved against the preset."""
        args = validate(self._parameter_constraints, self.get_params(deep=False))
        check_country(args["country"])
        if args["mlflow"] is not None:
            require_mlflow()  # before the search, not after it
        preset = load_preset(args["preset"])
        selection = {
            **preset.selection,
            **({"rule": args["selection"]} if args["selection"] else {}),
            **({"tolerance": args["tolerance"]} if args["tolerance"] is not None else {}),
        }
        selection.setdefault("tolerance", 0.005)
        return _Settings(
            preset=preset,
            time_budget=preset.time_budget if args["time_budget"] is None else args["time_budget"],
            n_trials=args["n_trials"] if args["n_trials"] is not None else preset.n_trials,
            cv=args["cv"] if isinstance(args["cv"], int) else preset.cv,
            splitter=None if isinstance(args["cv"], int) else args["cv"],
            selection=selection,
            cost=args["cost"] or preset.cost,
            spaces=load_spaces(args["search_space"]),
            n_jobs=args["n_jobs"],
            stop=preset.stop_rule
            if args["stop_when_converged"] is None
            else replace(preset.stop_rule, converge=args["stop_when_converged"]),
            energy_budget_kwh=args["energy_budget"],
            memory_limit_mb=args["memory_limit"] or default_limit_mb(),
            holdout=args["holdout"],
        )

    def _training(self, X: Any, y: Any, settings: _Settings, sample_weight: Any, groups: Any) -> _Training:
        X = data_module.tabular(X)
        frame = data_module.to_frame(X)
        target = data_module.to_target(y, len(frame))
        weights = data_module.to_weights(sample_weight, len(frame))
        group_labels = data_module.to_groups(groups, len(frame))
        if self.time_column is not None and settings.splitter != "time":
            raise ConfigError('time_column orders time-ordered folds; pass cv="time" with it')
        order = None if self.time_column is None else data_module.time_order(frame, self.time_column)
        if group_labels is not None and settings.splitter == "time":
            raise ConfigError('groups and cv="time" cannot be combined; give a splitter that does both as cv')
        schema = data_module.infer_schema(frame, from_array=not isinstance(X, pd.DataFrame))
        task = self._resolve_task(target)
        encoder = None if is_regression(task) else LabelEncoder().fit(target.to_numpy())
        encoded = target.to_numpy(dtype=float) if encoder is None else encoder.transform(target.to_numpy())
        if weights is not None and encoder is not None and len(np.unique(encoded[weights > 0])) < 2:
            raise DataError(
                "only one class has rows with a positive sample_weight; a classifier needs at least 2 classes"
            )
        metric = get_metric(self.metric, task)
        if encoder is not None:
            metric = metric.for_labels(encoder.classes_)
        check_metric(metric, task, encoded)
        fairness.check_columns(self.sensitive_features, schema.columns)
        for column, reason in schema.dropped.items():
            logger.warning("column %r is not used: %s", column, reason)
        if schema.infinite_cells:
            logger.warning("%d infinite values in numeric columns are read as missing", schema.infinite_cells)
        return _Training(frame, schema, task, metric, encoded, encoder, weights, group_labels, order)

    def _fairness(
        self, training: _Training, problem: Problem, result: SearchResult, chosen: Candidate
    ) -> pd.DataFrame | None:
        """The audit of the chosen model's out-of-fold predictions by each sensitive column, if any is named."""
        if not self.sensitive_features:
            return None
        predictions = _out_of_fold(result, chosen, "fairness audit")
        if predictions is None:
            return None
        scored = problem.validation.scored
        return fairness.audit(
            training.frame.iloc[scored].reset_index(drop=True),
            list(self.sensitive_features),
            training.y[scored],
            predictions,
            training.task,
            training.metric,
            None if training.weights is None else training.weights[scored],
        )

    def _calibration(
        self, training: _Training, problem: Problem, result: SearchResult, chosen: Candidate
    ) -> tuple[Calibrator | None, CalibrationResult | None]:
        """The calibration map of the chosen model's out-of-fold probabilities, when asked for and it helps."""
        if self.calibration is None:
            return None, None
        predictions = _out_of_fold(result, chosen, "calibration")
        if predictions is None:
            return None, None
        scored = problem.validation.scored
        weights = None if training.weights is None else training.weights[scored]
        return calibrate(
            self.calibration,
            training.y[scored],
            predictions,
            laplace_weight(len(problem.X)),
            self.seed,
            weights,
        )

    def _refit_on_all_rows(
        self,
        everything: _Training,
        problem: Problem,
        leaderboard: pd.DataFrame,
        chosen: Candidate,
        refit_by: float | None,
        expected_seconds: float,
        rounds: dict[int, int],
    ) -> Refit | None:
        """``chosen`` refit on every row, test rows included, with the ``rounds`` of the scored refit.

        An ensemble's members that would end past ``refit_by`` are left out; None when even its
        heaviest member would, all of them taking ``expected_seconds``.
        """
        heaviest = expected_seconds * heaviest_share(
            chosen, leaderboard, problem.validation.train_share, _refit_speedup(problem)
        )
        if refit_by is not None and time.time() + heaviest > refit_by:
            return None
        whole = replace(
            problem,
            X=everything.features(),
            y=everything.y,
            weights=everything.weights,
            validation=validation.Validation.all_rows(len(everything.y)),
        )
        return self._refit_in_worker(whole, chosen, leaderboard, refit_by, rounds)

    def _refit_in_worker(
        self,
        problem: Problem,
        chosen: Candidate,
        leaderboard: pd.DataFrame,
        deadline_at: float | None = None,
        rounds: dict[int, int] | None = None,
    ) -> Refit:
        """``chosen`` refit on all of ``problem``'s rows, in a worker process (``rounds``: as ``RefitJob.of``)."""
        with TemporaryDirectory(prefix="automl-") as scratch:
            problem.save(Path(scratch))
            job = RefitJob.of(
                chosen,
                leaderboard,
                Path(scratch),
                rounds,
                seed=self.seed,
                threads=_refit_threads(len(problem.y)),
                country=self.country,
                deadline_at=deadline_at,
            )
            refitted: Refit = workers.call(refit, job)
            return refitted

    def _withhold(self, training: _Training, settings: _Settings) -> tuple[_Training, _Training | None]:
        """The rows searched on, and the test rows withheld from the search (None when there are none).

        Splits given as ``cv`` index all the rows, so none are withheld from them.
        """
        splitter = settings.splitter
        if splitter is not None and splitter != "time" and not hasattr(splitter, "split"):
            if settings.holdout not in ("auto", None):
                raise ConfigError(
                    "holdout cannot withhold rows when cv gives the splits (they index every row); "
                    "leave test rows out of X yourself, or pass holdout=None"
                )
            return training, None
        share = holdout_module.resolve(settings.holdout, len(training.frame))
        if share is None:
            return training, None
        searched, test = holdout_module.split(
            training.y,
            share,
            not is_regression(training.task),
            self.seed,
            groups=training.groups,
            time_order=training.time_order,
        )
        return training.rows(searched), training.rows(test)

    def _folds(self, settings: _Settings, training: _Training) -> int:
        cv = settings.cv
        if settings.splitter is not None and settings.splitter != "time":
            return cv  # the user's splits are taken as they are
        if cv > len(training.frame):
            raise ConfigError(
                f"cv={cv} folds need at least {cv} rows, and X has {len(training.frame)}; give fewer folds"
            )
        if self.cv is None and len(training.frame) > LARGE_DATA_ROWS:
            cv = min(cv, LARGE_DATA_FOLDS)
        if not is_regression(training.task) and settings.splitter is None:
            smallest = int(np.bincount(training.y).min())
            if smallest < 2:
                raise DataError(
                    "a class has a single row; every class needs at least 2 rows for cross-validation"
                )
            cv = min(cv, smallest)
        return cv

    def _search_families(
        self, settings: _Settings, training: _Training
    ) -> tuple[list[FamilySpace], dict[str, str]]:
        """The families to search, and those left out with the reason: a missing package, or no sample weights."""
        families = select_families(
            settings.spaces, training.task, self._family_names(settings, training.task)
        )
        left_out = dict(settings.spaces.unavailable) if self.families is None else {}
        if training.weights is not None:
            unweighted = [f.name for f in families if not f.sample_weight]
            if len(unweighted) == len(families):
                raise ConfigError(
                    f"sample_weight was given, and no family asked for takes weights ({unweighted}); "
                    "add a family that does, such as 'lightgbm'"
                )
            for name in unweighted:
                left_out[name] = f"{name}'s fit takes no sample weights"
                logger.warning("family %r is left out: its fit takes no sample weights", name)
            families = [f for f in families if f.sample_weight]
        return families, left_out

    def _problem(
        self, training: _Training, settings: _Settings, cv: int, families: list[FamilySpace]
    ) -> Problem:
        X = training.features()
        holdout_above = settings.preset.holdout_above if self.cv is None else None
        return Problem(
            X=X,
            y=training.y,
            schema=training.schema,
            task=training.task,
            metric=training.metric,
            families={f.name: f for f in families},
            validation=validation.plan(
                training.y,
                training.task,
                cv,
                self.seed,
                holdout_above=holdout_above,
                splitter=settings.splitter,
                groups=training.groups,
                time_order=training.time_order,
                time_column=self.time_column,
                search_rows=settings.preset.search_rows,
            ),
            seed=self.seed,
            threads=_threads(len(X), settings.n_jobs),
            cost_penalty=settings.preset.cost_penalty,
            memory_share_mb=settings.memory_limit_mb / settings.n_jobs,
            weights=training.weights,
        )

    def _plan(
        self, settings: _Settings, deadline: Deadline, problem: Problem, all_rows: int = 0
    ) -> SearchPlan:
        """The search's plan; ``all_rows``: the rows refit on after the held-out score (0: none)."""
        again = REFIT_MARGIN * all_rows / len(problem.y) if all_rows and self.refit_full else 0.0
        return SearchPlan(
            preset=settings.preset,
            deadline=deadline,
            n_trials=settings.n_trials,
            train_share=problem.validation.train_share,
            row_rungs=len(problem.validation.row_rungs),
            storage=self.storage,
            study_name=self.study_name,
            n_jobs=settings.n_jobs,
            seed=self.seed,
            country=self.country,
            stop=settings.stop,
            energy_budget_kwh=settings.energy_budget_kwh,
            memory_limit_mb=settings.memory_limit_mb,
            refit_speedup=_refit_speedup(problem),
            refit_passes=1.0 + again,
        )

    def _candidates(
        self,
        result: SearchResult,
        settings: _Settings,
        problem: Problem,
        deadline: Deadline,
        refit_passes: float = 1.0,
    ) -> list[Candidate]:
        """The complete trials and, when the preset asks for one and it beats them, their ensemble.

        The ensemble's members must refit ``refit_passes`` times (``SearchPlan``) in the time left.
        """
        candidates = [Candidate.from_row(row) for row in result.complete.to_dict("records")]
        spec = settings.preset.ensemble
        if spec and not result.interrupted:
            allowance = (deadline.left() + REFIT_GRACE * (settings.time_budget or 0)) / refit_passes
            ensemble = ensemble_candidate(
                result.complete,
                result.oof.predictions,
                problem.y[problem.validation.scored],
                problem.metric,
                spec,
                lambda row: trial_refit_seconds(
                    row._asdict(), problem.validation.train_share, _refit_speedup(problem)
                ),
                allowance,
                problem.weight(problem.validation.scored),
            )
            if ensemble is not None:
                candidates.append(ensemble)
        return candidates

    def _family_names(self, settings: _Settings, task: str) -> list[str] | None:
        """The families asked for: by argument, else the preset's that do this task.

        A preset's list names built-in families, so it does not apply to a user's own search space.
        """
        if self.families is not None:
            return list(self.families)
        preset = settings.preset
        if preset.families is None or self.search_space is not None:
            return None
        spaces = settings.spaces
        unknown = [n for n in preset.families if n not in spaces and n not in spaces.unavailable]
        if unknown:
            raise ConfigError(
                f"preset '{preset.name}': unknown family {unknown[0]!r}; available families: {sorted(spaces)}"
            )
        return [n for n in preset.families if n in spaces and task in spaces[n].tasks]

    def _resolve_task(self, y: pd.Series) -> str:
        if self.task is not None and self.task not in self._kinds:
            raise ConfigError(
                f"unknown task {self.task!r} for {type(self).__name__}; choose one of {list(self._kinds)}"
            )
        task = self.task or data_module.infer_task(y, self._kinds)
        if task not in self._kinds:
            raise DataError(
                f"the target looks like a {task} task, which {type(self).__name__} does not do; "
                f"use {'AutoMLRegressor' if is_regression(task) else 'AutoMLClassifier'} or pass task="
            )
        data_module.check_target(y, task)
        return task

    # ---- choosing on the front --------------------------------------------------------------
    def select(
        self,
        rule: str = "best",
        *,
        tolerance: float = 0.005,
        cost: str | None = None,
        trial: int | None = None,
        X: Any = None,
        y: Any = None,
        sample_weight: Any = None,
    ) -> _AutoML:
        """Choose another point of the front (by rule, or by trial number) and refit it, without searching.

        Parameters
        ----------
        rule : {"best", "cheapest_within", "knee"}, default="best"
        tolerance : float, default=0.005
            For ``cheapest_within``: how much worse than the best is acceptable, as a fraction.
        cost : {"energy", "fit_time", "latency", "size"}, optional
            Draw the front over another cost first.
        trial : int, optional
            Choose this trial of the front instead of applying a rule.
        X, y, sample_weight : optional
            The training data (and its weights, if the search had them), needed by a model loaded
            from disk (which does not keep it).

        Returns
        -------
        self
        """
        check_is_fitted(self, "model_")
        args = validate(
            {
                "rule": SELECTION,
                "tolerance": TOLERANCE,
                "cost": replace(COST, none=True),
                "trial": Number(low=0, integer=True, none=True),
            },
            {"rule": rule, "tolerance": tolerance, "cost": cost, "trial": trial},
            where="select()",
        )
        if not hasattr(self, "_train"):
            if X is None or y is None:
                raise ConfigError(
                    "this model was loaded from disk without its training data; pass X and y to select()"
                )
            frame, target = data_module.to_frame(X), data_module.to_target(y, len(data_module.to_frame(X)))
            encoded = (
                target.to_numpy(dtype=float)
                if is_regression(self.task_)
                else self._label_encoder.transform(target)
            )
            weights = data_module.to_weights(sample_weight, len(frame))
            if (weights is not None) != getattr(self, "weighted_", False):
                raise ConfigError(
                    "pass sample_weight to select() exactly when the search had it: the refit must weight "
                    "rows as the search did"
                )
            self._train = (data_module.encode(frame, self.schema_), encoded, weights)
        if cost is not None:  # the front over another cost is drawn over the single trials
            self.cost_ = COSTS[args["cost"]].column
            complete = self.leaderboard_[self.leaderboard_.state == "complete"]
            self.pareto_front_ = front_of(
                [Candidate.from_row(r) for r in complete.to_dict("records")], self.cost_
            )
        if trial is not None:
            chosen = on_front(self.pareto_front_, trial)
            if chosen is None:
                numbers = [int(n) for n in self.pareto_front_["number"].dropna()]
                raise ConfigError(f"trial {trial} is not on the Pareto front; pick one of {numbers}")
        else:
            chosen = choose(self.pareto_front_, rule, self.cost_, tolerance)
        X_train, y_train, weights = self._train
        problem = Problem(
            X=X_train,
            y=y_train,
            schema=self.schema_,
            task=self.task_,
            metric=self.metric_,
            families={n: self._spaces[n] for n in self.families_},
            validation=validation.Validation.all_rows(len(y_train)),
            seed=self.seed,
            threads=1,
            weights=weights,
        )
        refitted = self._refit_in_worker(problem, chosen, self.leaderboard_)
        record_choice(self.study_, refitted.chosen)
        self.selection_ = {"rule": rule if trial is None else f"trial {trial}", "tolerance": tolerance}
        self.model_, self.chosen_, self.best_params_ = refitted.model, refitted.chosen, refitted.best_params
        self.refit_energy_ = refitted.energy
        self.total_energy_ = self.search_energy_ + refitted.energy
        self.calibrator_, self.calibration_ = self._recalibrate(refitted.chosen, y_train, weights)
        test = getattr(self, "_test", None)  # a loaded model does not keep its test rows
        complete = self.leaderboard_[self.leaderboard_.state == "complete"]
        self.holdout_ = (
            None
            if test is None
            else _score_test(test, refitted.model, refitted.chosen, complete, len(y_train), self.calibrator_)
        )
        everything = getattr(self, "_everything", None)
        if self.holdout_ is not None and everything is not None:  # the fit refit on all rows: so does this
            on_all = self._refit_on_all_rows(
                everything, problem, self.leaderboard_, refitted.chosen, None, 0.0, refitted.rounds
            )
            assert on_all is not None, "without a deadline the refit on all rows always runs"
            self.model_, self.chosen_, self.best_params_ = on_all.model, on_all.chosen, on_all.best_params
            self.refit_energy_ = refitted.energy + on_all.energy
            self.total_energy_ = self.search_energy_ + self.refit_energy_
            self.holdout_ = replace(self.holdout_, refit_on_all_rows=True)
        self.holdout_score_ = None if self.holdout_ is None else self.holdout_.score
        return self

    def _recalibrate(
        self, chosen: Candidate, y_train: np.ndarray, weights: np.ndarray | None
    ) -> tuple[Calibrator | None, CalibrationResult | None]:
        """The calibration map of a newly chosen candidate; none when the out-of-fold predictions are not at hand."""
        if self.calibration is None:
            return None, None
        oof = getattr(self, "oof_", None)  # not saved with a model
        if oof is None or any(n not in oof.predictions for n in chosen.members):
            logger.warning("the new choice is not calibrated: its out-of-fold predictions are not at hand")
            return None, None
        predictions = blend(oof.predictions, chosen.members)
        weight = laplace_weight(len(y_train))
        scored = self.oof_rows_
        return calibrate(
            self.calibration,
            y_train[scored],
            predictions,
            weight,
            self.seed,
            None if weights is None else weights[scored],
        )

    # ---- predicting -----------------------------------------------------------------------
    def _features(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        return data_module.encode(X, self.schema_)

    def explain(self, X: Any) -> Explanation:
        """Each column's contribution (SHAP value) to each row's prediction; needs shap (``pip install ".[explain]"``).

        Classification explains the probabilities of ``predict_proba`` (the positive class's for a
        binary task, each class's for a multiclass one), regression the value of ``predict``. An
        ensemble's contributions are its members' weighted like their predictions; the columns a
        pipeline derives from one column (one-hot categories, missing-value indicators) are summed
        back into it.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Rows with the columns the model was fitted on.

        Returns
        -------
        Explanation
            ``values`` (a DataFrame indexed like X, a column per column of X), ``base_value``, and
            ``output`` (what they add up to): ``base_value + values.sum(axis=1)`` is the prediction.
        """
        from automl.explain import explain

        features = self._features(X)
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(features))
        return explain(self, features, index)

    def _repr_html_(self) -> str:
        """In a notebook: a fitted model's summary (chosen model, score, energy, the front); else the parameters."""
        if not hasattr(self, "model_"):
            return estimator_html_repr(self)
        return summary_html(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    def report(self, path: str | Path = "report.html") -> Path:
        """Write the self-contained HTML report of this search; returns its path."""
        from automl.report import write_report

        check_is_fitted(self, "model_")
        return write_report(self, path)

    def inference_model(self) -> InferenceModel:
        """The standalone object that predicts as this model does: column alignment, model, labels, smoothing.

        It is a small scikit-learn-style estimator (``predict``, and ``predict_proba`` for a
        classifier) that holds no search results, and that skops can save and load safely.
        """
        check_is_fitted(self, "model_")
        return inference_model(self)

    def export(self, path: str | Path, format: str = "skops") -> Path:
        """Write the model for inference elsewhere; returns the path.

        Parameters
        ----------
        path : str or path
            The file to write.
        format : {"skops", "onnx", "joblib"}, default="skops"
            ``skops``: the ``inference_model()``, which ``automl.export.load`` reads back without
            running untrusted code. ``joblib``: the same object as a pickle. ``onnx``: the model
            after automl's column alignment, for onnxruntime: its input ``X`` is the float32
            matrix ``automl.export.onnx_input(model.inference_model(), X)``; its outputs are
            ``label`` and smoothed ``probabilities``, or ``prediction``. An ensemble, or a step
            with no ONNX converter (LightGBM's native categorical columns), is a ConfigError.
            Needs the ``export`` extra (skops, skl2onnx, onnxmltools, onnxruntime).

        Returns
        -------
        Path
        """
        args = validate(
            {"format": OneOf(FORMATS, what="export format")}, {"format": format}, where="export()"
        )
        return export_model(self.inference_model(), path, args["format"])

    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator with joblib; ``automl.load`` reads it back. Returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        return path

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_train", None)
        state.pop("oof_", None)
        state.pop("_test", None)
        state.pop("_everything", None)
        return state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags


class AutoMLClassifier(ClassifierMixin, _AutoML):
    """AutoML for classification (binary or multiclass); probabilities by ``predict_proba``.

    See ``_AutoML`` for the parameters and fitted attributes; ``classes_`` holds the class labels.
    """

    _kinds = CLASSIFICATION_TASKS

    def predict_proba(self, X: Any) -> np.ndarray:
        """Laplace-smoothed class probabilities, one column per class of ``classes_``."""
        return self._proba(
            self._features(X)
        )  # features first: an unfitted model raises NotFittedError, not AttributeError

    def _proba(self, features: pd.DataFrame) -> np.ndarray:
        """The smoothed probabilities of aligned features, as cross-validation scored them, calibrated if asked."""
        weight = laplace_weight(self.n_train_rows_)
        proba = smooth(self.model_.predict_proba(features), weight)
        calibrator = getattr(self, "calibrator_", None)  # a model saved before calibration= has none
        return proba if calibrator is None else calibrator.apply(proba, weight)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)  # before reading classes_, for the same reason
        return self.classes_[proba.argmax(axis=1)]


class AutoMLRegressor(RegressorMixin, _AutoML):
    """AutoML for regression. See ``_AutoML`` for the parameters and fitted attributes."""

    _kinds = (REGRESSION,)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted value of each row."""
        features = self._features(X)  # first: an unfitted model raises NotFittedError, not AttributeError
        return np.asarray(self.model_.predict(features), dtype=float)


def _progress(
    console: Console, problem: Problem, settings: _Settings
) -> Callable[[str, str], SearchProgress]:
    """The live display of a verbose fit's search, on ``console``."""
    title = f"automl: {problem.task}, {problem.metric.display_name}, preset {settings.preset.name}"

    def watch(storage_url: str, study_name: str) -> SearchProgress:
        return SearchProgress(
            storage_url,
            study_name,
            problem.metric,
            title=title,
            budget=settings.time_budget,
            n_trials=settings.n_trials,
            console=console,
        )

    return watch


def _log_outcome(result: SearchResult) -> None:
    """The families the search left out for failing, and why it stopped, as log records."""
    for family, reason in left_out(result.study).items():
        logger.warning("family %r was left out: its trials kept failing (%s)", family, reason)
    logger.info("the search stopped (%s): %s", result.stop_reason, result.stop_detail)


def _threads(rows: int, n_jobs: int) -> int:
    """Threads per model: one on small data, where a thread pool costs more time than it saves."""
    return 1 if rows < SMALL_DATA_ROWS else max(1, (os.cpu_count() or 1) // n_jobs)


def _grow_until(deadline: Deadline, refit_passes: float) -> float | None:
    """Until when the refit may train its members past their least rounds, towards their most.

    Until the budget's end, or, when the model is refit again on all rows after it (``refit_passes``
    over 1, ``SearchPlan``), until the time that leaves that refit what it is expected to take.
    """
    if deadline.at is None:
        return None
    if refit_passes == 1:
        return deadline.at
    return time.time() + max(0.0, deadline.left()) / refit_passes


def _refit_threads(rows: int) -> int:
    """Threads for a refit: all the cores (it runs alone) on more than small data."""
    return _threads(rows, 1)


def heaviest_share(chosen: Candidate, leaderboard: pd.DataFrame, train_share: float, speedup: float) -> float:
    """The share of ``chosen``'s expected refit time that its heaviest member takes (1 when unknown).

    ``train_share`` and ``speedup``: as ``trial_refit_seconds`` takes them.
    """
    rows = leaderboard.set_index("number")
    seconds = {
        number: trial_refit_seconds(rows.loc[number].to_dict(), train_share, speedup)
        for number in chosen.members
    }
    heaviest = seconds[max(chosen.members, key=chosen.members.__getitem__)]
    share = heaviest / sum(seconds.values()) if heaviest > 0 else math.nan
    return share if math.isfinite(share) else 1.0


def _refit_speedup(problem: Problem) -> float:
    """How many times faster than a trial the refit trains, per row."""
    return thread_speedup(_refit_threads(len(problem.X)), problem.threads)


def _out_of_fold(result: SearchResult, chosen: Candidate, purpose: str) -> np.ndarray | None:
    """The chosen candidate's out-of-fold predictions; None, with a warning, when some were not kept."""
    if any(n not in result.oof.predictions for n in chosen.members):
        logger.warning("no %s: the out-of-fold predictions of the chosen trials were not kept", purpose)
        return None
    return blend(result.oof.predictions, chosen.members)


def _score_test(
    test: _Training,
    model: Any,
    chosen: Candidate,
    complete: pd.DataFrame,
    n_train_rows: int,
    calibrator: Calibrator | None = None,
) -> holdout_module.HoldoutResult:
    """The refitted model's score on the test rows, and the best single trial's when an ensemble was chosen.

    The best single trial is the ensemble's first pick, so its refitted pipeline is one of the
    members (unless the refit left it out for time).
    """
    features = test.features()

    def score(fitted: Any, calibrator: Calibrator | None = None) -> float:
        if is_regression(test.task):
            return test.metric.score(test.y, np.asarray(fitted.predict(features), dtype=float), test.weights)
        weight = laplace_weight(n_train_rows)
        proba = smooth(fitted.predict_proba(features), weight)
        return test.metric.score(
            test.y, proba if calibrator is None else calibrator.apply(proba, weight), test.weights
        )

    best = complete.loc[complete.score.idxmax()]
    cv_std = chosen.score_std if np.isfinite(chosen.score_std) else float(best.score_std)
    single_score, single_trial = float("nan"), None
    if chosen.is_ensemble and isinstance(model, EnsembleModel):
        order = [number for number, _ in sorted(chosen.members.items(), key=lambda member: -member[1])]
        single_trial = int(best.number)
        if len(order) == len(model.members) and single_trial in order:
            single_score = score(model.members[order.index(single_trial)])
    result = holdout_module.HoldoutResult(
        rows=len(test.y),
        share=len(test.y) / (len(test.y) + n_train_rows),
        score=score(model, calibrator),
        cv_score=float(chosen.score),
        cv_std=cv_std,
        single_score=single_score,
        single_trial=single_trial,
    )
    if result.suspicious:
        logger.warning(
            "the chosen model scores %.4g on the %d test rows but %.4g by cross-validation, a gap beyond "
            "the folds' spread (%.2g); trust the held-out score",
            test.metric.display(result.score),
            result.rows,
            test.metric.display(result.cv_score),
            result.cv_std,
        )
    return result


def _background(X: pd.DataFrame, seed: int | None) -> pd.DataFrame:
    """A random sample of the encoded training rows, kept with the model for the explanations that compare with it."""
    rows = np.random.default_rng(seed).permutation(len(X))[:BACKGROUND_ROWS]
    return X.iloc[np.sort(rows)].reset_index(drop=True)


def _no_model_message(reasons: dict[str, int]) -> str:
    if not reasons:
        return "no trial completed within the time budget; give a larger time_budget"
    lines = "\n".join(
        f"  - {count} trial(s): {reason or 'no reason recorded'}" for reason, count in reasons.items()
    )
    return f"no trial completed; the causes were:\n{lines}"


def fit(X: Any, y: Any, **kwargs: Any) -> _AutoML:
    """Search and fit in one call; the estimator class is picked from the target (or ``task=``).

    Keyword arguments are those of ``AutoMLClassifier`` and ``AutoMLRegressor``.
    """
    task = kwargs.get("task")
    frame = data_module.to_frame(X)
    target = data_module.to_target(y, len(frame))
    if task is None:
        task = data_module.infer_task(target)
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose one of {list(TASKS)}")
    estimator = AutoMLRegressor(**kwargs) if is_regression(task) else AutoMLClassifier(**kwargs)
    return estimator.fit(X, y)


def load(path: str | Path) -> _AutoML:
    """Read an estimator written by ``save``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no saved model at {path}")
    try:
        model = joblib.load(path)
    except Exception as exc:  # pickle raises many kinds of errors for a file it cannot read
        raise ConfigError(
            f"{path} is not a model automl saved, or it is damaged ({type(exc).__name__}: "
            f"{str(exc)[:200]}); save the model again with model.save()"
        ) from None
    if not isinstance(model, _AutoML):
        raise ConfigError(f"{path} holds a {type(model).__name__}, not an automl model")
    return model
