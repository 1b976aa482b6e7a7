"""How long ``explain()`` takes on 1,000 rows of a 30-column table (the promise: under 2 s for a tree model).

A synthetic table of 4,000 rows, 26 numeric columns (some missing values) and 4 categorical
ones; each family is fitted once with its first default configuration, then 1,000 rows are
explained a few times and the median time is kept. Shap's import is timed on its own.

    python -m benchmarks.explain_speed            # writes reports/explain_speed.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

import automl

ROOT = Path(__file__).resolve().parents[1]
ROWS, EXPLAINED, NUMERIC, CATEGORICAL = 4000, 1000, 26, 4
MAX_SECONDS = 2.0
#: A family whose explanation takes longer than this is not timed again.
SLOW_SECONDS = 20.0
FAMILIES = ("lightgbm", "hist_gradient_boosting", "extra_trees", "logistic_regression")


def table() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(
        ROWS, NUMERIC + CATEGORICAL, n_informative=12, n_redundant=4, random_state=0, flip_y=0.05
    )
    frame = pd.DataFrame(X[:, :NUMERIC], columns=[f"x{i}" for i in range(NUMERIC)])
    frame = frame.mask(np.random.default_rng(0).random(frame.shape) < 0.05)
    for i in range(CATEGORICAL):
        bins = np.digitize(X[:, NUMERIC + i], [-1, 0, 1])
        frame[f"c{i}"] = np.asarray(["low", "mid", "high", "top"])[bins]
    return frame, y


def import_seconds() -> float:
    """Seconds to import shap in a fresh interpreter."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import shap"], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "explain_speed.md")
    args = parser.parse_args()
    X, y = table()
    rows = X.sample(EXPLAINED, random_state=1)
    results = []
    for family in args.families:
        model = automl.AutoMLClassifier(preset="fast", families=[family], n_trials=1, cv=2, seed=0).fit(X, y)
        model.explain(rows.head(5))  # the first call imports shap
        seconds: list[float] = []
        while len(seconds) < args.repeats and sum(seconds) < SLOW_SECONDS:  # a slow one is timed once
            start = time.perf_counter()
            explanation = model.explain(rows)
            seconds.append(time.perf_counter() - start)
        error = float(np.abs(explanation.predicted().to_numpy() - model.predict_proba(rows)[:, 1]).max())
        results.append((family, explanation.methods[0], statistics.median(seconds), len(seconds), error))
        print(f"{family:24} {statistics.median(seconds):7.3f} s   max |sum - predict_proba| {error:.1e}")
    shap_import = import_seconds()
    print(f"import shap: {shap_import:.2f} s")
    lines = [
        "# explain() speed",
        "",
        f"`python -m benchmarks.explain_speed`, {datetime.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at the end: other processes shared them), "
        f"Python {platform.python_version()}.",
        "",
        f"{EXPLAINED:,} rows of a {NUMERIC + CATEGORICAL}-column table ({NUMERIC} numeric with 5% missing, "
        f"{CATEGORICAL} categorical), binary classification, each family's first default configuration "
        f"fitted on {ROWS:,} rows. Median of up to {args.repeats} calls of `model.explain(rows)` (one when it "
        f"takes over {SLOW_SECONDS:g} s), shap already imported. Target: under {MAX_SECONDS:g} s for a tree model.",
        "",
        "| family | method | seconds | calls | max \\|base + sum − predict_proba\\| |",
        "|---|---|---:|---:|---:|",
        *[f"| {f} | {m} | {s:.3f} | {c} | {e:.1e} |" for f, m, s, c, e in results],
        "",
        f"Importing shap in a fresh interpreter takes {shap_import:.2f} s more, once per process.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
