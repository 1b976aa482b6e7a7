"""Declarative search spaces: one YAML file per model family, validated on load.

Families differ in data, not in Python: a file names the estimator class for each task,
its searched hyperparameters (with conditions), fixed arguments, known-good defaults and
the fidelity parameter that iteration-level pruning grows.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from automl.errors import ConfigError, SearchSpaceError
from automl.tasks import TASKS, task_kind
from automl.yamlfile import YamlFile

PARAM_TYPES = ("float", "int", "categorical")
#: How a family's memory grows (``automl.memory.estimate_mb``).
MEMORY_MODELS = ("data", "trees")
#: Significant digits a sampled float is kept to (``Param.resolve``).
FLOAT_DIGITS = 2
CATEGORICAL_ENCODINGS = ("onehot", "ordinal", "native")
MISSING_HANDLING = ("impute", "native")
#: Fractions of the full fidelity at which fold 0 is scored before it is trained in full.
PARTIAL_RUNGS = (1 / 9, 1 / 3)


def builtin_dir() -> Path:
    """The folder of the shipped search spaces: inside the installed package, else the checkout."""
    installed = Path(__file__).parent / "search_spaces"
    return installed if installed.is_dir() else Path(__file__).parent.parent / "search_spaces"


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its distribution and the condition under which it exists."""

    name: str
    type: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    when: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    #: The tasks the parameter is searched for (``class_weight`` only for classes); empty: all.
    tasks: tuple[str, ...] = ()

    def active(self, values: Mapping[str, Any], task: str) -> bool:
        if self.tasks and task not in self.tasks:
            return False
        return all(values.get(other) in allowed for other, allowed in self.when.items())

    def suggest(self, trial: optuna.Trial, key: str) -> Any:
        if self.type == "categorical":
            return trial.suggest_categorical(key, list(self.choices))
        assert self.low is not None and self.high is not None, "a numeric parameter has bounds"
        if self.type == "int":
            step = int(self.step or 1)
            return trial.suggest_int(key, int(self.low), int(self.high), step=step, log=self.log)
        return self.resolve(trial.suggest_float(key, self.low, self.high, step=self.step, log=self.log))

    def resolve(self, value: Any) -> Any:
        """``value`` at the resolution that matters: floats to 2 significant digits, within the bounds.

        Two samples that agree at this resolution are the same model, trained once.
        """
        if self.type != "float" or self.step is not None or not isinstance(value, float):
            return value
        assert self.low is not None and self.high is not None
        return min(max(float(f"{value:.{FLOAT_DIGITS}g}"), self.low), self.high)


@dataclass(frozen=True)
class Fidelity:
    """The parameter that measures how much training a candidate gets (trees, rounds, epochs)."""

    param: str
    min: int = 1

    def rungs(self, full: int) -> list[int]:
        """Partial values at which fold 0 is scored for iteration-level pruning."""
        values = [int(round(full * fraction)) for fraction in PARTIAL_RUNGS]
        return [v for v in values if self.min <= v < full]


@dataclass(frozen=True)
class EarlyStopping:
    """Training stops when the validation fold's loss has not improved for ``patience`` rounds (or epochs)."""

    patience: int


