"""How big and how slow the HTML report is for a 500-trial search (the promise: under 10 MB, under 5 s).

A real search, made cheap: iris (150 rows), two fast families, 2 folds, until 500 trials
have run. Then the report is written a few times and the median time is kept.

    python -m benchmarks.report_size            # writes reports/report_benchmark.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from sklearn.datasets import load_iris

import automl
from automl.report import figures, write_report
from automl.report.chosen import Unavailable

MAX_BYTES = 10_000_000
MAX_SECONDS = 5.0
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="report writes timed; the median is reported")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "report_benchmark.md")
    parser.add_argument("--html", type=Path, help="keep the report here (default: a temporary folder)")
    args = parser.parse_args()

    X, y = load_iris(return_X_y=True, as_frame=True)
    started = time.perf_counter()
    model = automl.AutoMLClassifier(preset="fast", families=["logistic_regression", "knn"], n_trials=args.trials,
                                    time_budget=3600, cv=2, seed=0).fit(X, y)
    search_seconds = time.perf_counter() - started
    states = model.leaderboard_.state.value_counts().to_dict()
    print(f"search: {len(model.leaderboard_)} trials {states} in {search_seconds:.0f} s")

    with tempfile.TemporaryDirectory() as scratch:
        path = args.html or Path(scratch) / "report.html"
        seconds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            write_report(model, path)
            seconds.append(time.perf_counter() - started)
        size = path.stat().st_size
    median = statistics.median(seconds)
    try:
        importances = figures.param_importances(model).caption
    except Unavailable as missing:
        importances = f"not drawn: {missing}"
    verdict = "PASS" if size < MAX_BYTES and median < MAX_SECONDS else "FAIL"
    print(f"report: {size / 1e6:.2f} MB, written in {median:.2f} s (median of {args.repeats}; all: "
          f"{', '.join(f'{s:.2f}' for s in seconds)}) -> {verdict}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"""# HTML report: size and rendering time

`python -m benchmarks.report_size` on {datetime.date.today().isoformat()}: a real search on iris (150 rows),
families logistic_regression and knn, 2-fold CV, `n_trials={args.trials}`; then `write_report` timed
{args.repeats} times.

| what | value | limit |
| --- | --- | --- |
| trials in the report | {len(model.leaderboard_)} ({", ".join(f"{n} {s}" for s, n in states.items())}) | |
| report size | {size / 1e6:.2f} MB | < {MAX_BYTES / 1e6:.0f} MB |
| time to write the report (median) | {median:.2f} s (runs: {", ".join(f"{s:.2f} s" for s in seconds)}) | < {MAX_SECONDS:.0f} s |
| verdict | **{verdict}** | |

Chosen: {model.chosen_["family"]} (trial #{model.chosen_["number"]}). Hyperparameter importances: {importances}

The search itself took {search_seconds:.0f} s. Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs,
Python {platform.python_version()}, automl {automl.__version__}. About 4.8 MB of the size is plotly.js, inlined once.
""", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
