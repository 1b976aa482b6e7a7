"""One (system, dataset) run, meant to be its own process: ``python -m benchmarks.run_one ...``.

It fits the system on the training split under a CodeCarbon tracker, scores the test split and
writes one JSON object to ``--result``. Peak memory is measured by the parent (``os.wait4``),
which also sees a run that crashes before it can write anything.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import datasets
from benchmarks.systems import NotInstalled, get_system


def measure(system: str, dataset: str, budget: float, seed: int, data_dir: Path) -> dict[str, Any]:
    """The run's status, test score, wall seconds and energy (error message if it failed)."""
    info = datasets.read_manifest(data_dir)[dataset]
    split = datasets.load(info, data_dir)
    adapter = get_system(system)
    os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")
    from codecarbon import OfflineEmissionsTracker

    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    tracker = OfflineEmissionsTracker(country_iso_code="USA", output_methods=[])
    record: dict[str, Any] = {"status": "ok", "error": None, "score": None}
    tracker.start()
    started = time.perf_counter()
    try:
        prediction = adapter(split.X_train, split.y_train, split.X_test, info.task, budget, seed)
    except NotInstalled as exc:
        record.update(status="not installed", error=str(exc))
    except Exception as exc:  # a benchmark records any system's failure instead of stopping
        record.update(
            status="failed",
            error=f"{type(exc).__name__}: {exc}"[:2000],
            traceback=traceback.format_exc()[-4000:],
        )
    finally:
        record["fit_seconds"] = time.perf_counter() - started
        tracker.stop()
        record["energy_kwh"] = float(tracker.final_emissions_data.energy_consumed)
        record["energy_mode"] = _cpu_mode(tracker)
    if record["status"] == "ok":
        metric = datasets.METRICS[info.task]
        record["score"] = metric(split.y_test, prediction, datasets.classes_of(split.y_train))
    return record


def _cpu_mode(tracker: Any) -> str:
    """How CodeCarbon gets CPU power here (e.g. ``intel_rapl`` measured, or a TDP estimate)."""
    from automl.compat import codecarbon_cpu

    return codecarbon_cpu(tracker).mode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--system", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--budget", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=datasets.DEFAULT_DATA_DIR)
    parser.add_argument("--result", type=Path, required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    record = measure(args.system, args.dataset, args.budget, args.seed, args.data_dir)
    args.result.write_text(json.dumps(record))


if __name__ == "__main__":
    main()
