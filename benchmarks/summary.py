"""The markdown summary of benchmark records: scores, ranks, wins, normalised scores, overruns, energy."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.datasets import METRICS

BASELINE = "random_forest_default"
FAILED = ("failed", "crashed", "timeout")
CELL = {"failed": "failed", "crashed": "crashed", "timeout": "timeout", "not installed": "not installed"}
PACKAGES = (
    "scikit-learn",
    "lightgbm",
    "optuna",
    "codecarbon",
    "pandas",
    "flaml",
    "autogluon.tabular",
    "mljar-supervised",
    "xgboost",
    "catboost",
    "torch",
)
GREATER_IS_BETTER = {m.name: m.greater_is_better for m in METRICS.values()}
#: The promise every system is held to: fit within 1.1 x budget + 5 s.
OVERRUN_FACTOR, OVERRUN_SECONDS = 1.1, 5.0
COLUMNS = ("score", "error", "fit_seconds", "energy_kwh", "energy_mode", "peak_memory_mb", "overrun")


def overrun_limit(budget: float) -> float:
    return OVERRUN_FACTOR * budget + OVERRUN_SECONDS


def machine_info() -> list[str]:
    """Markdown lines naming the machine and the package versions, for the report header."""
    cpu = platform.processor() or "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as handle:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu
            )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    import automl

    return [
        f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- Machine: {cpu}, {os.cpu_count()} logical cores, {memory:.0f} GiB RAM, {platform.platform()}",
        f"- Python {platform.python_version()}; automl {automl.__version__}; {', '.join(versions)}",
    ]


def fmt(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def oriented_scores(frame: pd.DataFrame, systems: Sequence[str], names: Sequence[str]) -> pd.DataFrame:
    """Mean test score per dataset x system over the successful repeats, signed so greater is better."""
    ok = frame[frame.status == "ok"]
    scores = (
        ok.groupby(["dataset", "system"])
        .score.mean()
        .unstack()
        .reindex(index=list(names), columns=list(systems))
    )
    metric = frame.groupby("dataset").metric.first().reindex(scores.index)
    sign = metric.map(lambda m: 1.0 if GREATER_IS_BETTER.get(m, True) else -1.0)
    return scores.mul(sign, axis=0)


def win_loss(oriented: pd.DataFrame, ours: str, peer: str) -> tuple[int, int, int]:
    """Wins, ties, losses of ``ours`` against ``peer``; a failed run loses to one that scored."""
    pairs = oriented[[ours, peer]].dropna(how="all")
    a, b = pairs[ours].fillna(-np.inf), pairs[peer].fillna(-np.inf)
    return int((a > b).sum()), int((a == b).sum()), int((a < b).sum())


def normalized(oriented: pd.DataFrame) -> pd.DataFrame:
    """(score - random forest) / (best observed - random forest): 0 = the default forest, 1 = the best seen."""
    gap = oriented.max(axis=1) - oriented[BASELINE]
    return oriented.sub(oriented[BASELINE], axis=0).div(gap.where(gap > 0), axis=0)


def report(
    records: list[dict[str, Any]],
    systems: Sequence[str],
    names: Sequence[str],
    budget: float,
    repeats: int,
    command: str,
    title: str = "Benchmarks",
) -> str:
    """The markdown report of ``records`` (the latest record per system, dataset, budget and repeat)."""
    if not records:
        return f"# {title}\n\nNo runs recorded yet.\n"
    frame = pd.DataFrame(records)
    frame = frame.reindex(columns=[*frame.columns, *(c for c in COLUMNS if c not in frame.columns)])
    frame["overrun"] = frame["overrun"].fillna(False).astype(bool)
    frame["fit_seconds"] = frame["fit_seconds"].fillna(frame["process_seconds"])
    counts = frame.status.value_counts()
    installed = [s for s in systems if (frame[frame.system == s].status != "not installed").any()]
    oriented = oriented_scores(frame, systems, names)
    ranked = oriented[installed].dropna(how="all")
    ranks = ranked.rank(axis=1, ascending=False, na_option="bottom").mean()
    norm = normalized(oriented[installed]).mean() if BASELINE in installed else pd.Series(dtype=float)
    modes = sorted(set(frame.energy_mode.dropna()))
    lines = [
        f"# {title}",
        "",
        "Reproduce with:",
        "",
        f"    {command}",
        "",
        *machine_info(),
        f"- Runs: {len(frame)} ({', '.join(f'{n} {s}' for s, n in counts.items())}); {len(names)} datasets x "
        f"{len(systems)} systems x {repeats} repeat(s) (seeds 0..{repeats - 1}); budget {budget:g} s per run",
        "- Split: 80/20, seed 0, stratified for classification. Test metric: ROC AUC (binary, higher is better), "
        "log loss (multiclass, lower is better), RMSE (regression, lower is better).",
        "- Energy: CodeCarbon OfflineEmissionsTracker(country_iso_code='USA'), machine-wide, around the whole fit "
        f"and predict; CPU power mode {', '.join(modes) or 'unknown'} (not RAPL means estimated from load and TDP, "
        "with a fixed RAM power). Peak memory: the run's process tree (ru_maxrss via os.wait4).",
        "",
        "## Summary",
        "",
    ]
    rows = []
    for system in systems:
        runs = frame[frame.system == system]
        if system not in installed:
            rows.append([system, len(runs), "not installed", *[""] * 7])
            continue
        fit = runs.fit_seconds
        rows.append(
            [
                system,
                len(runs),
                int(runs.status.isin(FAILED).sum()),
                f"{ranks.get(system, np.nan):.2f}",
                fmt(norm.get(system, np.nan)),
                f"{int(runs.overrun.sum())}/{len(runs)}",
                f"{fit.median():.1f}",
                f"{fit.max():.1f}",
                f"{runs.peak_memory_mb.max():.0f}",
                f"{runs.energy_kwh.fillna(0).sum():.6f}",
            ]
        )
    lines += table(
        [
            "system",
            "runs",
            "failures",
            "mean rank",
            "mean normalized score",
            "budget overruns",
            "median fit s",
            "max fit s",
            "max peak memory MB",
            "energy kWh (total)",
        ],
        rows,
    )
    lines += [
        "",
        f"Mean rank: over the {len(ranked)} datasets where any system scored (1 = best; a failed run ranks last). "
        f"Normalized score: (score - {BASELINE}) / (best observed - {BASELINE}), sign-adjusted for losses, "
        "averaged over the datasets where the system scored and the forest was not itself the best. "
        f"Budget overrun: fit + predict took longer than {OVERRUN_FACTOR:g} x budget + {OVERRUN_SECONDS:g} s "
        f"({overrun_limit(budget):g} s).",
    ]
    ours = [s for s in installed if s.split(":")[0] == "automl"]
    peers = [s for s in installed if s not in ours]
    if ours and peers:
        lines += ["", "## Wins of automl (wins-ties-losses over datasets)", ""]
        lines += table(["", *peers], [[a, *[_wins(oriented, a, p) for p in peers]] for a in ours])
    lines += [
        "",
        "## Test score per dataset",
        "",
        f"Mean over {repeats} repeat(s); best per dataset in bold.",
        "",
    ]
    lines += table(["dataset", "metric", *systems], _score_rows(frame, oriented, systems, names))
    failures = frame[frame.status.isin(FAILED)]
    if not failures.empty:
        lines += ["", "## Failures", ""]
        lines += [
            f"- {r.system} on {r.dataset} (seed {r.seed}): {r.status}: {r.error}"
            for r in failures.itertuples()
        ]
    return "\n".join(lines) + "\n"


def _wins(oriented: pd.DataFrame, ours: str, peer: str) -> str:
    wins, ties, losses = win_loss(oriented, ours, peer)
    total = wins + ties + losses
    return f"{wins}-{ties}-{losses} ({(wins + ties / 2) / total:.0%})" if total else ""


def _score_rows(
    frame: pd.DataFrame, oriented: pd.DataFrame, systems: Sequence[str], names: Sequence[str]
) -> list[list[str]]:
    status = frame.groupby(["dataset", "system"]).status.agg(lambda s: s.mode().iloc[0])
    rows = []
    for name in names:
        metric = frame.loc[frame.dataset == name, "metric"]
        best = oriented.loc[name].max()
        cells = []
        for system in systems:
            value = oriented.at[name, system]
            if pd.isna(value):
                cells.append(CELL.get(status.get((name, system)), "-"))
                continue
            text = fmt(value if GREATER_IS_BETTER.get(metric.iloc[0], True) else -value)
            cells.append(f"**{text}**" if value == best else text)
        rows.append([name, metric.iloc[0] if len(metric) else "", *cells])
    return rows
