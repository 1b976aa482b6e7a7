"""Build a candidate pipeline (preprocessing + estimator) from a family's YAML and sampled parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.pipeline import Pipeline

from automl.data import Schema, preprocessor
from automl.spaces import FamilySpace


def build(
    family: FamilySpace,
    task: str,
    params: Mapping[str, Any],
    schema: Schema,
    *,
    seed: int | None,
    threads: int,
) -> Pipeline:
    """One generic builder serves every family: constructor arguments come from the YAML."""
    kwargs: dict[str, Any] = {**family.fixed, **params}
    if family.seed_param:
        kwargs[family.seed_param] = seed
    if family.threads_param:
        kwargs[family.threads_param] = threads
    estimator = family.estimator_class(task)(**kwargs)
    return Pipeline(
        [
            (
                "preprocess",
                preprocessor(
                    schema,
                    categorical=family.categorical,
                    scale=family.scale,
                    missing=family.missing,
                    task=task,
                ),
            ),
            ("model", estimator),
        ]
    )
