"""Energy and CO2 of training, measured with CodeCarbon, and the other costs of a model.

CodeCarbon is slow to start (hardware detection) and samples power periodically, so each
process keeps one long-lived offline tracker and measures every trial as a task on it. The
tracker starts in a background thread while the data is prepared, so that its start-up
(about 1.4 s, mostly a CPU-detection subprocess) overlaps work the search does anyway.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from automl.compat import codecarbon_cpu
from automl.errors import ConfigError
from automl.versions import package_version

DEFAULT_COUNTRY = "USA"
#: CPU modes in which CodeCarbon reads power counters instead of estimating power from load.
MEASURED_MODES = ("intel_rapl", "intel_power_gadget", "apple_powermetrics")


def check_country(country: str) -> str:
    """``country`` if CodeCarbon knows its electricity mix, else a ConfigError listing how to write one."""
    with quiet_codecarbon():
        from codecarbon.input import DataSource

        known = DataSource().get_global_energy_mix_data()
    if not isinstance(country, str) or country.upper() not in known:
        raise ConfigError(
            f"unknown country {country!r}: give the 3-letter ISO code of the electricity mix that "
            f"turns energy into CO2, such as 'USA', 'FRA' or 'DEU' ({len(known)} are known)"
        )
    return country.upper()


@contextmanager
def quiet_codecarbon() -> Iterator[None]:
    """CodeCarbon's chatter hidden while automl calls it, and the user's own logging level restored after."""
    logger = logging.getLogger("codecarbon")
    level = logger.level
    import codecarbon  # noqa: F401  (its first import sets the logger's level: the user's is kept from before it)

    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass
class Energy:
    """What one measured block of work consumed."""

    energy_kwh: float = 0.0
    cpu_kwh: float = 0.0
    ram_kwh: float = 0.0
    gpu_kwh: float = 0.0
    co2_kg: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def __add__(self, other: Energy) -> Energy:
        return Energy(**{k: v + getattr(other, k) for k, v in asdict(self).items()})

    @classmethod
    def total(cls, rows: Any) -> Energy:
        """The energy of leaderboard rows (a DataFrame), summed; rows without a figure count 0."""
        return cls(**{k: float(rows[k].fillna(0).sum()) for k in ("energy_kwh", "co2_kg")})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class EnergyMeter:
    """One offline CodeCarbon tracker per process; ``measure()`` is one task on it.

    ``overhead_seconds`` is what tracking adds to a search: the time spent waiting for the
    tracker to finish starting, the CPU its start-up took from this process meanwhile, and the
    time inside every task's bookkeeping.
    """

    _instances: dict[str, EnergyMeter] = {}

    def __init__(self, country: str = DEFAULT_COUNTRY) -> None:
        with quiet_codecarbon():
            from codecarbon import OfflineEmissionsTracker

            try:
                self.tracker = OfflineEmissionsTracker(
                    country_iso_code=country,
                    output_methods=[],
                    log_level="error",
                    tracking_mode="process",
                )
            except Exception as exc:  # CodeCarbon raises plain exceptions for unknown country codes
                raise ConfigError(
                    f"CodeCarbon cannot use country {country!r} ({exc}); "
                    "give a 3-letter ISO code such as 'USA' or 'FRA'"
                ) from None
        self.country = country
        self._last: Any = None
        self.overhead_seconds = 0.0
        self._startup_cpu = 0.0
        self._owner = threading.get_ident()
        self._starting: threading.Thread | None = threading.Thread(
            target=self._start, name="codecarbon-start", daemon=True
        )
        self._starting.start()

    def _start(self) -> None:
        process, owner = time.process_time(), _thread_cpu(self._owner)
        with quiet_codecarbon():
            self.tracker.start()
        self._startup_cpu = (time.process_time() - process) - (_thread_cpu(self._owner) - owner)

    def _ready(self) -> None:
        """Wait for the start-up once, and count the wait and the start-up's CPU as overhead."""
        if self._starting is None:
            return
        waiting = time.perf_counter()
        self._starting.join()
        self._starting = None
        self.overhead_seconds += (time.perf_counter() - waiting) + max(self._startup_cpu, 0.0)

    @classmethod
    def for_country(cls, country: str = DEFAULT_COUNTRY) -> EnergyMeter:
        """The process's meter for that country, started once."""
        key = f"{os.getpid()}:{country}"
        if key not in cls._instances:
            cls._instances[key] = cls(country)
        return cls._instances[key]

    @contextmanager
    def measure(self, name: str = "task") -> Iterator[Energy]:
        """Measure the block; the yielded Energy is filled in when the block ends, even on error."""
        self._ready()
        result = Energy()
        started = time.perf_counter()
        with quiet_codecarbon():
            self.tracker.start_task(name)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield result
        finally:
            stopping = time.perf_counter()
            with quiet_codecarbon():
                data = self.tracker.stop_task()
            self.overhead_seconds += (wall - started) + (time.perf_counter() - stopping)
            result.seconds = time.perf_counter() - wall
            result.cpu_seconds = time.process_time() - cpu
            if data is not None:
                self._last = data
                result.energy_kwh = float(data.energy_consumed)
                result.cpu_kwh = float(data.cpu_energy)
                result.ram_kwh = float(data.ram_energy)
                result.gpu_kwh = float(data.gpu_energy)
                result.co2_kg = float(data.emissions)

    def method(self) -> dict[str, Any]:
        """How energy was obtained here: measured by power counters, or estimated from load."""
        self._ready()
        cpu = codecarbon_cpu(self.tracker)
        measured = cpu.mode in MEASURED_MODES
        description = (
            f"measured by the CPU's power counters ({cpu.mode})"
            if measured
            else f"estimated by CodeCarbon from CPU load x the CPU's TDP ({cpu.tdp_watts or '?'} W) "
            f"and a fixed RAM power, because this machine exposes no power counters (RAPL)"
        )
        last = self._last
        return {
            "measured": measured,
            "cpu_mode": cpu.mode,
            "description": description,
            "cpu_model": getattr(last, "cpu_model", None),
            "cpu_power_w": None if last is None else float(last.cpu_power),
            "ram_power_w": None if last is None else float(last.ram_power),
            "gpu": bool(getattr(last, "gpu_count", 0)),
            "tracking_mode": "process",
            "country": self.country,
            "codecarbon": package_version("codecarbon"),
        }


def _thread_cpu(ident: int) -> float:
    """CPU seconds of one thread, or 0 where the platform cannot tell (its CPU then counts as overhead)."""
    try:
        return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (AttributeError, OSError):
        return 0.0


def model_bytes(model: Any) -> int:
    return len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
