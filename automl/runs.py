"""The run folder of ``automl search``: its files, its record (``run.json``), its data and its time budget.

A run folder is what makes a search resumable and reproducible: ``run.json`` keeps the
settings, the data's path and fingerprint, the package versions and one entry per session,
so a later ``--resume`` can check it sees the same data, keep the same settings and spend
only what is left of the time budget.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from automl.data import fingerprint
from automl.energy import DEFAULT_COUNTRY
from automl.errors import ConfigError, DataError
from automl.estimator import load
from automl.search import FINISHED
from automl.versions import versions

PARQUET_SUFFIXES = (".parquet", ".pq")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600}
#: A resumed run whose time budget is spent runs no trial but still chooses and refits from the finished ones.
SPENT_BUDGET = 1e-3


# ---- time budgets ------------------------------------------------------------------------------


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``10m``, ``2h`` (or ``1.5h``)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*", str(text).lower())
    if not match or float(match[1]) <= 0:
        raise ConfigError(
            f"bad time budget {text!r}: give seconds (90) or a number with s, m or h (90s, 10m, 2h)"
        )
    return float(match[1]) * _UNITS[match[2]]


# ---- data --------------------------------------------------------------------------------------


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame, or a DataError saying why it cannot be read."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no such file: {path}")
    if path.is_dir():
        raise DataError(f"{path} is a folder; give a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty")
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    try:
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path, sep=_separator(path))
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (ValueError, UnicodeDecodeError, OSError, pd.errors.ParserError) as exc:
        kind = "Parquet" if parquet else "CSV (comma-separated text with a header row)"
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read {path} as {kind}: {first_line}") from None
    if frame.empty:
        raise DataError(f"{path} has no data rows (only a header)")
    return frame


def _separator(path: Path) -> str:
    """The CSV's field separator: a comma, unless the header has none and a semicolon, tab or bar does its work."""
    with path.open("r", errors="replace", newline="") as handle:
        head = handle.read(64 * 1024)
    if "," in head.split("\n", 1)[0]:
        return ","
    try:
        return csv.Sniffer().sniff(head, delimiters=";\t|").delimiter
    except csv.Error:
        return ","


def split_target(frame: pd.DataFrame, target: str, source: str | Path) -> tuple[pd.DataFrame, pd.Series]:
    """X and y; a missing target column is reported with the columns that look like it."""
    if target not in frame.columns:
        columns = [str(c) for c in frame.columns]
        by_case = [c for c in columns if c.lower() == target.lower()]
        close = by_case or difflib.get_close_matches(target, columns, n=3, cutoff=0.6)
        hint = (
            f"did you mean {' or '.join(repr(c) for c in close)}?"
            if close
            else f"the columns are {columns[:20]}"
        )
        raise DataError(f"target column {target!r} is not in {source}; {hint}")
    if frame.shape[1] < 2:
        raise DataError(
            f"{source} has only the target column {target!r}; it needs at least one feature column"
        )
    return frame.drop(columns=target), frame[target]


@dataclass
class Dataset:
    """The table a run learns from, read from its file, with the fingerprint that identifies it."""

    path: Path
    target: str
    X: pd.DataFrame
    y: pd.Series
    #: The sample weights and the groups, from their columns (which are then not features).
    weights: pd.Series | None = None
    groups: pd.Series | None = None

    @classmethod
    def read(cls, path: str | Path, target: str, settings: Settings | None = None) -> Dataset:
        """The table at ``path``; with ``settings``, its weight and group columns taken out of X."""
        X, y = split_target(read_table(path), target, path)
        taken: dict[str, pd.Series | None] = {"weights": None, "groups": None}
        if settings is not None:
            for key, column, flag in (
                ("weights", settings.weight_column, "--weight-column"),
                ("groups", settings.group_column, "--group-column"),
            ):
                if column is None:
                    continue
                if column not in X.columns:
                    raise DataError(
                        f"{flag} {column!r} is not a column of {path}; the columns are {list(X.columns)[:20]}"
                    )
                taken[key] = X.pop(column)
        return cls(Path(path).resolve(), target, X, y, **taken)

    @functools.cached_property
    def fingerprint(self) -> str:
        return fingerprint(self.X, self.y)

    def describe(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "target": self.target,
            "rows": len(self.X),
            "columns": self.X.shape[1],
            "fingerprint": self.fingerprint,
        }

    def check_same(self, expected: str, where: str) -> None:
        """Refuse to continue a run (or join a study) on data other than the data it started with."""
        if self.fingerprint != expected:
            raise DataError(
                f"{self.path} is not the data {where} was started with (fingerprint {self.fingerprint}, "
                f"expected {expected}); give the original data, or start a new run with another --out"
            )


