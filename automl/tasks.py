"""The learning tasks automl knows, and the one test of which kind a task is."""

from __future__ import annotations

BINARY, MULTICLASS, REGRESSION = "binary", "multiclass", "regression"
TASKS = (BINARY, MULTICLASS, REGRESSION)
CLASSIFICATION_TASKS = (BINARY, MULTICLASS)


def is_regression(task: str) -> bool:
    """Whether ``task`` predicts numbers (else class labels)."""
    return task == REGRESSION


def task_kind(task: str) -> str:
    """``regression`` or ``classification``: the key of a family's estimator for the task."""
    return "regression" if is_regression(task) else "classification"
