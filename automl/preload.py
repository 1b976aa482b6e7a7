"""Imported once by the fork server that worker processes come from (``automl.workers``).

What is imported and detected here is inherited by every worker at no cost: the model
libraries, and CodeCarbon's CPU detection (a subprocess of about a second), which it caches.
Nothing here starts a thread, so forking after it is safe.
"""

import lightgbm  # noqa: F401
import sklearn.ensemble  # noqa: F401
import sklearn.linear_model  # noqa: F401
import sklearn.neighbors  # noqa: F401
from codecarbon.core.util import detect_cpu_model

import automl.objective  # noqa: F401

detect_cpu_model()
