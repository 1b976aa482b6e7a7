"""The scikit-learn estimators: ``AutoMLClassifier``, ``AutoMLRegressor`` and ``fit()``."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

from automl import data as data_module
from automl import families as family_builder
from automl.deadline import Deadline, DeadlineReached
from automl.energy import DEFAULT_COUNTRY, Energy, EnergyMeter, model_bytes
from automl.errors import ConfigError, DataError, SearchError
from automl.fidelity import train
from automl.metrics import get_metric
from automl.pareto import pareto_front, select
from automl.presets import Preset, check_cost, check_selection, load_preset
from automl.ensemble import EnsembleModel, blend, diverse_candidates, ensemble_selection
from automl.parallel import run_workers
from automl.smoothing import laplace_weight, smooth
from automl.search import (FINISHED, Budget, OOFStore, Problem, enqueue_defaults, leaderboard, make_splits, refit_seconds,
                           run_trials, wait_for_others)
from automl.storage import open_storage
from automl.spaces import TASKS, load_spaces, select_families


#: Above this many rows a preset's folds are capped, so the budget buys more trials.
LARGE_DATA_ROWS = 10_000
LARGE_DATA_FOLDS = 3
#: Below this many rows a model is trained on one thread (a random forest of 100 trees on 1,000 rows:
#: 0.36 s on one thread, 0.41 s on two, on the 2-core benchmark machine).
SMALL_DATA_ROWS = 2000
#: Time is kept for refitting this many of the best trials when an ensemble may be chosen.
ENSEMBLE_RESERVE = 3
#: The final refit may run past the budget by this fraction of it (the promise is 1.1x + 5 s).
REFIT_GRACE = 0.05


class _AutoML(BaseEstimator):
    """Searches model families and hyperparameters, then refits the chosen model on all data."""

    _kinds: tuple[str, ...] = TASKS

    def __init__(
        self,
        preset: str = "balanced",
        *,
        time_budget: float | None = None,
        n_trials: int | None = None,
        metric: str | None = None,
        cv: int | None = None,
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
    ) -> None:
        self.preset = preset
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.metric = metric
        self.cv = cv
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

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> _AutoML:
        start = time.time()
        meter = EnergyMeter.for_country(self.country)  # starts in the background while the data is prepared
        overhead_before = meter.overhead_seconds
        problem, preset, deadline = self._prepare(X, y, start)
        with tempfile.TemporaryDirectory(prefix="automl-") as scratch:
            storage_url = self.storage or (str(Path(scratch) / "study.journal") if self._n_jobs > 1 else None)
            study = optuna.create_study(
                storage=open_storage(storage_url), direction="maximize", load_if_exists=True,
                study_name=self.study_name or (f"automl-{uuid.uuid4().hex[:8]}" if storage_url else None),
                sampler=preset.make_sampler(self.seed), pruner=preset.make_pruner(),
            )
            study.set_user_attr("deadline_at", deadline.at)
            enqueue_defaults(study, list(problem.families.values()))
            budget = self._budget(preset, deadline)
            worker_overhead = self._run(study, storage_url, problem, budget, preset, meter)
            if self.storage and not self.interrupted_:
                wait_for_others(study, budget.search_deadline())
            self.study_ = study if self.storage or self._n_jobs == 1 else _in_memory(study)
        self.leaderboard_ = leaderboard(self.study_, problem.families)
        complete = self.leaderboard_[self.leaderboard_.state == "complete"]
        if complete.empty:
            raise SearchError(self._no_model_message())
        self.search_energy_ = Energy(**{k: float(self.leaderboard_[k].fillna(0).sum()) for k in ("energy_kwh", "co2_kg")})
        candidates = complete
        if preset.ensemble and not self.interrupted_:
            candidates = self._with_ensemble(complete, preset.ensemble, deadline)
        self.pareto_front_ = pareto_front(candidates, self.cost_)
        label = select(self.pareto_front_, self.selection_["rule"], self.cost_, tolerance=float(self.selection_.get("tolerance", 0.005)))
        self._refit(self.pareto_front_.index.get_loc(label), meter, deadline.later(REFIT_GRACE * (self.time_budget_ or 0)))
        self.energy_method_ = meter.method()  # after the refit: CodeCarbon's power figures come from its last reading
        self.energy_overhead_seconds_ = meter.overhead_seconds - overhead_before + worker_overhead
        self.fit_seconds_ = time.time() - start
        return self

    def join(self, X: Any, y: Any) -> int:
        """Run trials on an existing shared study (``storage`` + ``study_name``) until its budget is spent.

        This is what extra machines do: no refit, no report; the process that started the
        study chooses and refits. Returns the number of trials this process finished.
        """
        if not self.storage or not self.study_name:
            raise ConfigError("join() needs the storage URL and study_name of the study to join")
        meter = EnergyMeter.for_country(self.country)
        problem, preset, _ = self._prepare(X, y, time.time())
        try:
            study = optuna.load_study(study_name=self.study_name, storage=open_storage(self.storage),
                                      sampler=preset.make_sampler(self.seed), pruner=preset.make_pruner())
        except KeyError:
            raise ConfigError(f"no study named {self.study_name!r} in the storage; start it with `automl search` first") from None
        deadline = Deadline.until(study.user_attrs.get("deadline_at"))
        before = len(study.get_trials(deepcopy=False, states=FINISHED))
        self._run(study, self.storage, problem, self._budget(preset, deadline), preset, meter)
        return len(study.get_trials(deepcopy=False, states=FINISHED)) - before

    def _prepare(self, X: Any, y: Any, start: float) -> tuple[Problem, Preset, Deadline]:
        """Validate the data and arguments; set what the search needs to know up front."""
        preset = load_preset(self.preset)
        time_budget = preset.time_budget if self.time_budget is None else self.time_budget
        if time_budget is not None and not time_budget > 0:
            raise ConfigError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
        frame, target = self._validate(X, y)
        self.schema_ = data_module.infer_schema(frame, from_array=not isinstance(X, pd.DataFrame))
        self.feature_names_in_ = np.asarray(self.schema_.columns, dtype=object)
        self.n_features_in_ = len(self.schema_.columns)
        task = self._resolve_task(target)
        y_encoded = self._encode_target(target, task)
        self.task_ = task
        self.metric_ = get_metric(self.metric, task)
        self.cost_ = check_cost(self.cost or preset.cost)
        self.selection_ = {**preset.selection, **({"rule": self.selection} if self.selection else {}),
                           **({"tolerance": self.tolerance} if self.tolerance is not None else {})}
        check_selection(self.selection_, "selection")
        self._spaces = load_spaces(self.search_space)
        families = select_families(self._spaces, task, self._family_names(preset, task))
        cv = int(self.cv or preset.cv)
        if cv < 2:
            raise ConfigError(f"cv must be at least 2 folds, got {cv}")
        if self.cv is None and len(frame) > LARGE_DATA_ROWS:
            cv = min(cv, LARGE_DATA_FOLDS)
        if task != "regression":
            smallest = int(np.bincount(y_encoded).min())
            if smallest < 2:
                raise DataError("a class has a single row; every class needs at least 2 rows for cross-validation")
            cv = min(cv, smallest)
        self.cv_, self.preset_, self.time_budget_ = cv, preset.name, time_budget
        self.families_ = [f.name for f in families]
        X_used = data_module.align(frame, self.schema_)[list(self.schema_.used)]
        self._train = (X_used, y_encoded)
        self.n_train_rows_ = len(X_used)
        problem = Problem(
            X=X_used, y=y_encoded, schema=self.schema_, task=task, metric=self.metric_,
            families={f.name: f for f in families}, splits=make_splits(y_encoded, task, cv, self.seed),
            seed=self.seed, threads=_threads(len(X_used), self._n_jobs), cost_penalty=preset.cost_penalty,
        )
        return problem, preset, Deadline(time_budget, start)

    def _family_names(self, preset: Preset, task: str) -> list[str] | None:
        """The families asked for: by argument, else the preset's that do this task.

        A preset's list names built-in families, so it does not apply to a user's own search space.
        """
        if self.families is not None:
            return list(self.families)
        if preset.families is None or self.search_space is not None:
            return None
        unknown = [n for n in preset.families if n not in self._spaces]
        if unknown:
            raise ConfigError(f"preset '{preset.name}': unknown family {unknown[0]!r}; available families: {sorted(self._spaces)}")
        return [n for n in preset.families if task in self._spaces[n].tasks]

    @property
    def _n_jobs(self) -> int:
        return max(1, int(self.n_jobs or 1))

    def _budget(self, preset: Preset, deadline: Deadline) -> Budget:
        return Budget(deadline, self.n_trials if self.n_trials is not None else preset.n_trials, self.cv_,
                      refit_models=ENSEMBLE_RESERVE if preset.ensemble else 1)

    def _run(self, study: optuna.Study, storage_url: str | None, problem: Problem, budget: Budget, preset: Preset, meter: EnergyMeter) -> float:
        """Run the trials here or in worker processes; returns the seconds CodeCarbon took in the workers."""
        self.oof_ = OOFStore()
        if self._n_jobs == 1:
            self.interrupted_ = run_trials(study, problem, budget, meter, self.oof_)
            return 0.0
        try:
            results = run_workers(self._n_jobs, storage_url, study.study_name, problem, budget, preset, self.seed, self.country)
        except KeyboardInterrupt:
            self.interrupted_ = True
            return 0.0
        for result in results:
            for number, prediction in result.oof.predictions.items():
                self.oof_.add(number, result.oof.scores[number], prediction)
        self.interrupted_ = any(r.interrupted for r in results)
        return sum(r.overhead_seconds for r in results)

    def _with_ensemble(self, complete: pd.DataFrame, spec: dict[str, Any], deadline: Deadline) -> pd.DataFrame:
        """Complete trials plus, when it beats them and its refit fits the time left, their ensemble."""
        top = diverse_candidates(complete, int(spec.get("candidates", 20)))
        predictions = {n: self.oof_.predictions[n] for n in top["number"] if n in self.oof_.predictions}
        refit_cost = {row.number: refit_seconds(row.fit_seconds, row.folds, self.cv_) for row in top.itertuples()}
        y = self._train[1]
        allowance = deadline.left() + REFIT_GRACE * (self.time_budget_ or 0)
        weights = ensemble_selection(predictions, y, self.metric_, int(spec.get("size", 20)), refit_cost, allowance)
        if len(weights) < 2:
            return complete
        members = complete.set_index("number").loc[list(weights)]
        row = {
            "number": -1, "family": "ensemble", "state": "complete",
            "score": self.metric_.score(y, blend(predictions, weights)), "score_std": np.nan, "folds": self.cv_,
            **{c: float(members[c].sum()) for c in ("fit_seconds", "cpu_seconds", "energy_kwh", "co2_kg", "predict_ms_per_1k", "model_bytes")},
            "params": {"weights": weights}, "reason": "",
        }
        return pd.concat([complete, pd.DataFrame([row])], ignore_index=True)

    def _validate(self, X: Any, y: Any) -> tuple[pd.DataFrame, pd.Series]:
        frame = data_module.to_frame(X)
        return frame, data_module.to_target(y, len(frame))

    def _resolve_task(self, y: pd.Series) -> str:
        if self.task is not None and self.task not in self._kinds:
            raise ConfigError(f"unknown task {self.task!r} for {type(self).__name__}; choose one of {list(self._kinds)}")
        task = self.task or data_module.infer_task(y, self._kinds)
        if task not in self._kinds:
            raise DataError(f"the target looks like a {task} task, which {type(self).__name__} does not do; "
                            f"use {'AutoMLRegressor' if task == 'regression' else 'AutoMLClassifier'} or pass task=")
        data_module.check_target(y, task)
        return task

    def _encode_target(self, y: pd.Series, task: str) -> np.ndarray:
        if task == "regression":
            return y.to_numpy(dtype=float)
        self._label_encoder = LabelEncoder().fit(y.to_numpy())
        self.classes_ = self._label_encoder.classes_
        return self._label_encoder.transform(y.to_numpy())

    def _no_model_message(self) -> str:
        reasons = self.leaderboard_.loc[self.leaderboard_.state != "complete", "reason"].value_counts()
        if reasons.empty:
            return "no trial completed within the time budget; give a larger time_budget"
        lines = "\n".join(f"  - {count} trial(s): {reason or 'no reason recorded'}" for reason, count in reasons.items())
        return f"no trial completed; the causes were:\n{lines}"

    # ---- choosing on the front --------------------------------------------------------------
    def _refit(self, position: int, meter: EnergyMeter, deadline: Deadline | None = None) -> None:
        """Fit the chosen point of the front (a trial, or an ensemble of trials) on all rows.

        The first (heaviest) model is always fitted; an ensemble's other members must finish
        by ``deadline``, and those that cannot are left out, their weight shared by the rest.
        """
        row = self.pareto_front_.iloc[position]
        X, y = self._train
        members = sorted(self._members(row), key=lambda member: -member[1])
        deadline = deadline or Deadline(None)
        with meter.measure("refit") as energy:
            fitted, kept = [], []
            for index, (params, weight) in enumerate(members):
                family = self._spaces[params["family"]]
                pipeline = family_builder.build(family, self.task_, {k: v for k, v in params.items() if k != "family"},
                                                self.schema_, seed=self.seed, threads=_threads(len(X), 1))
                try:
                    fitted.append(train(pipeline, family, X, y, Deadline(None) if index == 0 else deadline))
                except DeadlineReached:
                    continue
                kept.append((params, weight))
        left_out = len(members) - len(kept)
        total_weight = sum(w for _, w in kept)
        members = [(params, w / total_weight) for params, w in kept]
        self.model_ = fitted[0] if row["family"] != "ensemble" else EnsembleModel(fitted, [w for _, w in members])
        self.chosen_ = row.to_dict()
        if left_out:
            self.chosen_["reason"] = f"{left_out} ensemble member(s) left out: their refit would have overrun the time budget"
        self.best_params_ = members[0][0] if len(members) == 1 else {"family": "ensemble", "members": [p for p, _ in members], "weights": [w for _, w in members]}
        self.refit_energy_ = energy
        self.total_energy_ = Energy(energy_kwh=self.search_energy_.energy_kwh + energy.energy_kwh,
                                    co2_kg=self.search_energy_.co2_kg + energy.co2_kg)

    def _members(self, row: pd.Series) -> list[tuple[dict[str, Any], float]]:
        """(family and parameters, weight) of each model the row stands for."""
        if row["family"] != "ensemble":
            return [({"family": row["family"], **row["params"]}, 1.0)]
        by_number = self.leaderboard_.set_index("number")
        return [({"family": by_number.at[n, "family"], **by_number.at[n, "params"]}, w) for n, w in row["params"]["weights"].items()]

    def select(self, rule: str = "best", *, tolerance: float = 0.005, cost: str | None = None, trial: int | None = None,
               X: Any = None, y: Any = None) -> _AutoML:
        """Choose another point of the front (by rule, or by trial number) and refit it, without searching."""
        check_is_fitted(self, "model_")
        if not hasattr(self, "_train"):
            if X is None or y is None:
                raise ConfigError("this model was loaded from disk without its training data; pass X and y to select()")
            frame, target = self._validate(X, y)
            encoded = target.to_numpy(dtype=float) if self.task_ == "regression" else self._label_encoder.transform(target)
            self._train = (data_module.align(frame, self.schema_)[list(self.schema_.used)], encoded)
        if cost is not None:
            self.cost_ = check_cost(cost)
            complete = self.leaderboard_[self.leaderboard_.state == "complete"]
            self.pareto_front_ = pareto_front(complete, self.cost_)
        if trial is not None:
            matches = np.flatnonzero(self.pareto_front_["number"].to_numpy() == trial)
            if not len(matches):
                raise ConfigError(f"trial {trial} is not on the Pareto front; pick one of {self.pareto_front_['number'].tolist()}")
            position = int(matches[0])
        else:
            check_selection({"rule": rule}, "select()")
            label = select(self.pareto_front_, rule, self.cost_, tolerance=tolerance)
            position = self.pareto_front_.index.get_loc(label)
        self.selection_ = {"rule": rule if trial is None else f"trial {trial}", "tolerance": tolerance}
        self._refit(position, EnergyMeter.for_country(self.country))
        return self

    # ---- predicting -----------------------------------------------------------------------
    def _features(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        return data_module.align(X, self.schema_)[list(self.schema_.used)]

    def report(self, path: str | Path = "report.html") -> Path:
        """Write the self-contained HTML report of this search."""
        from automl.report import write_report

        check_is_fitted(self, "model_")
        return write_report(self, path)

    def save(self, path: str | Path) -> Path:
        """Write the fitted estimator with joblib; ``automl.load`` reads it back."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path)
        return path

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_train", None)
        state.pop("oof_", None)
        return state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.non_deterministic = False
        return tags


