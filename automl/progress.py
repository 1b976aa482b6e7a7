"""Live progress of a search, read from the study's storage in a background thread.

Reading the storage rather than hooking into the search means one display covers the trials
of worker processes and other machines too, and the search itself does no extra work. On a
terminal (or in Jupyter) it is a rich live panel; otherwise (CI logs, files) plain lines with no control characters.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

import optuna
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from automl.metrics import Metric
from automl.storage import open_storage
from automl.units import clock, energy

TrialState = optuna.trial.TrialState
#: Without a terminal, a line is printed when the trials change (at most every ``line_every`` seconds),
#: and at least this often, so a log shows the search is alive.
HEARTBEAT = 60.0


@dataclass(frozen=True)
class Snapshot:
    """The state of a study at one moment, as the progress display shows it."""

    complete: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    best_score: float | None = None
    best_family: str | None = None
    best_number: int | None = None
    energy_kwh: float = 0.0
    #: Why the search stopped before its budget, once it has (``converged: ...``).
    stopped: str | None = None

    @classmethod
    def of(cls, trials: Sequence[optuna.trial.FrozenTrial], stop: dict[str, str] | None = None) -> Snapshot:
        count = {state: 0 for state in TrialState}
        best: optuna.trial.FrozenTrial | None = None
        spent = 0.0
        for trial in trials:
            count[trial.state] += 1
            spent += float(trial.user_attrs.get("energy_kwh") or 0.0)
            # the score, not the value: the green preset's objective is the score minus an energy penalty
            if trial.state == TrialState.COMPLETE and (best is None or _score(trial) > _score(best)):
                best = trial
        return cls(
            complete=count[TrialState.COMPLETE],
            pruned=count[TrialState.PRUNED],
            failed=count[TrialState.FAIL],
            running=count[TrialState.RUNNING],
            best_score=None if best is None else _score(best),
            best_family=None if best is None else best.params.get("family"),
            best_number=None if best is None else best.number,
            energy_kwh=spent,
            stopped=f"{stop['reason']}: {stop['detail']}" if stop else None,
        )


def _score(trial: optuna.trial.FrozenTrial) -> float:
    """A complete trial's score (its value, for a study not written by automl)."""
    return float(trial.user_attrs["score"] if "score" in trial.user_attrs else trial.values[0])


class SearchProgress:
    """Shows trials done / pruned / failed, the best score and its family, time and energy, while a search runs.

    Use as a context manager around the search. ``quiet`` shows nothing.
    """

    def __init__(
        self,
        storage_url: str,
        study_name: str,
        metric: Metric,
        *,
        title: str,
        budget: float | None,
        n_trials: int | None = None,
        quiet: bool = False,
        console: Console | None = None,
        interval: float = 1.0,
        line_every: float = 5.0,
    ) -> None:
        self.storage_url = storage_url
        self.study_name = study_name
        self.metric = metric
        self.title = title
        self.budget = budget
        self.n_trials = n_trials
        self.quiet = quiet
        self.console = console or Console(highlight=False)
        self.interval = interval
        self.line_every = line_every
        self.snapshot = Snapshot()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="automl-progress", daemon=True)
        self._live: Live | None = None
        self._last_line: tuple[Snapshot | None, float] = (None, 0.0)

    # ---- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> SearchProgress:
        self.started = time.time()
        if self.quiet:
            return self
        if self.console.is_terminal or self.console.is_jupyter:
            self._live = Live(self._render(), console=self.console, refresh_per_second=2, transient=False)
            self._live.start()
        else:
            self._print(self.title)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.quiet:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._update(force=True)
        if self._live is not None:
            self._live.stop()

    def restore_terminal(self) -> None:
        """Show the cursor again before the process exits without cleaning up (a second Ctrl-C)."""
        if self._live is not None:
            self.console.show_cursor(True)
            self.console.file.write("\n")
            self.console.file.flush()

    # ---- polling -----------------------------------------------------------------------------
    def _poll(self) -> None:
        study = None
        stopping = False
        while not stopping:
            stopping = self._stop.wait(self.interval)
            try:
                study = study or optuna.load_study(
                    study_name=self.study_name, storage=open_storage(self.storage_url)
                )
                self.snapshot = Snapshot.of(study.get_trials(deepcopy=False), study.user_attrs.get("stop"))
            except Exception:  # a display must never stop a search; the next poll tries again
                continue
            if not stopping:
                self._update()

    def _update(self, force: bool = False) -> None:
        if self._live is not None:
            self._live.update(self._render())
            return
        shown, at = self._last_line
        since = time.time() - at
        changed = self.snapshot != shown
        if (changed and (force or since >= self.line_every)) or since >= HEARTBEAT:
            self._print(self._line())
            self._last_line = (self.snapshot, time.time())

    def _print(self, text: str) -> None:
        print(text, file=self.console.file, flush=True)

    # ---- rendering ---------------------------------------------------------------------------
    def _clock(self) -> str:
        elapsed = clock(time.time() - self.started)
        return elapsed if self.budget is None else f"{elapsed} / {clock(self.budget)}"

    def _trials(self) -> str:
        s = self.snapshot
        of = f" of {self.n_trials}" if self.n_trials else ""
        return f"{s.complete} done, {s.pruned} pruned, {s.failed} failed{of}, {s.running} running"

    def _best(self) -> str:
        s = self.snapshot
        if s.best_score is None:
            return "none yet"
        score = self.metric.display(s.best_score)
        return f"{self.metric.display_name} {score:.4g} ({s.best_family}, trial {s.best_number})"

    def _line(self) -> str:
        line = (
            f"[{self._clock()}] trials: {self._trials()} | best: {self._best()} | "
            f"energy: {energy(self.snapshot.energy_kwh)}"
        )
        return line if self.snapshot.stopped is None else f"{line} | stopped: {self.snapshot.stopped}"

    def _render(self) -> RenderableType:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold cyan", no_wrap=True)
        grid.add_column()
        grid.add_row("trials", self._trials())
        grid.add_row("best", self._best())
        if self.budget is not None and math.isfinite(self.budget):
            timing = Table.grid(padding=(0, 1))
            timing.add_row(
                ProgressBar(
                    total=self.budget, completed=min(time.time() - self.started, self.budget), width=30
                ),
                self._clock(),
            )
            grid.add_row("time", timing)
        else:
            grid.add_row("time", self._clock())
        grid.add_row("energy", energy(self.snapshot.energy_kwh))
        if self.snapshot.stopped is not None:
            grid.add_row("stopped", self.snapshot.stopped)
        return Group(Text(self.title, style="bold"), grid)
