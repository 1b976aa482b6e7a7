"""The costs a model is traded against on the Pareto front: one home for their names, columns and units."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cost:
    """One cost: its name in arguments, its leaderboard column, how a reader calls it and the unit it is drawn in."""

    name: str
    column: str
    label: str
    axis_unit: str
    axis_scale: float = 1.0


COSTS: dict[str, Cost] = {
    cost.name: cost
    for cost in (
        Cost("energy", "energy_kwh", "training energy", "Wh, cross-validation", 1000.0),
        Cost("fit_time", "fit_seconds", "fit time", "s, cross-validation"),
        Cost("latency", "predict_ms_per_1k", "prediction latency", "ms per 1,000 rows"),
        Cost("size", "model_bytes", "model size", "bytes"),
    )
}
#: Cost by leaderboard column, as the fitted ``cost_`` attribute names it.
BY_COLUMN: dict[str, Cost] = {cost.column: cost for cost in COSTS.values()}
#: Every per-trial measurement a candidate carries (the costs and the figures beside them).
MEASURES = ("fit_seconds", "cpu_seconds", "energy_kwh", "co2_kg", "predict_ms_per_1k", "model_bytes")
