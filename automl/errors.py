"""The exceptions automl raises: each says what is wrong and what to do about it."""

from __future__ import annotations


class AutoMLError(Exception):
    """Base class of every error automl raises on purpose."""


class DataError(AutoMLError, ValueError):
    """The data given to ``fit`` or ``predict`` cannot be used as it is.

    It is a ``ValueError`` too, so scikit-learn's tooling treats it as bad input.
    """


class ConfigError(AutoMLError, ValueError):
    """An argument or preset names something that does not exist or is out of range."""


class SearchSpaceError(AutoMLError, ValueError):
    """A search-space YAML file is malformed; the message names the file and the key."""


class SearchError(AutoMLError, RuntimeError):
    """The search produced no usable model (for example, every trial failed)."""


class MissingDependency(AutoMLError, ImportError):
    """An optional feature needs a package that is not installed; the message says what to pip install."""
