"""Declared constraints on arguments, checked in one place (as scikit-learn's ``_parameter_constraints``).

The estimators check their ``__init__`` arguments against one table at ``fit``, and preset files
are checked against the same constraints for the keys they share, so ``cv: 0`` in a YAML file
and ``cv=0`` in Python get the same error.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from automl.errors import ConfigError


class Constraint(Protocol):
    def check(self, name: str, value: Any) -> Any:
        """``value`` in its normal form, or a ConfigError that names ``name`` and what is allowed."""


def _fail(name: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{name} must be {expected}, got {value!r}")


@dataclass(frozen=True)
class Number:
    """An int or float in a range; ``integer`` refuses 2.5 (and booleans, which Python counts as ints)."""

    low: float | None = None
    high: float | None = None
    integer: bool = False
    low_open: bool = False
    none: bool = False
    what: str = ""

    def describe(self) -> str:
        if self.what:
            return self.what
        kind = "an integer" if self.integer else "a number"
        if self.low is not None and self.high is not None:
            return f"{kind} from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{kind} {'above' if self.low_open else 'of at least'} {self.low:g}"
        return kind

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        kinds = numbers.Integral if self.integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kinds) or not math.isfinite(float(value)):
            raise _fail(name, self.describe(), value)
        number = float(value)
        too_low = self.low is not None and (number <= self.low if self.low_open else number < self.low)
        if too_low or (self.high is not None and number > self.high):
            raise _fail(name, self.describe(), value)
        return int(value) if self.integer else number  # type: ignore[call-overload]


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of names."""

    choices: Collection[str]
    none: bool = False
    what: str = ""

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        if not isinstance(value, str) or value not in self.choices:
            raise ConfigError(f"unknown {self.what or name} {value!r}; choose one of {list(self.choices)}")
        return value


@dataclass(frozen=True)
class Text:
    """A non-empty string (a path too, when ``path``)."""

    none: bool = False
    path: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        if self.path and isinstance(value, os.PathLike):
            return value
        if not isinstance(value, str) or not value.strip():
            raise _fail(name, "a file path" if self.path else "a non-empty string", value)
        return value


@dataclass(frozen=True)
class Names:
    """A non-empty list of names; one bare string is refused, since it would read as a list of letters."""

    none: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        if isinstance(value, str):
            raise ConfigError(f"{name} must be a list of names, got the string {value!r}; write [{value!r}]")
        try:
            names = list(value)
        except TypeError:
            raise _fail(name, "a list of names", value) from None
        if not names or not all(isinstance(n, str) and n for n in names):
            raise _fail(name, "a non-empty list of names", value)
        return names


@dataclass(frozen=True)
class Jobs:
    """Worker processes as scikit-learn counts them: 1, 2, ... or -1 for every core, -2 for all but one."""

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value == 0:
            raise _fail(name, "a positive number of processes, or -1 for one per core", value)
        value = int(value)
        return value if value > 0 else max(1, (os.cpu_count() or 1) + 1 + value)


@dataclass(frozen=True)
class Table:
    """A mapping with known keys, each under its own constraint (a preset's ``selection``, say)."""

    keys: Mapping[str, Constraint]
    none: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        if not isinstance(value, Mapping):
            raise _fail(name, f"a mapping with keys {sorted(self.keys)}", value)
        unknown = sorted(set(value) - set(self.keys))
        if unknown:
            raise ConfigError(f"{name}: unknown key {unknown[0]!r}; allowed keys are {sorted(self.keys)}")
        return {key: self.keys[key].check(f"{name}.{key}", item) for key, item in value.items()}


@dataclass(frozen=True)
class Flag:
    """True or False."""

    none: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        if not isinstance(value, bool):
            raise _fail(name, "true or false" + (" (or None)" if self.none else ""), value)
        return value


@dataclass(frozen=True)
class EnergyAmount:
    """An energy: a number of Wh, or a text with its unit (``0.5Wh``, ``500mWh``); checked into kWh."""

    none: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        from automl.units import parse_energy

        try:
            return parse_energy(value)
        except ValueError as error:
            raise ConfigError(f"{name}: {error}") from None


@dataclass(frozen=True)
class MemoryAmount:
    """An amount of memory: a number of MB, or a text with its unit (``8GB``); checked into MB."""

    none: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        from automl.memory import parse_memory

        try:
            return parse_memory(value)
        except ValueError as error:
            raise ConfigError(f"{name}: {error}") from None


@dataclass(frozen=True)
class Splits:
    """How to validate: a number of folds (at least 2), ``"time"``, a scikit-learn splitter, or the splits."""

    none: bool = False

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.none:
            return None
        if value == "time" or (hasattr(value, "split") and hasattr(value, "get_n_splits")):
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return Number(low=2, integer=True, what="at least 2 folds").check(name, value)
        if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
            raise _fail(
                name,
                'a number of folds (at least 2), "time", a scikit-learn splitter or a list of splits',
                value,
            )
        return value


@dataclass(frozen=True)
class Holdout:
    """``"auto"``, ``None`` or 0 (no test rows), or the share of the rows withheld as test rows (at most 0.5)."""

    def check(self, name: str, value: Any) -> Any:
        expected = '"auto", None, or a share of the rows from 0 to 0.5'
        if value is None or value == "auto":
            return value
        if isinstance(value, str):
            raise _fail(name, expected, value)
        return Number(low=0, high=0.5, what=expected).check(name, value) or None


class Anything:
    """No constraint: the value is checked where it is used (an Optuna class's own arguments)."""

    def check(self, name: str, value: Any) -> Any:
        return value


def validate(table: Mapping[str, Constraint], values: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Every value checked against its constraint; the normalised values, by name."""
    prefix = f"{where}: " if where else ""
    checked = {}
    for name, value in values.items():
        try:
            checked[name] = table[name].check(name, value)
        except ConfigError as error:
            raise ConfigError(f"{prefix}{error}") from None
    return checked