@dataclass(frozen=True)
class FamilySpace:
    """A model family: how to build it for each task and what to search."""

    name: str
    source: Path
    estimators: Mapping[str, str]
    tasks: tuple[str, ...]
    params: tuple[Param, ...]
    description: str = ""
    categorical: str = "ordinal"
    scale: bool = False
    #: ``impute`` (the median, and an indicator column) or ``native`` (left missing, for boosting).
    missing: str = "impute"
    fixed: Mapping[str, Any] = field(default_factory=dict)
    seed_param: str | None = None
    threads_param: str | None = None
    fidelity: Fidelity | None = None
    early_stopping: EarlyStopping | None = None
    #: The most rows the family trains on (a random sample of them): k-NN, whose cost grows with the
    #: square of the rows, or forests of deep trees, whose size grows with them.
    max_rows: int | None = None
    #: How its memory grows: ``data`` (with the training matrix only) or ``trees`` (also with its trees' nodes).
    memory: str = "data"
    defaults: tuple[Mapping[str, Any], ...] = ()
    #: Modules the estimator imports lazily on its first fit (torch for the MLP), imported once
    #: before the search so that no trial's time and energy include the import.
    preload: tuple[str, ...] = ()
    #: Order in which families' defaults are tried, lower first: likely winners and cheap baselines
    #: go first, so that a short budget still ends with a good model.
    priority: int = 1
    #: Whether its ``fit`` takes ``sample_weight``; a family that does not is left out of a weighted search.
    sample_weight: bool = True
    #: A refit's seconds per row and round as a share of a trial's: below 1 where a trial pays for
    #: what a plain fit does not (scoring its validation fold every round).
    refit_pace: float = 1.0

    def estimator_class(self, task: str) -> type:
        return import_object(self.estimators[task_kind(task)])

    def key(self, param: str) -> str:
        """The name of a parameter in the Optuna study: prefixed, so families never clash."""
        return f"{self.name}.{param}"

    def suggest(self, trial: optuna.Trial, task: str) -> dict[str, Any]:
        """Sample this family's parameters active for ``task``, define-by-run."""
        values: dict[str, Any] = {}
        for param in self.params:
            if param.active(values, task):
                values[param.name] = param.suggest(trial, self.key(param.name))
        return values

    def trial_params(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """A configuration (like a default) as study parameters to enqueue.

        A parameter the configuration leaves out whose choices offer ``null`` takes it: the
        estimator's own value (``class_weight``), not a random draw.
        """
        unset = {p.name: None for p in self.params if None in p.choices and p.name not in config}
        return {self.key(name): value for name, value in {**config, **unset}.items()}

    def from_trial_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A trial's parameters of this family, unprefixed and at the resolution the model was built with."""
        prefix = f"{self.name}."
        by_name = {p.name: p for p in self.params}
        values = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
        return {k: by_name[k].resolve(v) if k in by_name else v for k, v in values.items()}

    def trained_rows(self, rows: int) -> int:
        """How many of ``rows`` the family trains on: all of them, or at most ``max_rows``."""
        return rows if self.max_rows is None else min(rows, self.max_rows)

    def signature(self, params: Mapping[str, Any]) -> str:
        """What makes two configurations of this family the same model."""
        return json.dumps([self.name, sorted((k, repr(v)) for k, v in params.items())])


def _installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (find_spec raises for a missing parent package)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def import_object(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


FAMILY_KEYS = {
    "family",
    "description",
    "estimator",
    "tasks",
    "preprocessing",
    "fixed",
    "seed_param",
    "threads_param",
    "fidelity",
    "defaults",
    "params",
    "priority",
    "preload",
    "requires",
    "early_stopping",
    "max_rows",
    "memory",
    "sample_weight",
    "refit_pace",
}
#: Where a package's import name is not the name pip installs it by.
PIP_NAMES = {"sklearn": "scikit-learn"}


class MissingPackage(Exception):
    """A family needs a package that is not installed: it is left out, and the hint says how to install it."""

    def __init__(self, family: str, package: str) -> None:
        super().__init__(
            f"family '{family}' needs the package '{package}', which is not installed: "
            f"pip install {PIP_NAMES.get(package, package)}"
        )
        self.family = family


class Spaces(dict[str, "FamilySpace"]):
    """Families by name, and ``unavailable``: the families left out for a missing package, with the install hint."""

    def __init__(self, families: Mapping[str, FamilySpace], unavailable: Mapping[str, str]) -> None:
        super().__init__(families)
        self.unavailable = dict(unavailable)


PARAM_KEYS = {"type", "low", "high", "log", "step", "choices", "when", "tasks"}


def parse_family(source: Path) -> FamilySpace:
    """Read and validate one family file; a MissingPackage when a package it needs is not installed."""
    reader = YamlFile(source, SearchSpaceError)
    data = reader.load()
    reader.only(data, FAMILY_KEYS)
    name = data.get("family")
    if not isinstance(name, str) or not name:
        raise reader.fail("family", "missing: every file names its family, e.g. 'family: lightgbm'")
    requires = list(data.get("requires") or [])
    if not isinstance(requires, list) or not all(isinstance(m, str) and m for m in requires):
        raise reader.fail("requires", f"expected a list of package names, got {requires!r}")

    tasks = tuple(data.get("tasks") or ())
    bad_tasks = [t for t in tasks if t not in TASKS]
    if not tasks or bad_tasks:
        raise reader.fail("tasks", f"expected a list drawn from {list(TASKS)}, got {data.get('tasks')!r}")

    estimators = reader.mapping(data, "estimator")
    for task in tasks:
        kind = task_kind(task)
        path = estimators.get(kind)
        if not isinstance(path, str):
            raise reader.fail(
                f"estimator.{kind}", f"missing: the family lists task '{task}' but no {kind} estimator"
            )
        requires.append(path.split(".")[0])
    missing_package = next((p for p in requires if not _installed(p)), None)
    if missing_package is not None:
        raise MissingPackage(name, missing_package)
    for task in tasks:
        kind = task_kind(task)
        path = estimators[kind]
        try:
            import_object(path)
        except (ImportError, AttributeError, ValueError) as exc:
            raise reader.fail(f"estimator.{kind}", f"unknown estimator '{path}' ({exc})") from None

    preload = data.get("preload") or []
    if not isinstance(preload, list) or not all(isinstance(m, str) and m for m in preload):
        raise reader.fail("preload", f"expected a list of module names, got {preload!r}")
    missing = [m for m in preload if not _installed(m)]
    if missing:
        raise reader.fail("preload", f"module '{missing[0]}' is not installed")

    params = _parse_params(reader, reader.mapping(data, "params"), tasks)
    names = {p.name for p in params}

    preprocessing = reader.mapping(data, "preprocessing")
    categorical = preprocessing.get("categorical", "ordinal")
    if categorical not in CATEGORICAL_ENCODINGS:
        raise reader.fail(
            "preprocessing.categorical", f"expected one of {list(CATEGORICAL_ENCODINGS)}, got {categorical!r}"
        )
    missing = preprocessing.get("missing", "impute")
    if missing not in MISSING_HANDLING:
        raise reader.fail(
            "preprocessing.missing", f"expected one of {list(MISSING_HANDLING)}, got {missing!r}"
        )

    fidelity = None
    if data.get("fidelity") is not None:
        spec = reader.mapping(data, "fidelity")
        param = spec.get("param")
        if param not in names or next(p for p in params if p.name == param).type != "int":
            raise reader.fail("fidelity.param", f"'{param}' must be one of this file's int params")
        fidelity = Fidelity(param=param, min=int(spec.get("min", 1)))

    early_stopping = None
    if data.get("early_stopping") is not None:
        spec = reader.mapping(data, "early_stopping")
        reader.only(spec, {"patience"}, prefix="early_stopping.")
        patience = spec.get("patience")
        if fidelity is None:
            raise reader.fail(
                "early_stopping", "needs a 'fidelity': the rounds or epochs that early stopping counts"
            )
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 1:
            raise reader.fail(
                "early_stopping.patience", f"expected a whole number of rounds, at least 1, got {patience!r}"
            )
        early_stopping = EarlyStopping(patience)

    max_rows = data.get("max_rows")
    if max_rows is not None and (
        not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 100
    ):
        raise reader.fail("max_rows", f"expected a whole number of rows, at least 100, got {max_rows!r}")

    memory = data.get("memory", "data")
    if memory not in MEMORY_MODELS:
        raise reader.fail("memory", f"expected one of {list(MEMORY_MODELS)}, got {memory!r}")

    sample_weight = data.get("sample_weight", True)
    if not isinstance(sample_weight, bool):
        raise reader.fail("sample_weight", f"expected true or false, got {sample_weight!r}")

    refit_pace = data.get("refit_pace", 1.0)
    if isinstance(refit_pace, bool) or not isinstance(refit_pace, int | float) or not 0 < refit_pace <= 1:
        raise reader.fail("refit_pace", f"expected a share above 0 and at most 1, got {refit_pace!r}")

    defaults = data.get("defaults") or []
    if isinstance(defaults, dict):
        defaults = [defaults]
    for i, config in enumerate(defaults):
        if not isinstance(config, dict):
            raise reader.fail(f"defaults[{i}]", "expected a mapping of parameter values")
        for key, value in config.items():
            param = next((p for p in params if p.name == key), None)
            if param is None:
                raise reader.fail(
                    f"defaults[{i}].{key}", f"not a parameter of this family; known: {sorted(names)}"
                )
            _check_default(reader, f"defaults[{i}].{key}", param, value)

    return FamilySpace(
        name=name,
        source=source,
        estimators=estimators,
        tasks=tasks,
        params=params,
        description=str(data.get("description", "")).strip(),
        categorical=categorical,
        scale=bool(preprocessing.get("scale", False)),
        missing=missing,
        fixed=reader.mapping(data, "fixed"),
        seed_param=data.get("seed_param"),
        threads_param=data.get("threads_param"),
        fidelity=fidelity,
        early_stopping=early_stopping,
        max_rows=max_rows,
        memory=memory,
        defaults=tuple(defaults),
        priority=int(data.get("priority", 1)),
        preload=tuple(preload),
        sample_weight=sample_weight,
        refit_pace=float(refit_pace),
    )


def _parse_params(
    reader: YamlFile, raw: Mapping[str, Any], family_tasks: tuple[str, ...]
) -> tuple[Param, ...]:
    params: list[Param] = []
    for name, spec in raw.items():
        key = f"params.{name}"
        if not isinstance(spec, dict):
            raise reader.fail(key, f"expected a mapping with a 'type', got {spec!r}")
        reader.only(spec, PARAM_KEYS, prefix=f"{key}.")
        kind = spec.get("type")
        if kind not in PARAM_TYPES:
            raise reader.fail(f"{key}.type", f"unknown type {kind!r}; expected one of {list(PARAM_TYPES)}")
        when = {}
        for other, allowed in (spec.get("when") or {}).items():
            if other not in {p.name for p in params}:
                raise reader.fail(
                    f"{key}.when", f"condition on '{other}', which is not a parameter defined above it"
                )
            when[other] = tuple(allowed) if isinstance(allowed, list) else (allowed,)
        tasks = spec.get("tasks") or []
        if not isinstance(tasks, list) or not set(tasks) <= set(family_tasks):
            raise reader.fail(f"{key}.tasks", f"expected a list of this family's tasks {list(family_tasks)}")
        if kind == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, list) or not choices:
                raise reader.fail(
                    f"{key}.choices", "a categorical parameter needs a non-empty list of choices"
                )
            params.append(Param(name, kind, choices=tuple(choices), when=when, tasks=tuple(tasks)))
            continue
        low, high, log = spec.get("low"), spec.get("high"), bool(spec.get("log", False))
        for bound, value in (("low", low), ("high", high)):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise reader.fail(f"{key}.{bound}", f"expected a number, got {value!r}")
        assert isinstance(low, (int, float)) and isinstance(high, (int, float))
        if low > high:
            raise reader.fail(key, f"low ({low}) is greater than high ({high})")
        if log and low <= 0:
            raise reader.fail(f"{key}.log", f"log scale needs low > 0, got low={low}")
        params.append(
            Param(
                name, kind, low=low, high=high, log=log, step=spec.get("step"), when=when, tasks=tuple(tasks)
            )
        )
    return tuple(params)


def _check_default(reader: YamlFile, key: str, param: Param, value: Any) -> None:
    if param.type == "categorical":
        if value not in param.choices:
            raise reader.fail(key, f"{value!r} is not one of the choices {list(param.choices)}")
    elif not param.low <= value <= param.high:
        raise reader.fail(key, f"{value!r} is outside [{param.low}, {param.high}]")


def yaml_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.glob("*.y*ml") if p.is_file())
    if path.is_file():
        return [path]
    raise SearchSpaceError(f"{path}: no such search-space file or folder")


