"""Run systems x datasets, each run in its own process, and write a markdown summary.

    python -m benchmarks.run --systems automl,lightgbm_default,random_forest_default,optuna_lightgbm \\
        --datasets all --budget 60 --out reports/benchmarks.md

Each finished run is appended to a JSONL file at once, so a crash loses nothing and
``--resume`` skips the runs already there. The summary covers exactly the requested
systems, datasets, budget and repeats.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import datasets, summary
from benchmarks.systems import get_system

REPO = Path(__file__).resolve().parents[1]
#: A run still going after 3 x budget + 300 s is killed and recorded as a timeout.
KILL_FACTOR, KILL_SECONDS = 3.0, 300.0


def run_pair(
    system: str, info: datasets.DatasetInfo, budget: float, repeat: int, data_dir: Path
) -> dict[str, Any]:
    """Run one system on one dataset in a child process; the record to append."""
    record: dict[str, Any] = {
        "system": system,
        "dataset": info.name,
        "task": info.task,
        "metric": datasets.METRICS[info.task].name,
        "budget": budget,
        "repeat": repeat,
        "seed": repeat,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        result, log = Path(scratch) / "result.json", Path(scratch) / "log.txt"
        command = [
            sys.executable,
            "-m",
            "benchmarks.run_one",
            "--system",
            system,
            "--dataset",
            info.name,
            "--budget",
            str(budget),
            "--seed",
            str(repeat),
            "--data-dir",
            str(data_dir),
            "--result",
            str(result),
        ]
        wall = time.perf_counter()
        with log.open("wb") as output:
            child = subprocess.Popen(
                command,
                cwd=REPO,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "CODECARBON_LOG_LEVEL": "error"},
            )
            code, usage, killed = _wait(child, KILL_FACTOR * budget + KILL_SECONDS)
        record["process_seconds"] = time.perf_counter() - wall
        record["peak_memory_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
        if result.is_file():
            record.update(json.loads(result.read_text()))
        else:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            reason = "killed after the hard time limit" if killed else f"exit code {code}"
            record.update(
                status="timeout" if killed else "crashed", score=None, error=f"{reason}: {tail[0][:500]}"
            )
    record["overrun"] = record.get("fit_seconds", record["process_seconds"]) > summary.overrun_limit(budget)
    return record


def _wait(child: subprocess.Popen[bytes], limit: float) -> tuple[int, Any, bool]:
    """Wait for the child and its own rusage (``os.wait4``); kill its process group past ``limit``."""
    deadline = time.monotonic() + limit
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode, usage, False
        if time.monotonic() > deadline:
            os.killpg(child.pid, signal.SIGKILL)
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode, usage, True
        time.sleep(0.2)


def load_records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def key(record: dict[str, Any]) -> tuple[str, str, float, int]:
    return record["system"], record["dataset"], float(record["budget"]), int(record["repeat"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--systems",
        default="automl,lightgbm_default,random_forest_default,optuna_lightgbm",
        help="comma-separated; automl:PRESET runs automl with another preset",
    )
    parser.add_argument("--datasets", default="all", help="'all' or comma-separated names from the manifest")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--repeats", type=int, default=1, help="runs per pair, with seeds 0..repeats-1")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "benchmarks.md")
    parser.add_argument("--results", type=Path, default=REPO / "reports" / "benchmark_results.jsonl")
    parser.add_argument("--data-dir", type=Path, default=datasets.DEFAULT_DATA_DIR)
    parser.add_argument(
        "--resume", action="store_true", help="skip pairs already in --results (except 'not installed')"
    )
    parser.add_argument("--title", default="Benchmarks", help="the report's heading")
    parser.add_argument(
        "--append",
        type=Path,
        action="append",
        default=[],
        help="a markdown report to append as sections (e.g. reports/green.md); repeatable",
    )
    args = parser.parse_args(argv)
    if args.budget <= 0 or args.repeats < 1:
        parser.error("--budget must be positive and --repeats at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    try:
        for system in systems:
            get_system(system)
        infos = datasets.choose(args.datasets, datasets.read_manifest(args.data_dir))
    except (ValueError, FileNotFoundError) as exc:
        sys.exit(f"error: {exc}")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    done = (
        {key(r) for r in load_records(args.results) if r["status"] != "not installed"}
        if args.resume
        else set()
    )
    for repeat in range(args.repeats):
        for info in infos:
            for system in systems:
                if (system, info.name, args.budget, repeat) in done:
                    continue
                record = run_pair(system, info, args.budget, repeat, args.data_dir)
                with args.results.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
                score = "-" if record["score"] is None else f"{record['score']:.4f}"
                print(
                    f"{info.name:22} {system:22} {record['status']:13} {record['metric']} {score:>8} "
                    f"{record.get('fit_seconds', record['process_seconds']):7.1f} s",
                    flush=True,
                )
    wanted = {(s, i.name, args.budget, r) for s in systems for i in infos for r in range(args.repeats)}
    latest = {key(r): r for r in load_records(args.results) if key(r) in wanted}
    command = "python -m benchmarks.run " + shlex.join(argv if argv is not None else sys.argv[1:])
    text = summary.report(
        list(latest.values()),
        systems,
        [i.name for i in infos],
        args.budget,
        args.repeats,
        command,
        args.title,
    )
    for extra in args.append:
        text += "\n" + re.sub(r"^#", "##", extra.read_text(), flags=re.MULTILINE)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
