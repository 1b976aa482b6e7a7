"""Presets: named, declarative search configurations that a non-expert picks by name."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import yaml

from automl.errors import ConfigError
from automl.pruning import PartialStagesByFamily
from automl.spaces import builtin_dir

SELECTION_RULES = ("best", "cheapest_within", "knee")
COSTS = {"energy": "energy_kwh", "fit_time": "fit_seconds", "latency": "predict_ms_per_1k", "size": "model_bytes"}
PRESET_KEYS = {
    "name", "description", "time_budget", "n_trials", "cv", "families", "pruner", "sampler",
    "selection", "cost", "ensemble", "cost_penalty",
}


@dataclass(frozen=True)
class Preset:
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
    #: > 0 makes the search itself cost-aware: the sampler maximises score - cost_penalty * log10(energy).
    cost_penalty: float = 0.0

    def make_pruner(self) -> optuna.pruners.BasePruner:
        return PartialStagesByFamily(_make(optuna.pruners, self.pruner, "pruner", self.name))

    def make_sampler(self, seed: int | None) -> optuna.samplers.BaseSampler:
        return _make(optuna.samplers, {**self.sampler, "seed": seed}, "sampler", self.name)


def _make(module: Any, spec: dict[str, Any], what: str, preset: str) -> Any:
    kwargs = dict(spec)
    name = kwargs.pop("name", None)
    cls = getattr(module, str(name), None)
    if not isinstance(cls, type):
        raise ConfigError(f"preset '{preset}': unknown {what} {name!r}; use a class name from optuna.{module.__name__.split('.')[-1]}")
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
    """A preset by built-in name (``fast``, ``balanced``, ``best``, ``green``) or YAML path."""
    if isinstance(preset, Preset):
        return preset
    path = Path(preset)
    if path.suffix not in (".yaml", ".yml"):
        path = presets_dir() / f"{preset}.yaml"
        if not path.is_file():
            names = sorted(p.stem for p in presets_dir().glob("*.yaml"))
            raise ConfigError(f"unknown preset {str(preset)!r}; choose one of {names} or give a preset YAML file")
    if not path.is_file():
        raise ConfigError(f"preset file {path} does not exist")
    data = yaml.safe_load(path.read_text()) or {}
    unknown = set(data) - PRESET_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key {sorted(unknown)[0]!r}; allowed keys are {sorted(PRESET_KEYS)}")
    data.setdefault("name", path.stem)
    if data.get("families") is not None:
        data["families"] = tuple(data["families"])
    preset_obj = Preset(**data)
    check_selection(preset_obj.selection, str(path))
    check_cost(preset_obj.cost)
    return preset_obj


def check_selection(selection: dict[str, Any], where: str) -> None:
    rule = selection.get("rule")
    if rule not in SELECTION_RULES:
        raise ConfigError(f"{where}: unknown selection rule {rule!r}; choose one of {list(SELECTION_RULES)}")


def check_cost(cost: str) -> str:
    if cost not in COSTS:
        raise ConfigError(f"unknown cost {cost!r}; choose one of {list(COSTS)}")
    return COSTS[cost]
