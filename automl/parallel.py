"""Several worker processes on one shared study, so every core runs trials.

Processes, not threads: the models hold the GIL in places and CodeCarbon's task tracking
is not thread-safe. Each worker opens the storage by URL, keeps its own energy meter and
sends back the out-of-fold predictions of its best trials.
"""

from __future__ import annotations

from dataclasses import dataclass

import optuna
from joblib import Parallel, delayed

from automl.energy import EnergyMeter
from automl.objective import OOFStore, Problem
from automl.presets import Preset
from automl.search import Budget, quiet_optuna, run_trials
from automl.storage import open_storage


@dataclass
class WorkerResult:
    oof: OOFStore
    overhead_seconds: float
    interrupted: bool


def work(
    storage_url: str,
    study_name: str,
    problem: Problem,
    budget: Budget,
    preset: Preset,
    seed: int | None,
    country: str,
) -> WorkerResult:
    """One worker: join the study and run trials until the shared budget is spent."""
    meter = EnergyMeter.for_country(country)
    storage = open_storage(storage_url)
    study = optuna.load_study(
        study_name=study_name,
        storage=storage,
        sampler=preset.make_sampler(seed),
        pruner=preset.make_pruner(storage),
    )
    oof = OOFStore()
    overhead_before = meter.overhead_seconds  # loky reuses worker processes, and their meters, across fits
    with quiet_optuna():
        interrupted = run_trials(study, storage, problem, budget, meter, oof)
    return WorkerResult(oof, meter.overhead_seconds - overhead_before, interrupted)


def run_workers(
    n_workers: int,
    storage_url: str,
    study_name: str,
    problem: Problem,
    budget: Budget,
    preset: Preset,
    seed: int | None,
    country: str,
) -> list[WorkerResult]:
    """``n_workers`` processes on the same study; worker ``i`` seeds its sampler with ``seed + i``."""
    seeds = [None if seed is None else seed + i for i in range(n_workers)]
    return Parallel(n_jobs=n_workers, backend="loky")(
        delayed(work)(storage_url, study_name, problem, budget, preset, s, country) for s in seeds
    )
