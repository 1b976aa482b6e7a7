"""Many processes, one study: ``automl search`` on a real PostgreSQL server, joined by two ``automl worker``s."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pandas as pd
import pytest
from pg import postgres_server
from test_cli import IRIS, finish, record, run_cli, start_cli

from automl.storage import open_storage

pytestmark = pytest.mark.postgres

State = optuna.trial.TrialState
N_TRIALS = 30
WORKERS = 2


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def most_at_once(trials: list[optuna.trial.FrozenTrial]) -> int:
    """The most trials that were running at the same moment: more than one means several processes ran them."""
    events = sorted([(t.datetime_start, 1) for t in trials] + [(t.datetime_complete, -1) for t in trials])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_workers_share_one_study(postgres_url: str, tmp_path: Path) -> None:
    search = start_cli(
        "search",
        IRIS,
        "-t",
        "species",
        # random forests: trials slow enough that the workers, started later, run beside the search
        "--preset",
        "fast",
        "--families",
        "random_forest",
        "--seed",
        "0",
        "--no-stop-when-converged",
        "--n-trials",
        N_TRIALS,
        "--time-budget",
        "2m",
        "--storage",
        postgres_url,
        "--study",
        "shared",
        "--out",
        "runs/shared",
        cwd=tmp_path,
    )
    workers: list[subprocess.Popen[str]] = []
    try:
        deadline = time.time() + 60
        while time.time() < deadline:  # workers need the study and its recorded settings
            assert search.poll() is None, finish(search, 10)
            try:
                if (
                    "automl"
                    in optuna.load_study(study_name="shared", storage=open_storage(postgres_url)).user_attrs
                ):
                    break
            except KeyError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the search did not create its study within 60 s")
        workers = [
            start_cli("worker", "--storage", postgres_url, "--study", "shared", cwd=tmp_path)
            for _ in range(WORKERS)
        ]
        for process in [search, *workers]:
            out, err = finish(process, 180)
            assert process.returncode == 0, err
            if process is not search:
                assert "finished" in out and " 0 trial" not in out
    finally:
        for process in [search, *workers]:
            if process.poll() is None:
                process.kill()

    study = optuna.load_study(study_name="shared", storage=open_storage(postgres_url))
    trials = study.get_trials()
    assert [t.number for t in trials] == list(range(len(trials)))  # each number once, none missing
    assert all(t.state in (State.COMPLETE, State.PRUNED, State.FAIL) for t in trials)  # none lost mid-run
    # each process checks the count after its own trial, so the others' last trials may add up to WORKERS more
    assert N_TRIALS <= len(trials) <= N_TRIALS + WORKERS
    assert most_at_once(trials) >= 2

    folder = tmp_path / "runs" / "shared"
    complete = [t for t in trials if t.state == State.COMPLETE]
    best = max(complete, key=lambda t: t.user_attrs["score"])
    info = record(folder)
    assert info["chosen"]["score"] >= best.user_attrs["score"]  # equal for one trial; an ensemble may beat it
    board = pd.read_csv(folder / "leaderboard.csv")
    assert info["totals"]["search_energy_kwh"] == pytest.approx(board.energy_kwh.fillna(0).sum())
    # The record holds every trial finished before its snapshot, the other workers' too (a worker that
    # starts late on a loaded machine may only run trials the snapshot comes before).
    in_board = set(board.number)
    last = max(t.datetime_complete for t in trials if t.number in in_board and t.datetime_complete)
    assert {t.number for t in trials if t.datetime_complete and t.datetime_complete <= last} <= in_board
    assert info["settings"]["storage"] == postgres_url and not (folder / "study.db").exists()

    late = run_cli("worker", "--storage", postgres_url, "--study", "shared", cwd=tmp_path)
    assert late.returncode == 0 and "finished 0 trial(s)" in late.stdout  # the budget is spent
