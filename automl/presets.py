"""Presets: named, declarative search configurations that a non-expert picks by name."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from automl.costs import COSTS
from automl.errors import ConfigError
from automl.params import Anything, Constraint, Names, Number, OneOf, Table, Text, validate
from automl.pruning import PartialStagesByFamily
from automl.sampling import AvoidLeftOut
from automl.spaces import builtin_dir
from automl.stopping import STOP_KEYS, StopRule
from automl.yamlfile import YamlFile

SELECTION_RULES = ("best", "cheapest_within", "knee")

#: The constraints on a preset's keys; the estimators check the arguments they share against the same ones.
TIME_BUDGET = Number(low=0, low_open=True, none=True, what="a positive number of seconds")
N_TRIALS = Number(low=1, integer=True, none=True, what="a whole number of trials, at least 1")
CV = Number(low=2, integer=True, what="at least 2 folds")
TOLERANCE = Number(low=0, what="a fraction of the best score, 0 or more (0.005 = 0.5%)")
SELECTION = OneOf(SELECTION_RULES, what="selection rule")
COST = OneOf(tuple(COSTS), what="cost")
PRESET_KEYS: dict[str, Constraint] = {
    "name": Text(),
    "description": Anything(),
    "time_budget": TIME_BUDGET,
    "n_trials": N_TRIALS,
    "cv": CV,
    "families": Names(none=True),
    "pruner": Anything(),
    "sampler": Anything(),
    "selection": Table({"rule": SELECTION, "tolerance": TOLERANCE}),
    "cost": COST,
    "ensemble": Table(
        {"size": Number(low=1, integer=True), "candidates": Number(low=1, integer=True)}, none=True
    ),
    "cost_penalty": Number(low=0, what="a score per tenfold rise in energy, 0 or more"),
    "stop": STOP_KEYS,
    "holdout_above": Number(
        low=2, integer=True, none=True, what="a number of rows, or null for k-fold at any size"
    ),
    "search_rows": Number(
        low=100, integer=True, none=True, what="a number of rows, at least 100, or null for all rows"
    ),
}


@dataclass(frozen=True)
class Preset:
    """A named search configuration: families, budget, folds, pruner, sampler, selection rule and cost.

    Parameters
    ----------
    name, description : str
        How the preset is called and what it is for.
    time_budget : float or None
        Seconds a search may take; None for no limit.
    n_trials : int or None
        Trials after which the search stops; None for no limit.
    cv : int
        Cross-validation folds.
    families : tuple of str or None
        The built-in families searched; None for every family that does the task.
    pruner, sampler : dict
        An Optuna class name (``name``) and its arguments.
    selection : dict
        The selection ``rule`` and, for ``cheapest_within``, its ``tolerance``.
    cost : str
        What the Pareto front trades the score against (see ``automl.costs.COSTS``).
    ensemble : dict or None
        ``size`` and ``candidates`` of ensemble selection; None for no ensemble.
    cost_penalty : float
        Score the sampler gives up per tenfold rise in a trial's training energy (the green preset).
    stop : dict or None
        When the search stops before its time budget (see ``automl.stopping.StopRule``).
    holdout_above : int or None
        Above this many rows (and when ``cv`` is not given), one stratified holdout split of 20%
        replaces k-fold cross-validation.
    search_rows : int or None
        The most rows a trial trains on in each split: above it, a random sample of that many
        (the chosen model is refit on all rows). None: every trial trains on all of a split's rows.
    """

    name: str
    description: str = ""
    time_budget: float | None = 300.0
    n_trials: int | None = None
    cv: int = 5
    families: tuple[str, ...] | None = None
    pruner: dict[str, Any] = field(default_factory=lambda: {"name": "MedianPruner"})
    sampler: dict[str, Any] = field(default_factory=lambda: {"name": "TPESampler"})
    selection: dict[str, Any] = field(default_factory=lambda: {"rule": "best"})
    cost: str = "energy"
    ensemble: dict[str, Any] | None = None
    cost_penalty: float = 0.0
    stop: dict[str, Any] | None = None
    holdout_above: int | None = None
    search_rows: int | None = None

    @property
    def stop_rule(self) -> StopRule:
        """When the search may stop before its budget (``stop:``); a preset without one runs its whole budget."""
        return StopRule(**self.stop) if self.stop is not None else StopRule(converge=False)

    def make_pruner(
        self, storage: optuna.storages.BaseStorage | None = None, row_rungs: int = 0
    ) -> PartialStagesByFamily:
        """The preset's pruner, judging partial stages within a family; ``storage`` is the study's."""
        return PartialStagesByFamily(
            _make(optuna.pruners, self.pruner, "pruner", self.name), storage, row_rungs
        )

    def make_sampler(self, seed: int | None) -> optuna.samplers.BaseSampler:
        """The preset's sampler, which never proposes a family the search has left out."""
        return AvoidLeftOut(
            _make(optuna.samplers, {**self.sampler, "seed": seed}, "sampler", self.name), seed
        )


def _make(module: Any, spec: dict[str, Any], what: str, preset: str) -> Any:
    kwargs = dict(spec)
    name = kwargs.pop("name", None)
    cls = getattr(module, str(name), None)
    if not isinstance(cls, type):
        raise ConfigError(
            f"preset '{preset}': unknown {what} {name!r}; use a class name from optuna.{module.__name__.split('.')[-1]}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"preset '{preset}': bad {what} arguments {kwargs}: {exc}") from None


def presets_dir() -> Path:
    return builtin_dir() / "presets"


def available_presets() -> dict[str, Preset]:
    return {p.stem: load_preset(p) for p in sorted(presets_dir().glob("*.yaml"))}


def load_preset(preset: str | Path | Preset) -> Preset:
    """A preset by built-in name (``fast``, ``balanced``, ``best``, ``green``) or YAML path.

    A malformed file is a ConfigError naming the file and the key, before any search starts.
    """
    if isinstance(preset, Preset):
        return preset
    if not isinstance(preset, (str, Path)) or not str(preset).strip():
        raise ConfigError(f"preset must be a preset name or a YAML file path, got {preset!r}")
    path = Path(preset)
    if path.suffix not in (".yaml", ".yml"):
        path = presets_dir() / f"{preset}.yaml"
        if not path.is_file():
            names = sorted(p.stem for p in presets_dir().glob("*.yaml"))
            raise ConfigError(
                f"unknown preset {str(preset)!r}; choose one of {names} or give a preset YAML file"
            )
    if not path.is_file():
        raise ConfigError(f"preset file {path} does not exist")
    reader = YamlFile(path, ConfigError)
    data = reader.load()
    reader.only(data, set(PRESET_KEYS))
    data = validate(PRESET_KEYS, {"name": path.stem, **data}, where=str(path))
    for key in ("pruner", "sampler"):
        if key in data:
            reader.mapping(data, key)
    if data.get("families") is not None:
        data["families"] = tuple(data["families"])
    loaded = Preset(**data)
    loaded.selection.setdefault("rule", "best")
    return loaded