class AutoMLClassifier(ClassifierMixin, _AutoML):
    """AutoML for classification (binary or multiclass); probabilities by ``predict_proba``."""

    _kinds = ("binary", "multiclass")

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._proba(self._features(X))  # features first: an unfitted model raises NotFittedError, not AttributeError

    def _proba(self, features: pd.DataFrame) -> np.ndarray:
        """The smoothed probabilities of aligned features, as cross-validation scored them."""
        return smooth(self.model_.predict_proba(features), laplace_weight(self.n_train_rows_))

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)  # before reading classes_, for the same reason
        return self.classes_[proba.argmax(axis=1)]


class AutoMLRegressor(RegressorMixin, _AutoML):
    """AutoML for regression."""

    _kinds = ("regression",)

    def predict(self, X: Any) -> np.ndarray:
        features = self._features(X)  # first: an unfitted model raises NotFittedError, not AttributeError
        return np.asarray(self.model_.predict(features), dtype=float)


def _threads(rows: int, n_jobs: int) -> int:
    """Threads per model: one on small data, where a thread pool costs more time than it saves."""
    return 1 if rows < SMALL_DATA_ROWS else max(1, (os.cpu_count() or 1) // n_jobs)


def _in_memory(study: optuna.Study) -> optuna.Study:
    """A copy of a study held in a temporary file, so it outlives the file."""
    memory = optuna.storages.InMemoryStorage()
    optuna.copy_study(from_study_name=study.study_name, from_storage=study._storage, to_storage=memory)
    return optuna.load_study(study_name=study.study_name, storage=memory)


def fit(X: Any, y: Any, **kwargs: Any) -> _AutoML:
    """Search and fit in one call; the estimator class is picked from the target (or ``task=``)."""
    task = kwargs.get("task")
    frame = data_module.to_frame(X)
    target = data_module.to_target(y, len(frame))
    if task is None:
        task = data_module.infer_task(target)
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; choose one of {list(TASKS)}")
    estimator = AutoMLRegressor(**kwargs) if task == "regression" else AutoMLClassifier(**kwargs)
    return estimator.fit(X, y)


def load(path: str | Path) -> _AutoML:
    """Read an estimator written by ``save``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no saved model at {path}")
    model = joblib.load(path)
    if not isinstance(model, _AutoML):
        raise ConfigError(f"{path} holds a {type(model).__name__}, not an automl model")
    return model
