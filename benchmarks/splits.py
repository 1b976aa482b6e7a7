"""automl before and after a change, paired over several 80/20 splits of each dataset.

One split's test set (30 rows for iris, 42 for sonar) cannot tell two versions of a search apart:
a single row moves a log loss by more than most changes do. Here each version runs on the same
splits (split seeds), and the table counts, pair by pair, how often the later label scored better.

    python -m benchmarks.splits --label base
    # ... change the code, or run the same command from a checkout of another commit ...
    python -m benchmarks.splits --label change
    python -m benchmarks.splits --compare base,change --out reports/splits_change.md

Each run fits in this process and appends one JSON line to ``--results`` at once; ``--label``
runs skip the (label, dataset, split) records already there. Energy is automl's own CodeCarbon
total (search and refit).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks import datasets
from benchmarks.systems import predictions

REPO = Path(__file__).resolve().parents[1]


def run_one(info: datasets.DatasetInfo, split_seed: int, budget: float, data_dir: Path) -> dict[str, Any]:
    import automl

    split = datasets.load(info, data_dir, split_seed)
    started = time.perf_counter()
    model = automl.fit(split.X_train, split.y_train, time_budget=budget, task=info.task, seed=0)
    fit_seconds = time.perf_counter() - started
    metric = datasets.METRICS[info.task]
    prediction = predictions(model, split.X_test, info.task, split.y_train)
    board = model.leaderboard_
    return {
        "dataset": info.name,
        "split": split_seed,
        "metric": metric.name,
        "score": metric(split.y_test, prediction, datasets.classes_of(split.y_train)),
        "fit_seconds": fit_seconds,
        "energy_wh": model.total_energy_.energy_kwh * 1000,
        "complete_trials": int((board.state == "complete").sum()),
        "stop": model.stop_reason_,
        "chosen": model.chosen_.label,
    }


def compare(records: list[dict[str, Any]], before: str, after: str) -> str:
    """A markdown table of the paired runs of labels ``before`` and ``after``."""
    runs = {(r["label"], r["dataset"], r["split"]): r for r in records}
    pairs = sorted({(d, s) for label, d, s in runs if label == after and (before, d, s) in runs})
    lines = [
        f"| dataset | metric | split | {before} | {after} | {before} s | {after} s | {after} chose |",
        "|---|---|---|---|---|---|---|---|",
    ]
    tally = {"better": 0, "worse": 0, "same": 0}
    seconds = {before: 0.0, after: 0.0}
    energy = {before: 0.0, after: 0.0}
    for dataset, split_seed in pairs:
        a, b = runs[before, dataset, split_seed], runs[after, dataset, split_seed]
        oriented = datasets.METRICS[_task(a["metric"])].oriented
        change = oriented(b["score"]) - oriented(a["score"])
        tally["same" if abs(change) < 1e-9 else "better" if change > 0 else "worse"] += 1
        for label, run in ((before, a), (after, b)):
            seconds[label] += run["fit_seconds"]
            energy[label] += run.get("energy_wh") or float("nan")
        lines.append(
            f"| {dataset} | {a['metric']} | {split_seed} | {a['score']:.4f} | {b['score']:.4f} | "
            f"{a['fit_seconds']:.1f} | {b['fit_seconds']:.1f} | {b['chosen']} |"
        )
    summary = (
        f"{after} against {before} over {len(pairs)} paired runs: {tally['better']} better, "
        f"{tally['worse']} worse, {tally['same']} the same; fit {seconds[before]:.0f} s against "
        f"{seconds[after]:.0f} s, automl's energy {energy[before]:.3f} Wh against {energy[after]:.3f} Wh "
        "(nan where a run did not record it)."
    )
    return "\n".join([summary, "", *lines])


def _task(metric: str) -> str:
    return next(task for task, m in datasets.METRICS.items() if m.name == metric)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--label", help="run the search under this label (a version of the code)")
    action.add_argument("--compare", help="BEFORE,AFTER: the paired table of two labels")
    parser.add_argument("--datasets", default="iris,penguins,auto_mpg,sonar,titanic,breast_cancer,abalone")
    parser.add_argument("--splits", default="0,1,2,3", help="comma-separated split seeds")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--results", type=Path, default=REPO / "reports" / "splits.jsonl")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "splits.md")
    parser.add_argument("--data-dir", type=Path, default=datasets.DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    records = (
        [json.loads(line) for line in args.results.read_text().splitlines()] if args.results.exists() else []
    )
    if args.compare:
        before, after = args.compare.split(",")
        table = compare(records, before, after)
        args.out.write_text(f"# {after} against {before}, paired over 80/20 splits\n\n{table}\n")
        print(table)
        return
    done = {(r["label"], r["dataset"], r["split"]) for r in records}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO)
    warnings.filterwarnings("ignore")
    for info in datasets.choose(args.datasets, datasets.read_manifest(args.data_dir)):
        for split_seed in (int(s) for s in args.splits.split(",")):
            if (args.label, info.name, split_seed) in done:
                continue
            record = {"label": args.label, "commit": commit.stdout.strip(), "budget": args.budget}
            record.update(run_one(info, split_seed, args.budget, args.data_dir))
            with args.results.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
