"""The versions that decide whether a run can be reproduced: recorded in run.json and shown in the report."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

#: automl's main libraries.
PACKAGES = (
    "optuna",
    "scikit-learn",
    "lightgbm",
    "torch",
    "codecarbon",
    "pandas",
    "numpy",
    "pyarrow",
    "plotly",
)


def package_version(name: str) -> str | None:
    """The installed version of ``name`` (automl's own too), or None."""
    if name == "automl":
        from automl import __version__

        return __version__
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    return {
        "python": platform.python_version(),
        **{name: package_version(name) for name in ("automl", *PACKAGES)},
    }
