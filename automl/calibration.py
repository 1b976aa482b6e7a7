"""How well predicted probabilities match observed frequencies: a reliability table and the expected calibration error.

A binary task is read on the positive class's probability; a multiclass one on its top label
(the most probable class's probability against how often that class is right). Rows are
grouped into equal-width bins of probability; the expected calibration error is the row-weighted
mean gap between a bin's mean probability and its observed frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Equal-width probability bins of the reliability diagram.
BINS = 10


@dataclass(frozen=True)
class Reliability:
    """Per bin: rows, mean predicted probability and observed frequency; and the expected calibration error."""

    table: pd.DataFrame
    ece: float
    what: str


def reliability(y: np.ndarray, proba: np.ndarray, bins: int = BINS) -> Reliability:
    """The reliability of class probabilities ``proba`` (rows x classes) for the encoded labels ``y``."""
    if proba.shape[1] == 2:
        confidence, hit, what = proba[:, 1], (y == 1).astype(float), "the positive class's probability"
    else:
        confidence = proba.max(axis=1)
        hit = (proba.argmax(axis=1) == y).astype(float)
        what = "the most probable class's probability (top label)"
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "confidence": confidence, "frequency": hit})
    table = frame.groupby("bin").agg(
        rows=("confidence", "size"), confidence=("confidence", "mean"), frequency=("frequency", "mean")
    )
    table["low"], table["high"] = edges[table.index], edges[table.index + 1]
    ece = float((table.rows * (table.confidence - table.frequency).abs()).sum() / len(y))
    return Reliability(table.reset_index(drop=True), ece, what)
