"""The benchmark datasets: the shared manifest, one fixed 80/20 split, and one test metric per task.

Every system sees the same split and is scored by the same function, so the only thing that
differs between two rows of a benchmark table is the system.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

#: ``../shared/datasets`` beside the repository, where the project keeps its data.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
TASKS = ("binary", "multiclass", "regression")
TEST_SIZE = 0.2
SPLIT_SEED = 0


@dataclass(frozen=True)
class DatasetInfo:
    """One row of the manifest."""

    name: str
    file: str
    target: str
    task: str
    rows: int


@dataclass(frozen=True)
class Split:
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series


@dataclass(frozen=True)
class TestMetric:
    """The test metric of a task, reported in its natural form (a loss stays positive)."""

    name: str
    greater_is_better: bool

    def __call__(self, y_true: pd.Series, prediction: np.ndarray, classes: np.ndarray) -> float:
        """Score class probabilities (columns in the order of ``classes``) or regression values."""
        if self.name == "ROC AUC":
            return float(roc_auc_score(y_true.to_numpy() == classes[1], prediction[:, 1]))
        if self.name == "log loss":
            return float(log_loss(y_true.to_numpy(), prediction, labels=classes))
        return float(root_mean_squared_error(y_true.to_numpy(dtype=float), prediction))

    def oriented(self, score: float) -> float:
        """The score with greater always better, for ranking and normalising."""
        return score if self.greater_is_better else -score


METRICS = {
    "binary": TestMetric("ROC AUC", greater_is_better=True),
    "multiclass": TestMetric("log loss", greater_is_better=False),
    "regression": TestMetric("RMSE", greater_is_better=False),
}


def read_manifest(data_dir: Path = DEFAULT_DATA_DIR) -> dict[str, DatasetInfo]:
    """The datasets of ``data_dir/manifest.csv`` by name."""
    path = Path(data_dir) / "manifest.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"no dataset manifest at {path}; pass --data-dir with the folder that holds manifest.csv"
        )
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    infos = {
        r["name"]: DatasetInfo(r["name"], r["file"], r["target"], r["task"], int(r["rows"])) for r in rows
    }
    for info in infos.values():
        if info.task not in TASKS:
            raise ValueError(
                f"{path}: dataset {info.name!r} has task {info.task!r}; expected one of {list(TASKS)}"
            )
    return infos


def choose(names: str, manifest: dict[str, DatasetInfo]) -> list[DatasetInfo]:
    """``all`` or a comma-separated list of names, in manifest order for ``all``."""
    if names == "all":
        return list(manifest.values())
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in manifest]
    if unknown:
        raise ValueError(f"unknown dataset(s) {unknown}; choose from {sorted(manifest)} or 'all'")
    return [manifest[n] for n in wanted]


def load(info: DatasetInfo, data_dir: Path = DEFAULT_DATA_DIR, split_seed: int = SPLIT_SEED) -> Split:
    """The dataset's 80/20 split (fixed: seed 0, unless ``split_seed``; stratified by class for classification)."""
    frame = pd.read_csv(Path(data_dir) / info.file)
    if info.target not in frame.columns:
        raise ValueError(f"{info.file} has no target column {info.target!r}; fix the manifest")
    y = frame.pop(info.target)
    X_train, X_test, y_train, y_test = train_test_split(
        frame,
        y,
        test_size=TEST_SIZE,
        random_state=split_seed,
        stratify=None if info.task == "regression" else y,
    )
    return Split(
        X_train.reset_index(drop=True),
        y_train.reset_index(drop=True),
        X_test.reset_index(drop=True),
        y_test.reset_index(drop=True),
    )


def classes_of(y: pd.Series) -> np.ndarray:
    """The class labels in sorted order: the column order every system's probabilities follow."""
    return np.unique(y.to_numpy())
