"""Issue 18: how optimistic is the chosen model's cross-validated score? CV against held-out rows.

    python -m benchmarks.holdout_gap --datasets all --budget 60 --out reports/holdout_gap.md

Per dataset, one ``balanced`` search with ``holdout=0.2``: 20% of the benchmark's training split
is withheld from the search, the chosen model is scored on it once, then refit on all training
rows (the default ``refit_full``) and scored on the benchmark's own test split. The table lists
the CV score, the held-out score, their gap in the metric's units (positive: the CV score was
optimistic) and whether the gap exceeds the folds' spread, beside the test score.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import datasets
from benchmarks.run import load_records
from benchmarks.summary import fmt, machine_info, table
from benchmarks.systems import predictions

REPO = Path(__file__).resolve().parents[1]


def evaluate(info: datasets.DatasetInfo, budget: float, seed: int, data_dir: Path) -> dict[str, Any]:
    import automl

    split = datasets.load(info, data_dir)
    started = time.perf_counter()
    model = automl.fit(
        split.X_train, split.y_train, time_budget=budget, task=info.task, seed=seed, holdout=0.2
    )
    seconds = time.perf_counter() - started
    held, metric = model.holdout_, model.metric_
    test_metric = datasets.METRICS[info.task]
    test = test_metric(
        split.y_test,
        predictions(model, split.X_test, info.task, split.y_train),
        datasets.classes_of(split.y_train),
    )
    return {
        "dataset": info.name,
        "metric": metric.display_name,
        "cv": metric.display(held.cv_score),
        "cv_std": held.cv_std,
        "held_out": metric.display(held.score),
        "optimism": held.gap,  # in the greater-is-better orientation: positive when CV was optimistic
        "beyond_spread": held.suspicious,
        "refit_on_all_rows": held.refit_on_all_rows,
        "test_metric": test_metric.name,
        "test": test,
        "seconds": seconds,
        "chosen": model.chosen_.label,
    }


def summarise(records: list[dict[str, Any]], budget: float) -> str:
    failed = [r for r in records if "failed" in r]
    frame = pd.DataFrame([r for r in records if "failed" not in r])
    rows = [
        [
            r.dataset,
            r.metric,
            fmt(r.cv),
            fmt(r.held_out),
            f"{r.optimism:+.4f}",
            "yes" if r.beyond_spread else "no",
            "yes" if r.refit_on_all_rows else "no",
            f"{r.test_metric} {fmt(r.test)}",
            f"{r.seconds:.0f}",
        ]
        for r in frame.itertuples()
    ]
    optimistic = int((frame.optimism > 0).sum())
    lines = [
        "# Cross-validated against held-out scores (issue 18)",
        "",
        f"`balanced` preset, {budget:g} s, `holdout=0.2`, seed 0, one run per dataset on the benchmark's 80/20 "
        "training split. Command: `python -m benchmarks.holdout_gap --datasets all --budget "
        f"{budget:g}`. Optimism: CV minus held-out score, oriented so that positive means CV was optimistic.",
        "",
        f"The CV score was optimistic on {optimistic} of {len(frame)} datasets; median optimism "
        f"{float(np.median(frame.optimism)):+.4f}; the gap exceeded the folds' spread on "
        f"{int(frame.beyond_spread.sum())}.",
        "",
        *table(
            [
                "dataset",
                "metric",
                "CV",
                "held-out",
                "optimism",
                "beyond CV spread",
                "refit on all rows",
                "test (benchmark split)",
                "fit s",
            ],
            rows,
        ),
        "",
        *[f"- {r['dataset']}: failed: {r['failed']}" for r in failed],
        "",
        *machine_info(),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", default="all")
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=datasets.DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "holdout_gap.md")
    args = parser.parse_args()
    manifest = datasets.read_manifest(args.data_dir)
    names = list(manifest) if args.datasets == "all" else args.datasets.split(",")
    results = args.out.with_suffix(".jsonl")
    done = {record["dataset"]: record for record in load_records(results)}
    for name in names:
        if name not in done:
            try:
                done[name] = evaluate(manifest[name], args.budget, args.seed, args.data_dir)
            except Exception as error:  # a benchmark records a failure and goes on
                done[name] = {"dataset": name, "failed": f"{type(error).__name__}: {error}"[:300]}
            with results.open("a") as handle:
                handle.write(json.dumps(done[name]) + "\n")
            print(json.dumps(done[name]), flush=True)
    text = summarise([done[n] for n in names], args.budget)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