def load_spaces(paths: str | Path | Iterable[str | Path] | None = None) -> Spaces:
    """All families from the given files or folders; the shipped ones when none are given.

    Parameters
    ----------
    paths : path, or list of paths, optional
        Search-space YAML files or folders of them.

    Returns
    -------
    Spaces
        The families by name, and ``unavailable``: those left out for a missing package.

    A family whose package is not installed is left out, and listed in ``unavailable`` with
    the command that installs it (as Optuna's ``try_import`` defers a missing optional import).
    """
    if paths is None:
        paths = [builtin_dir()]
    elif isinstance(paths, (str, Path)):
        paths = [paths]
    families: dict[str, FamilySpace] = {}
    unavailable: dict[str, str] = {}
    for path in paths:
        for source in yaml_files(Path(path)):
            try:
                family = parse_family(source)
            except MissingPackage as missing:
                unavailable[missing.family] = str(missing)
                continue
            if family.name in families:
                raise SearchSpaceError(
                    f"{source}: 'family': '{family.name}' is also defined in {families[family.name].source}"
                )
            families[family.name] = family
    if not families and not unavailable:
        raise SearchSpaceError(f"{paths}: no search-space YAML files found")
    return Spaces(families, unavailable)


def select_families(spaces: Spaces, task: str, names: Iterable[str] | None) -> list[FamilySpace]:
    """The families to search for this task: all that support it, or the named ones."""
    if names is None:
        chosen = [f for f in spaces.values() if task in f.tasks]
    else:
        names = list(names)
        missing = [n for n in names if n in spaces.unavailable]
        if missing:
            raise ConfigError(spaces.unavailable[missing[0]])
        unknown = [n for n in names if n not in spaces]
        if unknown:
            raise ConfigError(f"unknown family {unknown[0]!r}; available families: {sorted(spaces)}")
        unsupported = [n for n in names if task not in spaces[n].tasks]
        if unsupported:
            raise ConfigError(
                f"family {unsupported[0]!r} does not support the task '{task}'; it supports "
                f"{list(spaces[unsupported[0]].tasks)}"
            )
        chosen = [spaces[n] for n in names]
    if not chosen:
        raise ConfigError(f"no family in the search space supports the task '{task}'")
    return sorted(chosen, key=lambda f: (f.priority, f.name))
