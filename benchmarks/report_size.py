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
CHROMIUM = Path("/usr/bin/chromium")
ALL_DRAWN = "() => Array.from(document.querySelectorAll('.plotly-graph-div')).every(d => d._fullLayout)"


def browser_seconds(path: Path, repeats: int) -> list[float]:
    """Seconds from opening the file in headless Chromium (network off) until every plot is drawn."""
    from playwright.sync_api import sync_playwright

    seconds = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        for _ in range(repeats):
            page = browser.new_context(offline=True, viewport={"width": 1366, "height": 900}).new_page()
            started = time.perf_counter()
            page.goto(path.resolve().as_uri(), wait_until="load")
            page.wait_for_function(ALL_DRAWN, timeout=60_000)
            seconds.append(time.perf_counter() - started)
            page.context.close()
        browser.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3, help="report writes timed; the median is reported")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "report_benchmark.md")
    parser.add_argument("--html", type=Path, help="keep the report here (default: a temporary folder)")
    args = parser.parse_args()

    X, y = load_iris(return_X_y=True, as_frame=True)
    started = time.perf_counter()
    model = automl.AutoMLClassifier(
        preset="fast",
        families=["logistic_regression", "knn"],
        n_trials=args.trials,
        time_budget=3600,
        cv=2,
        seed=0,
        stop_when_converged=False,  # the point is a report of 500 trials, not a converged search
    ).fit(X, y)
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
        opened = browser_seconds(path, args.repeats) if CHROMIUM.exists() else []
    median = statistics.median(seconds)
    render = statistics.median(opened) if opened else None
    render_row = (
        f"{render:.2f} s (runs: {', '.join(f'{s:.2f} s' for s in opened)})"
        if render is not None
        else f"not measured: {CHROMIUM} missing (apt-get install chromium)"
    )
    try:
        importances = figures.param_importances(model).caption
    except Unavailable as missing:
        importances = f"not drawn: {missing}"
    verdict = "PASS" if size < MAX_BYTES and median < MAX_SECONDS and (render or 0) < MAX_SECONDS else "FAIL"
    print(
        f"report: {size / 1e6:.2f} MB, written in {median:.2f} s (median of {args.repeats}; all: "
        f"{', '.join(f'{s:.2f}' for s in seconds)}) -> {verdict}"
    )

    trials = f"{len(model.leaderboard_)} ({', '.join(f'{n} {s}' for s, n in states.items())})"
    writes = f"{median:.2f} s (runs: {', '.join(f'{s:.2f} s' for s in seconds)})"
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs"
    table = "\n".join(
        [
            "| what | value | limit |",
            "| --- | --- | --- |",
            f"| trials in the report | {trials} | |",
            f"| report size | {size / 1e6:.2f} MB | < {MAX_BYTES / 1e6:.0f} MB |",
            f"| time to write the report (median) | {writes} | < {MAX_SECONDS:.0f} s |",
            f"| time to open it in headless Chromium until every plot is drawn (median) | {render_row} "
            f"| < {MAX_SECONDS:.0f} s |",
            f"| verdict | **{verdict}** | |",
        ]
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# HTML report: size and rendering time\n\n"
        f"`python -m benchmarks.report_size` on {datetime.date.today().isoformat()}: "
        "a real search on iris (150 rows),\n"
        f"families logistic_regression and knn, 2-fold CV, `n_trials={args.trials}`; then `write_report` timed\n"
        f"{args.repeats} times, and the written file opened {len(opened)} times "
        "in headless Chromium with the network off.\n\n"
        f"{table}\n\n"
        f"Chosen: {model.chosen_.label}. Hyperparameter importances: {importances}\n\n"
        f"The search itself took {search_seconds:.0f} s. Machine: {machine},\n"
        f"Python {platform.python_version()}, automl {automl.__version__}. "
        "About 4.8 MB of the size is plotly.js, inlined once.\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
