"""The wall-clock deadline of a search, checked between folds and training stages."""

from __future__ import annotations

import time


class DeadlineReached(Exception):
    """Raised inside a trial when the time budget runs out; the trial is recorded as cut off."""


class Deadline:
    """Wall-clock (epoch) time, so worker processes and other machines share one deadline."""

    def __init__(self, seconds: float | None, start: float | None = None) -> None:
        self.start = time.time() if start is None else start
        self.at = None if seconds is None else self.start + seconds

    @classmethod
    def until(cls, at: float | None) -> Deadline:
        """A deadline at an absolute epoch time (``None``: never), as a shared study records it."""
        deadline = cls(None)
        deadline.at = at
        return deadline

    def left(self) -> float:
        return float("inf") if self.at is None else self.at - time.time()

    def check(self) -> None:
        if self.left() <= 0:
            raise DeadlineReached("cut off at the time budget")

    def earlier(self, seconds: float) -> Deadline:
        """The same clock, ending ``seconds`` sooner (to keep time for the final refit)."""
        return Deadline.until(None if self.at is None else self.at - seconds)

    def later(self, seconds: float) -> Deadline:
        """The same clock, ending ``seconds`` later (the grace the final refit may use)."""
        return Deadline.until(None if self.at is None else self.at + seconds)

    def lightgbm_callback(self) -> object:
        """A LightGBM callback that stops boosting at the deadline."""

        def callback(env: object) -> None:
            self.check()

        callback.order = 0  # type: ignore[attr-defined]
        return callback
