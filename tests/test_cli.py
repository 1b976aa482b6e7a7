"""The command line, run for real: a search in a subprocess, the other commands through typer's runner.

One small search on iris (a few seconds) is shared by the tests that read a run folder;
the tests that change a run work on a copy of it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest
from pg import free_port
from rich.console import Console
from typer.testing import CliRunner

import automl
from automl.cli import app
from automl.metrics import get_metric
from automl.pareto import pareto_front
from automl.pareto import select as select_on_front
from automl.progress import SearchProgress
from automl.runs import parse_duration
from automl.storage import sqlite_url
from conftest import DATA

ROOT = Path(__file__).resolve().parent.parent
IRIS = DATA / "iris.csv"
#: A search of a few seconds: three cheap folds, one fast family.
QUICK_SEARCH = ["--preset", "fast", "--families", "logistic_regression", "--seed", "0"]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "automl.cli", *map(str, args)]


def environment() -> dict[str, str]:
    """This checkout on the path, so the subprocess needs no install."""
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def run_cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``automl ARGS`` in a subprocess whose stdout is a pipe, not a terminal."""
    return subprocess.run(
        command(*args),
        check=False,
        cwd=cwd,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command(*args), cwd=cwd, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """Wait for a process to exit and return its output; one that hangs is killed and the test fails."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{process.args} did not exit within {timeout}s:\n{out}\n{err}")


def invoke(*args: str) -> tuple[int, str, str]:
    """Run ``automl ARGS`` in this process; returns (exit code, stdout, stderr)."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def one_line_failures(cases: Mapping[str, tuple[Sequence[Any], str]]) -> list[str]:
    """The cases whose command did not fail as a bad input must: exit 2, one ``error:`` line with the phrase."""
    failures = []
    for case, (args, phrase) in cases.items():
        code, out, err = invoke(*args)
        if not (
            code == 2
            and err.startswith("error: ")
            and len(err.strip().splitlines()) == 1
            and phrase in err
            and "Traceback" not in out + err
        ):
            failures.append(f"{case}: exit {code}, stderr {err!r}")
    return failures


def record(folder: Path) -> dict:
    return json.loads((folder / "run.json").read_text())


def load_run_study(folder: Path) -> optuna.Study:
    return optuna.load_study(
        study_name=record(folder)["settings"]["study"], storage=sqlite_url(folder / "study.db")
    )


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """``automl search`` on iris, 10 seconds; the run folder and the finished process."""
    cwd = tmp_path_factory.mktemp("cli")
    done = run_cli(
        "search",
        IRIS,
        "--target",
        "species",
        "--time-budget",
        "10s",
        *QUICK_SEARCH,
        "--out",
        "runs/iris",
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr
    return cwd / "runs" / "iris", done


@pytest.fixture(scope="module")
def mpg_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A regression run (3 ridge trials), in this process, quiet; the folder and what it printed."""
    folder = tmp_path_factory.mktemp("cli") / "mpg"
    code, out, err = invoke(
        "search",
        DATA / "auto_mpg.csv",
        "-t",
        "mpg",
        "--preset",
        "fast",
        "--families",
        "ridge",
        "--n-trials",
        "3",
        "--time-budget",
        "1m",
        "--out",
        folder,
        "--quiet",
    )
    assert code == 0, err
    return folder, out


# ---- search -------------------------------------------------------------------------------------


def test_search_writes_a_complete_run_folder(iris_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, _ = iris_run
    for name in (
        "study.db",
        "model.joblib",
        "report.html",
        "leaderboard.csv",
        "pareto_front.csv",
        "run.json",
    ):
        assert (folder / name).is_file(), name
    info = record(folder)
    assert info["status"] == "complete"
    settings = info["settings"]
    assert settings["data"] == str(IRIS.resolve()) and settings["target"] == "species"
    assert (
        settings["preset"] == "fast"
        and settings["families"] == ["logistic_regression"]
        and settings["time_budget"] == 10
    )
    assert (
        info["data"]["rows"] == 150
        and info["data"]["columns"] == 4
        and len(info["data"]["fingerprint"]) == 16
    )
    assert (
        info["versions"]["optuna"] == optuna.__version__ and info["versions"]["automl"] == automl.__version__
    )
    assert info["started_at"] < info["ended_at"] and info["sessions"][0]["status"] == "complete"
    assert info["task"] == "multiclass" and info["metric"] == "neg_log_loss"

    board = pd.read_csv(folder / "leaderboard.csv")
    study = load_run_study(folder)
    assert sorted(board.number) == [
        t.number
        for t in study.get_trials(
            states=(
                optuna.trial.TrialState.COMPLETE,
                optuna.trial.TrialState.PRUNED,
                optuna.trial.TrialState.FAIL,
            )
        )
    ]
    totals = info["totals"]
    assert totals["trials"] == len(board) and totals["complete"] == (board.state == "complete").sum() >= 1
    assert totals["energy_kwh"] == pytest.approx(totals["search_energy_kwh"] + totals["refit_energy_kwh"])
    assert totals["search_energy_kwh"] == pytest.approx(board.energy_kwh.fillna(0).sum())
    assert json.loads(board.params.iloc[0])["C"] > 0

    front = pd.read_csv(folder / "pareto_front.csv")
    chosen = info["chosen"]
    assert (
        chosen["members"] in [json.loads(m) for m in front.members]
        and chosen["score"] == front.score.max() >= board.score.max()
    )
    assert chosen["log_loss"] == pytest.approx(-chosen["score"])

    model = automl.load(folder / "model.joblib")
    assert model.chosen_.members == {int(n): w for n, w in chosen["members"].items()}


def test_search_output_is_plain_when_not_a_terminal(
    iris_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, done = iris_run
    assert "\x1b" not in done.stdout + done.stderr and "\r" not in done.stdout
    progress = [line for line in done.stdout.splitlines() if line.startswith("[")]
    assert progress and all("trials:" in line and "best:" in line and "energy:" in line for line in progress)
    assert "Chosen: " in done.stdout and "runs/iris" in done.stdout


def test_quiet_prints_nothing(mpg_run: tuple[Path, str]) -> None:
    folder, out = mpg_run
    assert out == ""
    assert record(folder)["task"] == "regression" and (folder / "model.joblib").is_file()


def test_a_finished_run_is_not_searched_again(
    iris_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, _ = iris_run
    before = len(load_run_study(folder).trials)
    code, out, _ = invoke("search", IRIS, "--out", folder)
    assert code == 0 and "--time-budget" in out
    assert len(load_run_study(folder).trials) == before


# ---- predict, report, select ----------------------------------------------------------------------


def test_predict_labels_and_probabilities(
    iris_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder, _ = iris_run
    truth = pd.read_csv(IRIS)["species"]
    code, out, _ = invoke("predict", folder, IRIS)  # the target column in the file is ignored
    assert code == 0
    labels = pd.read_csv(io.StringIO(out))
    assert list(labels.columns) == ["prediction"] and len(labels) == 150
    assert (labels.prediction == truth).mean() > 0.9

    features = tmp_path / "features.parquet"
    pd.read_csv(IRIS).drop(columns="species").to_parquet(features)
    code, _, err = invoke("predict", folder, features, "--proba", "-o", tmp_path / "p.csv")
    assert code == 0 and "150 predictions" in err
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
    np.testing.assert_allclose(table.filter(like="proba_").sum(axis=1), 1.0)
    assert (table.prediction == labels.prediction).all()


def test_predict_writes_parquet_and_json_with_the_id_column(
    iris_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder, _ = iris_run
    rows = pd.read_csv(IRIS).assign(flower=[f"f{i}" for i in range(150)]).sample(frac=1, random_state=0)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code, _, err = invoke(
        "predict", folder, tmp_path / "rows.csv", "--id-column", "flower", "-o", tmp_path / "p.parquet"
    )
    assert code == 0, err
    table = pd.read_parquet(tmp_path / "p.parquet")
    assert list(table.columns) == ["flower", "prediction"]
    assert (table.flower.to_numpy() == rows.flower.to_numpy()).all()
    assert (table.prediction.to_numpy() == rows.species.to_numpy()).mean() > 0.9

    indexed = tmp_path / "indexed.parquet"
    rows.set_index("flower").to_parquet(indexed)  # the input's own index carries the identities
    code, _, err = invoke("predict", folder, indexed, "--proba", "-o", tmp_path / "p.json")
    assert code == 0, err
    records = pd.read_json(tmp_path / "p.json", orient="records")
    assert list(records.columns[:2]) == ["flower", "prediction"]
    assert (records.set_index("flower").prediction == table.set_index("flower").prediction).all()


def test_predict_refuses_an_unknown_output_format_and_id_column(
    iris_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder, _ = iris_run
    code, _, err = invoke("predict", folder, IRIS, "-o", tmp_path / "p.xlsx")
    assert code == 2 and "suffix" in err and not (tmp_path / "p.xlsx").exists()
    code, _, err = invoke("predict", folder, IRIS, "--id-column", "nope")
    assert code == 2 and "'nope' is not a column" in err


def test_export_writes_a_model_that_predicts_as_the_run(
    iris_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder, _ = iris_run
    code, out, err = invoke("export", folder, "--format", "skops", "-o", tmp_path / "iris.skops")
    assert code == 0, err
    exported = automl.export.load(tmp_path / "iris.skops")
    rows = pd.read_csv(IRIS).drop(columns="species")
    assert np.array_equal(exported.predict(rows), automl.load(folder / "model.joblib").predict(rows))
    code, _, err = invoke("export", folder, "--format", "pmml", "-o", tmp_path / "iris.pmml")
    assert code == 2 and "unknown export format 'pmml'" in err


def test_version_by_python_dash_m(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "automl", "--version"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"automl {automl.__version__}"


def test_predict_regression(mpg_run: tuple[Path, str], tmp_path: Path) -> None:
    folder, _ = mpg_run
    code, _, _ = invoke("predict", folder, DATA / "auto_mpg.csv", "-o", tmp_path / "mpg.csv")
    assert code == 0
    predicted = pd.read_csv(tmp_path / "mpg.csv").prediction
    assert np.corrcoef(predicted, pd.read_csv(DATA / "auto_mpg.csv").mpg)[0, 1] > 0.8


def test_predict_explains_beside_the_predictions(
    mpg_run: tuple[Path, str], iris_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    code, _, _ = invoke("predict", mpg_run[0], DATA / "auto_mpg.csv", "--explain", "-o", tmp_path / "mpg.csv")
    assert code == 0
    table = pd.read_csv(tmp_path / "mpg.csv")
    columns = [c for c in pd.read_csv(DATA / "auto_mpg.csv").columns if c != "mpg"]
    assert list(table.columns) == ["prediction", "base_value", *[f"contribution_{c}" for c in columns]]
    explained = table.base_value + table.filter(like="contribution_").sum(axis=1)
    np.testing.assert_allclose(explained, table.prediction, rtol=1e-6)

    code, _, _ = invoke("predict", iris_run[0], IRIS, "--proba", "--explain", "-o", tmp_path / "iris.csv")
    assert code == 0
    table = pd.read_csv(tmp_path / "iris.csv")
    for species in ("setosa", "versicolor", "virginica"):
        explained = table[f"base_value_{species}"] + table.filter(like=f"contribution_{species}_").sum(axis=1)
        np.testing.assert_allclose(explained, table[f"proba_{species}"], rtol=1e-6)


def test_report_is_written_where_asked(
    iris_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder, _ = iris_run
    code, out, _ = invoke("report", folder, "-o", tmp_path / "again.html")
    assert code == 0 and "again.html" in out
    assert "<html" in (tmp_path / "again.html").read_text()[:2000].lower()


def test_select_rechooses_on_the_front_without_searching(
    iris_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder = tmp_path / "iris"
    shutil.copytree(iris_run[0], folder)
    trials = len(load_run_study(folder).trials)
    board = pd.read_csv(folder / "leaderboard.csv")
    front = pareto_front(
        board[board.state == "complete"], "fit_seconds"
    )  # a new cost: the front of the single trials
    expected = front.loc[select_on_front(front, "cheapest_within", "fit_seconds", tolerance=0.5), "number"]
    code, out, _ = invoke(
        "select", folder, "--rule", "cheapest_within", "--tolerance", "0.5", "--cost", "fit_time"
    )
    assert code == 0 and "Chosen: logistic_regression" in out and "Before: " in out
    info = record(folder)
    assert info["chosen"]["number"] == expected and info["selection"] == {
        "rule": "cheapest_within",
        "tolerance": 0.5,
    }
    assert automl.load(folder / "model.joblib").chosen_.number == expected
    assert len(load_run_study(folder).trials) == trials


# ---- spaces, presets, help -----------------------------------------------------------------------


def test_spaces_list_show_validate(tmp_path: Path) -> None:
    code, out, _ = invoke("spaces", "list")
    assert code == 0 and all(name in out for name in ("lightgbm", "logistic_regression", "ridge", "mlp"))
    code, out, _ = invoke("spaces", "show", "ridge")
    assert code == 0 and "sklearn.linear_model.Ridge" in out and "alpha" in out
    code, out, _ = invoke("spaces", "validate", ROOT / "search_spaces")
    assert code == 0 and out.startswith("ok:") and "lightgbm" in out

    broken = tmp_path / "broken.yaml"
    broken.write_text((ROOT / "search_spaces" / "ridge.yaml").read_text().replace("low: 1.0e-4", "low: -1"))
    code, out, err = invoke("spaces", "validate", broken)
    assert code == 2 and out == ""
    assert (
        err.startswith("error: ")
        and "broken.yaml" in err
        and "params.alpha.log" in err
        and len(err.splitlines()) == 1
    )


def test_presets_lists_each_with_its_purpose() -> None:
    code, out, _ = invoke("presets")
    assert code == 0
    for name, preset in automl.available_presets().items():
        assert name in out and preset.description.split()[0] in out
    assert "(default)" in out


@pytest.mark.parametrize(
    "args", [[], ["search"], ["predict"], ["report"], ["select"], ["worker"], ["spaces"], ["presets"]]
)
def test_help_explains_every_command(args: list[str]) -> None:
    code, out, _ = invoke(*args, "--help")
    assert code == 0 and "Usage" in out
    if args in ([], ["search"]):
        assert "Examples" in out and "automl search" in out


# ---- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds", [("90", 90), ("90s", 90), ("10m", 600), ("2h", 7200), ("1.5h", 5400), (" 45 S ", 45)]
)
def test_time_budgets(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def bad_inputs(tmp: Path, run: Path) -> dict[str, tuple[list[str], str]]:
    """Each case: the arguments and a phrase the one-line error must contain."""
    empty = tmp / "empty.csv"
    empty.write_text("")
    header = tmp / "header.csv"
    header.write_text("a,b,species\n")
    garbage = tmp / "garbage.csv"
    garbage.write_bytes(bytes(range(256)) * 8)
    bad_parquet = tmp / "bad.parquet"
    bad_parquet.write_text("not parquet")
    out = ["--out", tmp / "new"]
    return {
        "missing file": (["search", tmp / "nope.csv", "-t", "species", *out], "no such file"),
        "folder, not a file": (["search", tmp, "-t", "species", *out], "is a folder"),
        "unreadable CSV": (["search", garbage, "-t", "species", *out], "cannot read"),
        "unreadable Parquet": (["search", bad_parquet, "-t", "species", *out], "as Parquet"),
        "empty file": (["search", empty, "-t", "species", *out], "is empty"),
        "header only": (["search", header, "-t", "species", *out], "no data rows"),
        "target not found": (["search", IRIS, "-t", "specie", *out], "did you mean 'species'"),
        "no target": (["search", IRIS, *out], "--target is required"),
        "unknown preset": (
            ["search", IRIS, "-t", "species", "--preset", "quick", *out],
            "unknown preset 'quick'",
        ),
        "missing preset file": (
            ["search", IRIS, "-t", "species", "--preset", tmp / "mine.yaml", *out],
            "does not exist",
        ),
        "unknown family": (
            ["search", IRIS, "-t", "species", "--families", "lightgbm,xgboost", *out],
            "unknown family 'xgboost'",
        ),
        "family for another task": (
            ["search", IRIS, "-t", "species", "--families", "ridge", *out],
            "does not support",
        ),
        "unknown metric": (
            ["search", IRIS, "-t", "species", "--metric", "accuracy_score", *out],
            "unknown metric",
        ),
        "metric for another task": (
            ["search", IRIS, "-t", "species", "--metric", "rmse", *out],
            "does not fit",
        ),
        "bad time budget": (
            ["search", IRIS, "-t", "species", "--time-budget", "10x", *out],
            "bad time budget '10x'",
        ),
        "zero time budget": (
            ["search", IRIS, "-t", "species", "--time-budget", "0s", *out],
            "bad time budget",
        ),
        "unreachable storage": (
            [
                "search",
                IRIS,
                "-t",
                "species",
                "--storage",
                f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
                *out,
            ],
            "cannot open the storage",
        ),
        "unsupported storage": (
            ["search", IRIS, "-t", "species", "--storage", "mongodb://localhost/x", *out],
            "unsupported storage",
        ),
        "resume on other data": (
            ["search", DATA / "penguins.csv", "-t", "species", "--out", run, "--resume"],
            "not the data",
        ),
        "resume with other settings": (
            ["search", IRIS, "--out", run, "--metric", "accuracy"],
            "drop --metric",
        ),
        "resume without a run": (["search", IRIS, "-t", "species", *out, "--resume"], "no run to continue"),
        "predict from no run": (["predict", tmp / "nothing", IRIS], "not a run folder"),
        "predict a missing file": (["predict", run, tmp / "nope.csv"], "no such file"),
        "predict with other columns": (["predict", run, DATA / "penguins.csv"], "lacks the columns"),
        "unknown selection rule": (["select", run, "--rule", "cheapest"], "unknown selection rule"),
        "unknown cost": (["select", run, "--cost", "money"], "unknown cost"),
        "unknown family to show": (["spaces", "show", "lgbm"], "did you mean 'lightgbm'"),
        "worker without a study": (
            ["worker", "--storage", sqlite_url(run / "study.db"), "--study", "nope"],
            "no study named 'nope'",
        ),
    }


def test_bad_input_is_one_line_and_exit_2(
    iris_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    folder, _ = iris_run
    before = (folder / "run.json").read_text()
    failures = one_line_failures(bad_inputs(tmp_path, folder))
    assert not failures, "\n".join(failures)
    assert not (tmp_path / "new").exists(), "a failed command wrote a run folder"
    assert (folder / "run.json").read_text() == before


def test_predict_proba_needs_a_classifier(mpg_run: tuple[Path, str]) -> None:
    code, _, err = invoke("predict", mpg_run[0], DATA / "auto_mpg.csv", "--proba")
    assert code == 2 and "classification" in err


def test_a_missing_argument_is_a_usage_error_in_a_subprocess(tmp_path: Path) -> None:
    done = run_cli("search", cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and "Missing argument" in done.stderr and "Traceback" not in done.stderr


# ---- the progress display ------------------------------------------------------------------------


def show_progress(folder: Path, console: Console) -> str:
    """Two seconds of the progress display over a finished run's study."""
    info = record(folder)
    metric = get_metric(None, info["task"])
    with SearchProgress(
        sqlite_url(folder / "study.db"),
        info["settings"]["study"],
        metric,
        title="test run",
        budget=10,
        console=console,
        interval=0.2,
        line_every=0.5,
    ):
        time.sleep(2)
    return console.file.getvalue()


def test_progress_on_a_terminal_is_live(iris_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, _ = iris_run
    shown = show_progress(folder, Console(file=io.StringIO(), force_terminal=True, width=100))
    board = pd.read_csv(folder / "leaderboard.csv")
    assert "\x1b[" in shown  # redrawn in place
    assert (
        f"{(board.state == 'complete').sum()} done" in shown
        and "logistic_regression" in shown
        and "Wh" in shown
    )


def test_progress_elsewhere_is_plain_lines(iris_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, _ = iris_run
    shown = show_progress(folder, Console(file=io.StringIO(), force_terminal=False))
    assert "\x1b" not in shown and shown.startswith("test run\n")
    assert "trials:" in shown and "best: log_loss" in shown


def test_holdout_withholds_test_rows_and_run_json_records_their_score(tmp_path: Path) -> None:
    folder = tmp_path / "mpg"
    args = ["search", DATA / "auto_mpg.csv", "-t", "mpg", "--preset", "fast", "--families", "ridge"]
    code, _, err = invoke(*args, "--n-trials", "2", "--holdout", "0.25", "--out", folder, "--quiet")
    assert code == 0, err
    held = record(folder)["holdout"]
    assert held["rows"] == 100 and held["refit_on_all_rows"] is True
    name = "root_mean_squared_error"
    assert held[name] == pytest.approx(-held["score"]) and held[f"cv {name}"] == pytest.approx(
        -held["cv_score"]
    )
    assert record(folder)["settings"]["holdout"] == 0.25
    code, _, err = invoke(*args, "--holdout", "0.3", "--out", folder, "--resume")
    assert code == 2 and "--holdout 0.25" in err
    code, _, err = invoke(*args, "--holdout", "most", "--out", tmp_path / "bad")
    assert code == 2 and "--holdout must be auto, off, or a share" in err


def test_search_audits_and_calibrates_when_asked(tmp_path: Path) -> None:
    folder = tmp_path / "titanic"
    code, _, err = invoke(
        "search",
        DATA / "titanic.csv",
        "-t",
        "survived",
        "--preset",
        "fast",
        "--families",
        "lightgbm",
        "--n-trials",
        "2",
        "--sensitive-features",
        "sex, pclass",
        "--calibration",
        "isotonic",
        "--out",
        folder,
        "--quiet",
    )
    assert code == 0, err
    settings = record(folder)["settings"]
    assert settings["sensitive_features"] == ["sex", "pclass"] and settings["calibration"] == "isotonic"
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="fairness-table"' in html and "<dt>Calibration</dt><dd>isotonic" in html
    code, _, err = invoke("search", DATA / "titanic.csv", "-t", "survived", "--sensitive-features", " ,")
    assert code == 2 and "--sensitive-features is empty" in err
