"""Worker processes: where trials and refits run, so that the search can always stop them.

A model's fit can be one long call into compiled code that no deadline check reaches; in a
worker process it is stopped by stopping the process, and a crash, a ``SystemExit`` or an
out-of-memory kill ends that process, not the user's. Workers are fresh interpreters started
by loky (joblib's process backend: the user's ``__main__`` is never run again, so a script needs
no ``if __name__ == "__main__"`` guard), kept for the session and reused by later fits. Each runs
one task at a time and reads the training data from one memory-mapped file, so the data is held
once however many workers run.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

import joblib
import psutil
from joblib.externals.loky.backend import get_context

#: Seconds between the supervisor's looks at its workers and the study.
POLL_SECONDS = 0.25


@dataclass
class _Slot:
    process: Any
    connection: Connection
    busy: bool = False


@dataclass(frozen=True)
class Result:
    """A finished task: which worker ran it, and its value or the exception it raised."""

    index: int
    pid: int
    ok: bool
    value: Any

    def get(self) -> Any:
        if not self.ok:
            raise self.value
        return self.value


@dataclass
class Pool:
    """Worker processes kept for the session; each runs one task at a time and can be stopped alone."""

    slots: dict[int, _Slot] = field(default_factory=dict)

    def ensure(self, n: int) -> list[int]:
        """At least ``n`` live workers; returns the indices of ``n`` of them, idle ones first."""
        for index, slot in list(self.slots.items()):
            if not slot.process.is_alive():
                self._forget(index)
        index = 0
        while len(self.slots) < n:
            while index in self.slots:
                index += 1
            self.slots[index] = _start(index)
        return sorted(self.slots, key=lambda i: (self.slots[i].busy, i))[:n]

    def pid(self, index: int) -> int:
        return int(self.slots[index].process.pid)

    def pids(self) -> list[int]:
        return [int(s.process.pid) for s in self.slots.values() if s.process.is_alive()]

    def submit(self, index: int, function: Callable[..., Any], *args: Any) -> None:
        slot = self.slots[index]
        slot.connection.send((function, args, list(sys.path), os.getcwd()))
        slot.busy = True

    def busy(self) -> list[int]:
        return [i for i, s in self.slots.items() if s.busy]

    def results(self, timeout: float) -> list[Result]:
        """Tasks that finished within ``timeout`` seconds, and tasks whose worker died (their error)."""
        busy = {self.slots[i].connection: i for i in self.busy()}
        done: list[Result] = []
        for connection in wait(list(busy), timeout) if busy else []:
            index = busy[connection]  # type: ignore[index]
            pid = self.pid(index)
            try:
                ok, value = self.slots[index].connection.recv()
            except (EOFError, OSError):
                self.slots[index].process.join(1.0)
                code = self.slots[index].process.exitcode
                ok, value = False, WorkerDied(f"the worker process ended with exit code {code}" + _why(code))
                self._forget(index)
            else:
                self.slots[index].busy = False
            done.append(Result(index, pid, ok, value))
        if not busy:
            time.sleep(timeout)
        return done

    def interrupt(self, index: int) -> None:
        """Ask a worker to stop its task (a KeyboardInterrupt in it); it stays alive."""
        slot = self.slots.get(index)
        if slot is not None and slot.process.is_alive():
            os.kill(slot.process.pid, signal.SIGINT)

    def kill(self, index: int) -> None:
        """Stop a worker at once; a later ``ensure`` starts another."""
        slot = self.slots.get(index)
        if slot is not None and slot.process.is_alive():
            os.kill(slot.process.pid, signal.SIGKILL)
            slot.process.join()

    def _forget(self, index: int) -> None:
        slot = self.slots.pop(index)
        slot.connection.close()


class WorkerDied(RuntimeError):
    """A worker process ended in the middle of a task (killed, out of memory, or a crash in compiled code)."""


def _why(code: int | None) -> str:
    if code == -signal.SIGKILL:
        return " (killed: by automl at the time budget, or by the system for lack of memory)"
    if code is not None and code < 0:
        return f" (signal {-code}: a crash in compiled code)"
    return ""


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this process the moment its parent dies (``kill -9`` of a search included).

    Elsewhere the thread in ``_serve`` that follows the supervisor ends the worker within a second.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _start(index: int) -> _Slot:
    ours, theirs = get_context("loky").Pipe()
    process = get_context("loky").Process(
        target=_serve, args=(theirs, os.getpid()), name=f"automl-worker-{index}", daemon=True
    )
    process.start()
    theirs.close()
    return _Slot(process, ours)


def _serve(connection: Connection, supervisor: int) -> None:
    """A worker's life: run the tasks it is sent, one at a time, until its supervisor is gone."""
    os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")
    _die_with_parent()

    def follow() -> None:
        while psutil.pid_exists(supervisor):
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=follow, name="automl-follow-supervisor", daemon=True).start()
    # A model's own n_jobs (a forest's, k-NN's) runs as threads here: joblib cannot start loky
    # processes inside a worker, and would fall back to one job with a warning on every fit.
    with joblib.parallel_config(backend="threading"):
        _run_tasks(connection)


