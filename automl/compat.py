"""The only place automl reads other libraries' private attributes, where they have no public API.

Each access here has its own test (``tests/test_compat.py``), so an upgrade that moves one fails
there, by name, instead of somewhere deep in a search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScorerParts:
    """What a scikit-learn scorer computes, so that stored predictions can be scored without an estimator.

    scikit-learn scores an estimator (``scorer(estimator, X, y)``); it has no public way to score
    predictions already made, nor to pass ``labels`` to ``log_loss`` when a fold lacks a class.
    """

    score_func: Any
    sign: int
    kwargs: dict[str, Any]
    response_method: str | tuple[str, ...]


def is_scorer(value: Any) -> bool:
    """Whether ``value`` is a scikit-learn scorer (``make_scorer``'s result), not a plain function."""
    return hasattr(value, "_score_func")


def scorer_parts(scorer: Any) -> ScorerParts:
    return ScorerParts(scorer._score_func, int(scorer._sign), dict(scorer._kwargs), scorer._response_method)


@dataclass(frozen=True)
class CpuPower:
    """How CodeCarbon obtains CPU power: ``mode`` (``intel_rapl``, ..., or an estimate) and the TDP it uses."""

    mode: str
    tdp_watts: float | None


def codecarbon_cpu(tracker: Any) -> CpuPower:
    """CodeCarbon reports power and energy publicly, but not whether they were measured or estimated."""
    cpu = next((h for h in tracker._hardware if type(h).__name__ == "CPU"), None)
    tdp = getattr(cpu, "_tdp", None)
    return CpuPower(mode=str(getattr(cpu, "_mode", "unknown")), tdp_watts=None if tdp is None else float(tdp))