# ---- settings ----------------------------------------------------------------------------------


@dataclass
class Settings:
    """What a search was asked to do; recorded in run.json and in the study, so a resume or a worker repeats it."""

    data: str
    target: str
    preset: str = "balanced"
    metric: str | None = None
    families: list[str] | None = None
    search_space: str | None = None
    seed: int = 0
    country: str = DEFAULT_COUNTRY
    storage: str | None = None
    study: str | None = None
    time_budget: float | None = None
    n_trials: int | None = None
    energy_budget: str | None = None
    stop_when_converged: bool | None = None
    weight_column: str | None = None
    group_column: str | None = None
    time_column: str | None = None
    #: The share of rows withheld as test rows, ``"auto"``, or 0 for none.
    holdout: float | str = "auto"

    #: Settings a resumed run must keep: changing them mid-study would mix incomparable trials.
    FIXED = (
        "target",
        "preset",
        "metric",
        "families",
        "search_space",
        "seed",
        "country",
        "weight_column",
        "group_column",
        "time_column",
        "holdout",
    )

    @property
    def row_columns(self) -> list[str]:
        """The columns that describe rows rather than predict: sample weights and groups (not features)."""
        return [c for c in (self.weight_column, self.group_column) if c is not None]

    def resumed(self, **given: Any) -> Settings:
        """These settings with the values given again on the command line; a changed fixed one is an error."""
        for name in self.FIXED:
            value, recorded = given.get(name), getattr(self, name)
            if value is not None and value != recorded:
                flag = "--" + name.replace("_", "-")
                was = f"{flag} {recorded}" if recorded is not None else f"no {flag}"
                raise ConfigError(
                    f"this run was started with {was}, not {flag} {value}; a resumed run keeps "
                    f"its settings: drop {flag}, or start a new run with another --out"
                )
        return dataclasses.replace(self, **{k: v for k, v in given.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        if not isinstance(data, dict):
            raise TypeError(f"settings: expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        settings = cls(**{k: v for k, v in data.items() if k in known})
        if not isinstance(settings.target, str) or not isinstance(settings.data, str):
            raise TypeError("settings: the data path and the target must be strings")
        return settings


def parse_holdout(text: str | None) -> float | str | None:
    """``--holdout``: ``auto``, ``off`` (or 0), or the share of rows withheld (0.2); None when not given."""
    if text is None or text.strip().lower() == "auto":
        return None if text is None else "auto"
    if text.strip().lower() in ("off", "none", "no"):
        return 0.0
    try:
        share = float(text)
    except ValueError:
        share = math.nan
    if not 0 <= share <= 0.5:
        raise ConfigError(
            f"--holdout must be auto, off, or a share of the rows from 0 to 0.5 (0.2), got {text!r}"
        )
    return share


def resolve_path(value: str | Path | None) -> str | None:
    """A path made absolute, so workers and resumed runs find it from any working directory."""
    return None if value is None else str(Path(value).resolve())


def session_budget(
    settings: Settings, given: float | None, preset_budget: float | None, used: float = 0.0
) -> float | None:
    """The time budget of this session: ``given`` (more) seconds, else what is left of the run's total.

    ``used`` is what earlier sessions of the run took; ``settings.time_budget`` becomes the run's
    new total, so that a later resume counts from it.
    """
    total = settings.time_budget if settings.time_budget is not None else preset_budget
    budget = given if given is not None else (None if total is None else max(total - used, SPENT_BUDGET))
    settings.time_budget = None if budget is None else used + budget
    return budget


# ---- the run folder ----------------------------------------------------------------------------


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


@dataclass
class Session:
    """One ``automl search`` process on the run: when it ran, the budget it had, how it ended."""

    started_at: str
    budget: float | None
    ended_at: str | None = None
    status: str = "running"

    @property
    def seconds(self) -> float:
        return 0.0 if self.ended_at is None else _epoch(self.ended_at) - _epoch(self.started_at)


@dataclass
class RunRecord:
    """The content of run.json."""

    settings: Settings
    data: dict[str, Any]
    versions: dict[str, str | None] = field(default_factory=versions)
    sessions: list[Session] = field(default_factory=list)
    status: str = "running"
    task: str | None = None
    metric: str | None = None
    chosen: dict[str, Any] | None = None
    selection: dict[str, Any] | None = None
    totals: dict[str, Any] = field(default_factory=dict)
    energy_method: dict[str, Any] | None = None
    stop_reason: str | None = None
    stop_detail: str | None = None
    peak_memory_mb: float | None = None
    #: The chosen model's score on the test rows, beside its cross-validation score; None without test rows.
    holdout: dict[str, Any] | None = None

    def close_killed(self, study: optuna.Study) -> None:
        """Close the sessions a ``kill -9`` ended without a word, at their last finished trial."""
        for session in self.sessions:
            if session.ended_at is None:
                start = _epoch(session.started_at)
                ends = [
                    t.datetime_complete.timestamp()
                    for t in study.get_trials(deepcopy=False, states=FINISHED)
                    if t.datetime_start is not None
                    and t.datetime_complete is not None
                    and t.datetime_start.timestamp() >= start
                ]
                session.ended_at = datetime.fromtimestamp(max(ends, default=start), timezone.utc).isoformat(
                    timespec="seconds"
                )
                session.status = "killed"

    @property
    def used_seconds(self) -> float:
        return sum(s.seconds for s in self.sessions)

    def as_dict(self) -> dict[str, Any]:
        record = dataclasses.asdict(self)
        sessions = record["sessions"]
        return {
            "started_at": sessions[0]["started_at"] if sessions else None,
            "ended_at": sessions[-1]["ended_at"] if sessions else None,
            **record,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """The record of a run.json's content; ValueError, KeyError or TypeError when it has the wrong shape."""
        if not isinstance(data, dict):
            raise TypeError(f"expected a JSON object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["settings"] = Settings.from_dict(values["settings"])
        values["sessions"] = [Session(**s) for s in values.get("sessions", [])]
        record = cls(**values)
        if not isinstance(record.data, dict) or not isinstance(record.data.get("fingerprint"), str):
            raise KeyError("the data's fingerprint")
        for session in record.sessions:
            _epoch(session.started_at)
            if session.ended_at is not None:
                _epoch(session.ended_at)
        return record


class RunFolder:
    """``runs/NAME``: the study (SQLite), the chosen model, the report, the tables and run.json."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.study_db = self.path / "study.db"
        self.model = self.path / "model.joblib"
        self.report = self.path / "report.html"
        self.leaderboard = self.path / "leaderboard.csv"
        self.pareto_front = self.path / "pareto_front.csv"
        self.record_file = self.path / "run.json"

    def exists(self) -> bool:
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(
                f"{self.path} is a file, not a run folder; give --out a folder (new or an earlier run's)"
            )
        return self.record_file.is_file()

    def read(self) -> RunRecord:
        if not self.exists():
            raise ConfigError(
                f"{self.path} is not a run folder (no run.json); run `automl search` to make one"
            )
        try:
            return RunRecord.from_dict(json.loads(self.record_file.read_text()))
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise ConfigError(
                f"{self.record_file} is damaged ({type(exc).__name__}: {exc}); start a new run with another --out"
            ) from None

    def write(self, record: RunRecord) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        _replace(
            self.record_file,
            lambda tmp: tmp.write_text(json.dumps(record.as_dict(), indent=2, default=_plain) + "\n"),
        )

    def save_model(self, model: Any) -> None:
        _replace(self.model, model.save)

    def load_model(self) -> Any:
        if not self.model.is_file():
            raise ConfigError(
                f"{self.path} has no model yet (the search was stopped before one was saved); "
                f"resume it with `automl search DATA --out {self.path} --resume`"
            )
        return load(self.model)

    def write_tables(self, model: Any) -> None:
        """leaderboard.csv and pareto_front.csv, with the parameters as JSON."""
        for path, table in ((self.leaderboard, model.leaderboard_), (self.pareto_front, model.pareto_front_)):
            as_json = {
                c: table[c].map(lambda p: json.dumps(p, default=_plain))
                for c in ("params", "members")
                if c in table
            }
            table = table.assign(**as_json)
            _replace(path, lambda tmp, t=table: t.to_csv(tmp, index=False))


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, anything else JSON cannot hold as text."""
    return value.item() if hasattr(value, "item") else str(value)


def _replace(path: Path, write: Any) -> None:
    """Write through a temporary file, so an interrupted write never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)
