"""Columns that become several numbers: dates and times, durations, and free text.

A date (a datetime column, or text whose values parse as dates, decided on a sample and
checked on every row) becomes its year, month, day of the month, day of the week and day of
the year, its hour and minute where it has a time of day, and the days elapsed since the
earliest training date. A duration becomes seconds. Free text (many distinct values of several
words) is hashed into a fixed number of signed word counts: hashing learns nothing from the
data, so nothing leaks across folds, and the cost is linear in rows. Parsing is vectorised.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format
from sklearn.feature_extraction.text import HashingVectorizer

#: Share of a sample's values that must parse for text to be read as dates.
DATE_SHARE = 0.95
#: Values sampled to decide whether a text column holds dates or free text.
SAMPLE = 500
#: Free text: at least this many words per value on average, and this share of distinct values.
TEXT_WORDS, TEXT_DISTINCT = 3.0, 0.3
#: Hashed word counts per text column.
TEXT_FEATURES = 64
#: The parts a date gives, and the ones only a date with a time of day gives.
DATE_PARTS = ("year", "month", "day", "day_of_week", "day_of_year")
TIME_PARTS = ("hour", "minute")
NS_PER_DAY = 86_400 * 10**9


@dataclass(frozen=True)
class Derived:
    """A column that becomes several numeric features, and how to compute them from new data.

    ``kind`` is ``date``, ``duration`` or ``text``; ``format`` is the strptime format of dates
    stored as text (None for datetime columns); ``origin`` the earliest training date (in days).
    """

    column: str
    kind: str
    features: tuple[str, ...]
    format: str | None = None
    origin: float = 0.0

    def describe(self) -> str:
        """What the column became, as the report lists it."""
        if self.kind == "text":
            return f"free text: {len(self.features)} hashed word counts"
        kind = (
            "a duration"
            if self.kind == "duration"
            else "a date" + (f" ({self.format})" if self.format else "")
        )
        parts = ", ".join(f.rsplit(".", 1)[1].replace("_", " ") for f in self.features)
        return f"{kind}: {parts}"

    def compute(self, values: pd.Series) -> np.ndarray:
        """The derived features of ``values`` as a float64 matrix, one row per value (missing stays NaN)."""
        if self.kind == "text":
            return _hashed(values)
        if self.kind == "duration":
            return pd.to_timedelta(values, errors="coerce").dt.total_seconds().to_numpy(dtype=float)[:, None]
        stamps = _as_dates(values, self.format)
        columns = []
        for part in (feature.rsplit(".", 1)[1] for feature in self.features):
            if part == "elapsed_days":
                days = stamps.astype("int64").to_numpy(dtype=float) / NS_PER_DAY
                columns.append(np.where(stamps.isna(), np.nan, days - self.origin))
            else:
                columns.append(getattr(stamps.dt, part).to_numpy(dtype=float, na_value=np.nan))
        return np.column_stack(columns)


def detect(column: pd.Series, name: str) -> Derived | None:
    """How ``column`` becomes numbers if it is a date, a duration or free text; None otherwise."""
    if pd.api.types.is_timedelta64_dtype(column):
        return Derived(name, "duration", (f"{name}.seconds",))
    if pd.api.types.is_datetime64_any_dtype(column):
        return _date(column, name, None)
    if column.dtype != object and not pd.api.types.is_string_dtype(column):
        return None
    values = column.dropna()
    if values.empty:
        return None
    sample = values.sample(min(len(values), SAMPLE), random_state=0).astype(str)
    date_format = _date_format(sample)
    if date_format is not None and _as_dates(values.astype(str), date_format).notna().mean() >= DATE_SHARE:
        return _date(column, name, date_format)
    words = sample.str.split().str.len().mean()
    if words >= TEXT_WORDS and sample.nunique() >= TEXT_DISTINCT * len(sample):
        return Derived(name, "text", tuple(f"{name}#{i}" for i in range(TEXT_FEATURES)))
    return None


def timestamps(values: pd.Series) -> pd.Series:
    """``values`` as timestamps in UTC (NaT where one does not parse); text in the one format its sample shows."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return _as_dates(values, None)
    text = values.dropna().astype(str)
    date_format = _date_format(text.sample(min(len(text), SAMPLE), random_state=0)) if len(text) else None
    return _as_dates(values.astype(str).where(values.notna()), date_format)


def _date(column: pd.Series, name: str, date_format: str | None) -> Derived:
    stamps = _as_dates(column, date_format)
    parts = list(DATE_PARTS)
    if ((stamps.dt.hour.fillna(0) != 0) | (stamps.dt.minute.fillna(0) != 0)).any():
        parts += TIME_PARTS
    parts.append("elapsed_days")
    earliest = stamps.min()
    origin = 0.0 if pd.isna(earliest) else float(pd.Timestamp(earliest).value) / NS_PER_DAY
    return Derived(name, "date", tuple(f"{name}.{part}" for part in parts), date_format, origin)


def _date_format(sample: pd.Series) -> str | None:
    """The one format the sample's dates are written in (month first, else day first), or None."""
    if (
        not sample.str.contains(r"\d", regex=True).all()
        or not sample.str.contains(r"[-/:. T]", regex=True).all()
    ):
        return None
    for dayfirst in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas warns that a guess is day first: that is why it is asked
            guessed = guess_datetime_format(sample.iloc[0], dayfirst=dayfirst)
        if guessed is not None and _as_dates(sample, guessed).notna().mean() >= DATE_SHARE:
            return guessed
    return None


def _as_dates(values: pd.Series, date_format: str | None) -> pd.Series:
    """Timestamps without a time zone (in UTC), NaT where a value does not parse."""
    if date_format is None and pd.api.types.is_datetime64_any_dtype(values):
        stamps = values
    else:
        stamps = pd.to_datetime(values, format=date_format, errors="coerce", utc=True)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    return stamps.astype("datetime64[ns]")


def _hashed(values: pd.Series) -> np.ndarray:
    text = values.astype(object).where(values.notna(), "").astype(str)
    vectorizer = HashingVectorizer(n_features=TEXT_FEATURES, alternate_sign=True, norm="l2")
    return np.asarray(vectorizer.transform(text).todense(), dtype=float)