def _run_tasks(connection: Connection) -> None:
    while True:
        try:
            task = connection.recv()
        except KeyboardInterrupt:  # a Ctrl-C in the terminal reaches idle workers too
            continue
        except (EOFError, OSError):
            return
        except Exception as exc:  # a task that cannot be unpickled here (a function defined in __main__)
            connection.send((False, RuntimeError(f"the task cannot be run in a worker process: {exc}")))
            continue
        function, args, path, cwd = task
        sys.path[:] = path
        os.chdir(cwd)
        try:
            reply: tuple[bool, Any] = (True, function(*args))
        except (Exception, KeyboardInterrupt, SystemExit) as exc:  # the supervisor raises it
            reply = (
                False,
                exc if isinstance(exc, Exception) else RuntimeError(f"{type(exc).__name__}: {exc}"),
            )
        try:
            connection.send(reply)
        except KeyboardInterrupt:
            connection.send(reply)


#: The session's workers, shared by every search in this process.
POOL = Pool()


def memory_mb_of(pid: int) -> float:
    """The memory (MB, proportional share) of one process, 0 if it is gone."""
    try:
        process = psutil.Process(pid)
        info = process.memory_full_info() if sys.platform.startswith("linux") else process.memory_info()
    except (psutil.Error, OSError):
        return 0.0
    return float(getattr(info, "pss", info.rss)) / 1e6


def memory_mb(pids: list[int]) -> float:
    """Memory of this process and ``pids`` in MB: the proportional share (PSS) where Linux tells it, else RSS.

    Pages that processes share (the memory-mapped data, the libraries) count once over all of
    them, not once per process.
    """
    return sum(memory_mb_of(pid) for pid in [os.getpid(), *pids])


class MemoryPeak:
    """The largest memory of this process and its workers seen so far."""

    def __init__(self) -> None:
        self.mb = memory_mb([])

    def sample(self, pids: list[int]) -> float:
        self.mb = max(self.mb, memory_mb(pids))
        return self.mb


def call(function: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
    """``function(*args)`` in an idle worker; its result, or its exception raised here.

    Past ``timeout`` seconds the worker is killed and ``TimeoutError`` raised.
    """
    index = POOL.ensure(1)[0]
    POOL.submit(index, function, *args)
    started = time.monotonic()
    try:
        while True:
            for result in POOL.results(POLL_SECONDS):
                return result.get()
            if timeout is not None and time.monotonic() - started > timeout:
                POOL.kill(index)
                POOL.ensure(0)
                raise TimeoutError(f"stopped after {timeout:.0f} s")
    except KeyboardInterrupt:
        POOL.kill(index)
        raise
