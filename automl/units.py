"""Numbers as people read them: energy in Wh or mWh, CO2 in grams, durations in minutes."""

from __future__ import annotations

import math

MISSING = "—"


def _finite(value: float | None) -> float | None:
    """``value`` as a float, or None when it is missing or not finite."""
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _scaled(value: float, units: tuple[tuple[float, str], ...]) -> str:
    """``value`` in the largest unit it reaches, to 3 significant digits."""
    for factor, unit in units:
        if abs(value) >= factor:
            return f"{value / factor:.3g} {unit}"
    factor, unit = units[-1]
    return f"{value / factor:.3g} {unit}" if value else f"0 {unit}"


def energy(kwh: float | None) -> str:
    finite = _finite(kwh)
    return (
        MISSING
        if finite is None
        else _scaled(finite, ((1.0, "kWh"), (1e-3, "Wh"), (1e-6, "mWh"), (1e-9, "µWh")))
    )


def mass(kg: float | None) -> str:
    finite = _finite(kg)
    return (
        MISSING if finite is None else _scaled(finite, ((1.0, "kg"), (1e-3, "g"), (1e-6, "mg"), (1e-9, "µg")))
    )


def size(n_bytes: float | None) -> str:
    finite = _finite(n_bytes)
    return MISSING if finite is None else _scaled(finite, ((1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B")))


def duration(value: float | None) -> str:
    seconds = _finite(value)
    if seconds is None:
        return MISSING
    if seconds < 1:
        return f"{seconds * 1000:.3g} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def number(value: float | None, digits: int = 4) -> str:
    finite = _finite(value)
    return MISSING if finite is None else f"{finite:.{digits}g}"


def value(item: object) -> str:
    """A hyperparameter value: floats to 4 significant digits, everything else as written."""
    if isinstance(item, float):
        return number(item)
    return str(item)


def params(mapping: dict[str, object]) -> str:
    return ", ".join(f"{k}={value(v)}" for k, v in mapping.items())


#: kWh per unit of an energy written with one.
ENERGY_UNITS = {"kwh": 1.0, "wh": 1e-3, "mwh": 1e-6, "j": 1 / 3.6e6, "kj": 1 / 3.6e3}


def parse_energy(value: float | str) -> float:
    """kWh from a number of Wh (``0.5``) or a text with a unit (``0.5Wh``, ``500mWh``, ``0.001kWh``, ``1800J``).

    Raises ValueError naming what is accepted.
    """
    import re

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"an energy budget must be a positive number of Wh, got {value!r}")
        return float(value) * ENERGY_UNITS["wh"]
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?\s*([a-zA-Z]*)\s*", str(value))
    unit = (match[3] if match else "").lower() or "wh"
    if not match or unit not in ENERGY_UNITS or float(match[1]) <= 0:
        raise ValueError(
            f"bad energy budget {value!r}: give Wh (0.5) or a number with a unit "
            "(0.5Wh, 500mWh, 0.001kWh, 1800J)"
        )
    return float(match[1]) * 10 ** int(match[2] or 0) * ENERGY_UNITS[unit]


def clock(seconds: float) -> str:
    """``42s``, ``4m10s``, ``1h02m``: short enough for a progress line."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
