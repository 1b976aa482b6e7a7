"""automl: cost-aware AutoML over declarative search spaces, with Optuna and CodeCarbon."""

from automl.errors import AutoMLError, ConfigError, DataError, SearchError, SearchSpaceError
from automl.estimator import AutoMLClassifier, AutoMLRegressor, fit, load
from automl.presets import available_presets, load_preset
from automl.spaces import load_spaces

__version__ = "0.1.0"

__all__ = [
    "AutoMLClassifier",
    "AutoMLError",
    "AutoMLRegressor",
    "ConfigError",
    "DataError",
    "SearchError",
    "SearchSpaceError",
    "__version__",
    "available_presets",
    "fit",
    "load",
    "load_preset",
    "load_spaces",
]
