"""Optional packages: imported on first use, with the command that installs them when they are missing."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

from automl.errors import MissingDependency


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """The module ``module``; a ``MissingDependency`` naming the pip command that installs it when it is absent."""
    try:
        with (
            warnings.catch_warnings()
        ):  # the package's own deprecation notices are not the caller's to act on
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise MissingDependency(
            f"{purpose} needs the package '{package}', which is not installed: "
            f'pip install {package} (or, in automl\'s checkout, pip install ".[{extra}]")'
        ) from None
