"""Memory: how much a trial is expected to need before it starts, and the limit the search keeps to.

As AutoGluon estimates a model's memory before fitting it, a trial whose estimate is over its
share of the limit is skipped with the reason, and a worker whose process tree grows past the
limit is stopped; the search never exhausts the machine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import psutil

from automl.data import MAX_ONEHOT_CATEGORIES, Schema
from automl.spaces import FamilySpace

#: The default memory limit: this share of the machine's RAM.
DEFAULT_SHARE = 0.75
#: Bytes per node of a fitted decision tree (scikit-learn's node record and its value array).
TREE_NODE_BYTES = 96
#: Copies of the training matrix a fit holds at once (the fold's rows, the preprocessed ones, the model's own).
DATA_COPIES = 3
_UNITS = {"": 1.0, "mb": 1.0, "m": 1.0, "gb": 1000.0, "g": 1000.0, "kb": 1e-3, "tb": 1e6}


def default_limit_mb() -> float:
    return DEFAULT_SHARE * psutil.virtual_memory().total / 1e6


def parse_memory(value: float | str) -> float:
    """Megabytes from a number of MB (``8000``) or a text with a unit (``8GB``, ``500MB``); ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value <= 0:
            raise ValueError(f"a memory limit must be a positive number of MB, got {value!r}")
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*", str(value))
    if not match or match[2].lower() not in _UNITS or float(match[1]) <= 0:
        raise ValueError(f"bad memory limit {value!r}: give MB (8000) or a number with a unit (8GB, 500MB)")
    return float(match[1]) * _UNITS[match[2].lower()]


def width(schema: Schema, family: FamilySpace) -> int:
    """Columns of the matrix the family's preprocessing makes."""
    numeric = 2 * len(schema.numeric)  # each number and its missing-value indicator
    if family.categorical != "onehot":
        return numeric + len(schema.categorical)
    return numeric + sum(
        min(len(schema.categories[c]) + 1, MAX_ONEHOT_CATEGORIES) for c in schema.categorical
    )


def estimate_mb(family: FamilySpace, params: Mapping[str, Any], rows: int, schema: Schema) -> float:
    """The memory (MB) a fit of ``family`` with ``params`` on ``rows`` rows is expected to need, at most.

    The training data's copies, plus for a forest its trees: each tree holds at most two nodes
    per ``min_samples_leaf`` rows it was grown on.
    """
    estimate = DATA_COPIES * rows * width(schema, family) * 8.0
    if family.memory == "trees":
        leaf = max(int(params.get("min_samples_leaf", 1)), 1)
        trees = int(params.get("n_estimators", 100))
        estimate += trees * (2 * rows / leaf) * TREE_NODE_BYTES
    return estimate / 1e6
