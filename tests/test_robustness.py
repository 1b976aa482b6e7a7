"""Never a traceback, never a silently wrong answer: bad arguments, bad data, damaged files and faults.

Each case is one class of fault. A bad input is an automl error (``ConfigError`` or ``DataError``,
both ``ValueError``s) raised while the arguments and the data are validated, before any trial
runs; an unusual but usable input gives a valid model. The CLI cases end with exit status 2, one
``error:`` line and no traceback.
"""

from __future__ import annotations

import pickle
import shutil
import string
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from test_cli import IRIS, invoke, one_line_failures

import automl
from automl.errors import AutoMLError, ConfigError, DataError, SearchError
from conftest import QUICK, load_dataset

CHEAP = {**QUICK, "n_trials": 2, "cv": 2}


def iris() -> tuple[pd.DataFrame, pd.Series]:
    return load_dataset("iris")


def mpg() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_dataset("auto_mpg")
    return X.head(120), y.head(120)


# ---- bad arguments: each refused up front, with what to do ----------------------------------------------

BAD_ARGUMENTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "time budget as text",
        {"time_budget": "10"},
        "time_budget must be a positive number of seconds, got '10'",
    ),
    ("negative time budget", {"time_budget": -1}, "time_budget must be a positive number of seconds"),
    ("seed as text", {"seed": "abc"}, "seed must be a whole number from 0 to 2**32 - 1, or None, got 'abc'"),
    ("negative seed", {"seed": -1}, "seed must be a whole number"),
    ("no folds", {"cv": 0}, "cv must be at least 2 folds, got 0"),
    ("one fold", {"cv": 1}, "cv must be at least 2 folds, got 1"),
    ("fractional folds", {"cv": 2.5}, "cv must be at least 2 folds, got 2.5"),
    ("no trials", {"n_trials": 0}, "n_trials must be a whole number of trials, at least 1, got 0"),
    ("fractional trials", {"n_trials": 2.5}, "n_trials must be a whole number of trials"),
    ("negative tolerance", {"tolerance": -1}, "tolerance must be a fraction of the best score"),
    ("one family as a string", {"families": "logistic_regression"}, "write ['logistic_regression']"),
    ("no family", {"families": []}, "families must be a non-empty list of names"),
    ("an unknown family", {"families": ["nope"]}, "unknown family 'nope'"),
    ("f1 on three classes", {"metric": "f1"}, "metric 'f1' cannot score this multiclass task"),
    ("a regression metric", {"metric": "r2"}, "metric 'r2' does not fit the task 'multiclass'"),
    ("an unknown metric", {"metric": "accuracy_score"}, "unknown metric 'accuracy_score'"),
    ("an unknown country", {"country": "XXX"}, "unknown country 'XXX'"),
    ("an empty country", {"country": ""}, "country must be a non-empty string"),
    ("no workers", {"n_jobs": 0}, "n_jobs must be a positive number of processes, or -1 for one per core"),
    ("workers as text", {"n_jobs": "2"}, "n_jobs must be a positive number of processes"),
    ("an unknown rule", {"selection": "cheapest"}, "unknown selection rule 'cheapest'"),
    ("an unknown cost", {"cost": "money"}, "unknown cost 'money'"),
    ("an energy budget without a number", {"energy_budget": "lots"}, "bad energy budget 'lots'"),
    ("a negative energy budget", {"energy_budget": -1}, "an energy budget must be a positive number of Wh"),
    ("a memory limit in parsecs", {"memory_limit": "8 parsecs"}, "bad memory limit '8 parsecs'"),
    ("convergence as text", {"stop_when_converged": "yes"}, "stop_when_converged must be true or false"),
    ("a preset that is a number", {"preset": 3}, "preset must be a preset name or a YAML file path"),
    ("an unknown preset", {"preset": "nope"}, "unknown preset 'nope'"),
    ("an unknown task", {"task": "ranking"}, "unknown task 'ranking'"),
    ("a search space that is a number", {"search_space": 123}, "search_space must be a file path"),
    ("cv as an unknown word", {"cv": "weekly"}, 'cv must be a number of folds (at least 2), "time"'),
    ("cv as a mapping", {"cv": {"folds": 3}}, "cv must be a number of folds"),
    ("cv as no splits", {"cv": []}, "cv gave no splits"),
    (
        "cv splits past the last row",
        {"cv": [(np.arange(0, 60), np.arange(60, 500))]},
        "row indices outside 0..149",
    ),
    (
        "cv splits with no validation rows",
        {"cv": [(np.arange(120), np.array([], dtype=int))]},
        "no training or no",
    ),
    (
        "cv splits validating twice",
        {"cv": [(np.arange(60), np.arange(60, 120)), (np.arange(30), np.arange(30, 120))]},
        "disjoint validation sets",
    ),
    ("a time column without time folds", {"time_column": "sepal_length"}, 'pass cv="time" with it'),
    ("a time column that is not there", {"cv": "time", "time_column": "when"}, "'when' is not a column of X"),
    ("a metric that is a number", {"metric": 42}, "unknown metric 42"),
    ("a metric that always raises", {"metric": lambda t, p: 1 / 0}, "cannot score this multiclass task"),
    ("a metric that returns text", {"metric": lambda t, p: "good"}, "cannot score this multiclass task"),
]


@pytest.mark.parametrize(
    ("kwargs", "phrase"), [c[1:] for c in BAD_ARGUMENTS], ids=[c[0] for c in BAD_ARGUMENTS]
)
def test_a_bad_argument_is_refused_before_the_search(kwargs: dict[str, Any], phrase: str) -> None:
    with pytest.raises(ConfigError) as error:
        automl.AutoMLClassifier(**{**CHEAP, **kwargs}).fit(*iris())
    assert phrase in str(error.value)


def test_folds_beyond_the_rows_are_refused() -> None:
    with pytest.raises(ConfigError, match="cv=1000 folds need at least 1000 rows, and X has 120"):
        automl.AutoMLRegressor(**{**CHEAP, "cv": 1000}).fit(*mpg())


# ---- bad data: each a DataError naming the problem -------------------------------------------------------


def _with(frame: pd.DataFrame, **columns: Any) -> pd.DataFrame:
    return frame.assign(**columns)


BAD_DATA: list[tuple[str, Any, str]] = [
    ("inf in y", lambda X, y: (X, y.where(y.index != 3, np.inf)), "y contains inf"),
    ("NaN in y", lambda X, y: (X, y.where(y.index != 3, np.nan)), "y has 1 missing values"),
    ("a target near 1e300", lambda X, y: (X, y * 1e299), "overflow: scale the target first"),
    ("a column of lists", lambda X, y: (_with(X, tags=[[i] for i in range(len(X))]), y), "holds lists"),
    ("a column of dicts", lambda X, y: (_with(X, tags=[{"a": i} for i in range(len(X))]), y), "holds dicts"),
    (
        "a target mixing numbers and text",
        lambda X, y: (X, y.astype(object).where(y.index % 2 == 0, "x")),
        "y mixes numbers and text",
    ),
    ("a Series as X", lambda X, y: (X.iloc[0], y), "X is a pandas Series, not a table"),
    ("one row", lambda X, y: (X.head(1), y.head(1)), "pass at least 2 rows"),
    ("rows of X and y that differ", lambda X, y: (X, y.head(10)), "X has 120 rows but y has 10"),
    (
        "duplicated column names",
        lambda X, y: (pd.concat([X, X.iloc[:, :1]], axis=1), y),
        "duplicated column names",
    ),
    ("no columns", lambda X, y: (X.iloc[:, :0], y), "0 feature(s)"),
    ("only a constant column", lambda X, y: (pd.DataFrame({"c": [1.0] * len(X)}), y), "no usable column"),
    ("complex numbers", lambda X, y: (_with(X, z=np.arange(len(X)) * 1j), y), "holds complex numbers"),
    (
        "a sparse matrix",
        lambda X, y: (scipy.sparse.csr_matrix(X.select_dtypes("number").fillna(0).to_numpy()), y),
        "sparse matrix",
    ),
    ("a 3-D array", lambda X, y: (np.zeros((len(X), 2, 2)), y), "must be 2-dimensional"),
    ("y as a 2-column frame", lambda X, y: (X, pd.DataFrame({"a": y, "b": y})), "y has 2 columns"),
]


@pytest.mark.parametrize(("make", "phrase"), [c[1:] for c in BAD_DATA], ids=[c[0] for c in BAD_DATA])
def test_bad_data_is_refused_before_the_search(make: Any, phrase: str) -> None:
    X, y = make(*mpg())
    with pytest.raises(DataError) as error:
        automl.fit(X, y, **CHEAP, families=["ridge"])
    assert phrase in str(error.value)


def test_a_single_class_and_a_class_of_one_row_are_refused() -> None:
    X, y = iris()
    with pytest.raises(DataError, match="a classifier needs at least two classes"):
        automl.AutoMLClassifier(**CHEAP).fit(X, pd.Series(["setosa"] * len(y)))
    with pytest.raises(DataError, match="a class has a single row"):
        automl.AutoMLClassifier(**CHEAP).fit(X, y.where(y.index != 0, "rare"))


# ---- unusual data that is usable: a valid model -----------------------------------------------------------


def test_infinite_values_are_read_as_missing_at_fit_and_at_predict() -> None:
    X, y = mpg()
    X = X.assign(weight=X.weight.where(X.index % 7 != 0, np.inf).astype(float))
    model = automl.AutoMLRegressor(families=["ridge"], **CHEAP).fit(X, y)
    assert model.schema_.infinite_cells == (X.weight == np.inf).sum() > 0
    prediction = model.predict(X.assign(horsepower=np.inf))
    assert prediction.shape == (len(X),) and np.isfinite(prediction).all()


def test_column_names_lightgbm_refuses_are_renamed_for_it() -> None:
    X, y = load_dataset("titanic")
    X = X.rename(columns={"age": "age, in years", "fare": "fare: in £", "sex": "sex\nat birth"})
    model = automl.AutoMLClassifier(families=["lightgbm"], **{**QUICK, "n_trials": 3}).fit(X, y)
    assert (model.leaderboard_.state == "complete").all(), model.leaderboard_.reason.tolist()
    assert np.isfinite(model.predict_proba(X)).all()


def test_missing_categories_stay_missing(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = titanic
    model = automl.AutoMLClassifier(families=["logistic_regression"], **CHEAP).fit(X, y)
    features = model._features(X.assign(embarked=None))
    assert features["embarked"].isna().all()  # not the string 'nan'
    assert np.isfinite(model.predict_proba(X.assign(embarked=None))).all()


def test_an_array_of_the_right_width_predicts_by_position(titanic: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = titanic
    model = automl.AutoMLClassifier(families=["logistic_regression"], **CHEAP).fit(X, y)
    with pytest.warns(UserWarning, match="read in the order the model was fitted with"):
        by_position = model.predict_proba(X.to_numpy(dtype=object))
    np.testing.assert_allclose(by_position, model.predict_proba(X))
    with pytest.raises(DataError, match="but the model was fitted on a DataFrame of"):
        model.predict(X.iloc[:, :3].to_numpy())


def test_a_semicolon_separated_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "iris.csv"
    pd.read_csv(IRIS).to_csv(path, sep=";", index=False)
    code, out, err = invoke(
        "search",
        path,
        "-t",
        "species",
        "--preset",
        "fast",
        "--families",
        "logistic_regression",
        "--n-trials",
        "2",
        "--out",
        tmp_path / "run",
        "-q",
    )
    assert code == 0, err


# ---- faults ----------------------------------------------------------------------------------------------


def write_family(folder: Path, name: str, estimator: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(
        yaml.safe_dump(
            {
                "family": name,
                "tasks": ["binary", "multiclass"],
                "estimator": {"classification": estimator},
                "defaults": [{"C": 1.0}],
                "params": {"C": {"type": "float", "low": 0.01, "high": 10.0, "log": True}},
            }
        )
    )


def test_a_fit_that_raises_systemexit_fails_its_trial_not_the_search(tmp_path: Path) -> None:
    write_family(tmp_path, "quitter", "faulty_estimators.Quitter")
    write_family(tmp_path, "logreg", "sklearn.linear_model.LogisticRegression")
    model = automl.AutoMLClassifier(search_space=tmp_path, **{**CHEAP, "n_trials": 6}).fit(*iris())
    quit_trials = model.leaderboard_[model.leaderboard_.family == "quitter"]
    assert (quit_trials.state == "fail").all() and quit_trials.reason.str.contains("SystemExit").any()
    assert model.chosen_.family == "logreg"


def test_a_fit_that_never_returns_is_stopped_at_the_budget(tmp_path: Path) -> None:
    write_family(tmp_path, "sleeper", "faulty_estimators.Sleeper")
    write_family(tmp_path, "logreg", "sklearn.linear_model.LogisticRegression")
    started = time.monotonic()
    model = automl.AutoMLClassifier(
        search_space=tmp_path, time_budget=5, families=["sleeper", "logreg"], preset="fast", seed=0
    ).fit(*iris())
    assert time.monotonic() - started <= 2 * 5 + 5  # far less than forever, with room for a loaded machine
    board = model.leaderboard_
    assert board[board.family == "sleeper"].reason.str.contains("cut off at the time budget").any()


def test_a_clone_never_continues_another_problems_study(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    fitted = automl.AutoMLClassifier(
        families=["logistic_regression"], storage=storage, study_name="titanic", **CHEAP
    ).fit(*load_dataset("titanic"))
    with pytest.raises(ConfigError, match="holds trials of another problem"):
        clone(fitted).set_params(time_budget=5).fit(*iris())


def test_a_saved_model_loads_and_predicts_anywhere(
    binary_model: tuple[Any, pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    model, X_test, _ = binary_model
    folder = tmp_path / "run"
    model.save(folder / "model.joblib")
    moved = tmp_path / "elsewhere"
    shutil.move(folder, moved)
    loaded = automl.load(moved / "model.joblib")
    np.testing.assert_allclose(loaded.predict_proba(X_test), model.predict_proba(X_test))
    assert not (folder / "study.db").exists() and not (moved / "study.db").exists()


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"not a pickle at all", "is not a model automl saved, or it is damaged"),
        (None, "is not a model automl saved, or it is damaged"),  # a truncated model file
        (pickle.dumps({"a": 1}), "holds a dict, not an automl model"),
    ],
)
def test_a_file_that_is_no_model_is_refused(
    content: bytes | None, phrase: str, binary_model: Any, tmp_path: Path
) -> None:
    path = tmp_path / "model.joblib"
    if content is None:
        binary_model[0].save(path)
        path.write_bytes(path.read_bytes()[:200])
    else:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=phrase):
        automl.load(path)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("cv: [unclosed", "not valid YAML"),
        ("- a\n- list\n", "expected a mapping of keys, got list"),
        ("cv: five\n", "cv must be at least 2 folds, got 'five'"),
        ("stop: {converge: 'yes'}\n", "stop.converge must be true or false"),
        ("holdout_above: -5\n", "holdout_above must be a number of rows"),
    ],
)
def test_a_malformed_preset_file_is_refused(text: str, phrase: str, tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        automl.AutoMLClassifier(preset=str(path), **{k: v for k, v in CHEAP.items() if k != "preset"}).fit(
            *iris()
        )
    assert phrase in str(error.value) and str(path) in str(error.value)


# ---- the command line: damaged run folders and paths that cannot be written -------------------------------


def cli_cases(tmp_path: Path, run: Path) -> dict[str, tuple[list[Any], str]]:
    afile = tmp_path / "a_file.txt"
    afile.write_text("x")

    def damaged(name: str, change: Any) -> Path:
        copy = tmp_path / name
        shutil.copytree(run, copy)
        change(copy)
        return copy

    return {
        "--out names a file": (
            ["search", IRIS, "-t", "species", "--out", afile],
            "is a file, not a run folder",
        ),
        "--out under a file": (["search", IRIS, "-t", "species", "--out", afile / "run"], "Not a directory"),
        "--out where nothing can be written": (
            ["search", IRIS, "-t", "species", "--out", "/proc/automl-run"],
            "error",
        ),
        "predict -o under a file": (["predict", run, IRIS, "-o", afile / "p.csv"], "non-existent directory"),
        "run.json of the wrong shape": (
            ["report", damaged("shape", lambda f: (f / "run.json").write_text("[]"))],
            "is damaged",
        ),
        "run.json with a bad timestamp": (
            [
                "report",
                damaged(
                    "stamp",
                    lambda f: _edit_record(f, lambda r: r["sessions"][0].update(started_at="yesterday")),
                ),
            ],
            "is damaged",
        ),
        "run.json without a fingerprint": (
            ["report", damaged("print", lambda f: _edit_record(f, lambda r: r["data"].pop("fingerprint")))],
            "is damaged",
        ),
        "run.json that is not JSON": (
            ["report", damaged("json", lambda f: (f / "run.json").write_text("{"))],
            "is damaged",
        ),
        "a truncated model": (
            ["predict", damaged("model", lambda f: (f / "model.joblib").write_bytes(b"\x80\x04")), IRIS],
            "is not a model automl saved",
        ),
        "select where the model cannot be written": (
            [
                "select",
                damaged(
                    "ro",
                    lambda f: (
                        (f / "model.joblib").unlink(),
                        (f / "model.joblib").mkdir(),
                        (f / "model.joblib" / "x").write_text(""),
                    ),
                ),
                "--rule",
                "best",
            ],
            "error",
        ),
        "an energy budget without a number": (
            ["search", IRIS, "-t", "species", "--energy-budget", "lots", "--out", tmp_path / "new"],
            "bad energy budget 'lots'",
        ),
        "a malformed preset file": (
            ["search", IRIS, "-t", "species", "--preset", _bad_preset(tmp_path), "--out", tmp_path / "new"],
            "not valid YAML",
        ),
        "a weight column that is not there": (
            ["search", IRIS, "-t", "species", "--weight-column", "w", "--out", tmp_path / "new"],
            "--weight-column 'w' is not a column",
        ),
        "a group column that is not there": (
            ["search", IRIS, "-t", "species", "--group-column", "g", "--out", tmp_path / "new"],
            "--group-column 'g' is not a column",
        ),
        "a time column that is not there": (
            ["search", IRIS, "-t", "species", "--time-column", "when", "--out", tmp_path / "new"],
            "time_column 'when' is not a column of X",
        ),
        "a weight column of text": (
            [
                "search",
                _with_text_weights(tmp_path),
                "-t",
                "species",
                "--weight-column",
                "w",
                "--out",
                tmp_path / "new",
            ],
            "sample_weight must be numbers",
        ),
    }


def _with_text_weights(folder: Path) -> Path:
    path = folder / "iris_weighted.csv"
    pd.read_csv(IRIS).assign(w="heavy").to_csv(path, index=False)
    return path


def _edit_record(folder: Path, change: Any) -> None:
    import json

    record = json.loads((folder / "run.json").read_text())
    change(record)
    (folder / "run.json").write_text(json.dumps(record))


def _bad_preset(folder: Path) -> Path:
    path = folder / "bad_preset.yaml"
    path.write_text("cv: [unclosed")
    return path


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("robust") / "iris"
    code, _, err = invoke(
        "search",
        IRIS,
        "-t",
        "species",
        "--preset",
        "fast",
        "--families",
        "logistic_regression",
        "--n-trials",
        "2",
        "--out",
        folder,
        "-q",
    )
    assert code == 0, err
    return folder


def test_cli_faults_are_one_error_line_and_exit_2(small_run: Path, tmp_path: Path) -> None:
    failures = one_line_failures(cli_cases(tmp_path, small_run))
    assert not failures, "\n".join(failures)


# ---- fuzz: any small table either fits into a valid model or is refused with an automl error -------------

NAMES = st.text(alphabet=string.ascii_letters + string.digits + " ,:[]{}\"'\n_-é", min_size=1, max_size=8)


@st.composite
def tables(draw: Any) -> tuple[pd.DataFrame, pd.Series, str]:
    rows = draw(st.integers(2, 40))
    names = draw(st.lists(NAMES, min_size=1, max_size=4, unique=True))
    columns = {}
    for name in names:
        kind = draw(st.sampled_from(["float", "int", "bool", "text", "mixed"]))
        if kind == "float":
            values = draw(
                st.lists(
                    st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.none()),
                    min_size=rows,
                    max_size=rows,
                )
            )
        elif kind == "int":
            values = draw(st.lists(st.integers(-1000, 1000), min_size=rows, max_size=rows))
        elif kind == "bool":
            values = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
        elif kind == "text":
            values = draw(
                st.lists(st.one_of(st.sampled_from(["a", "b", "c"]), st.none()), min_size=rows, max_size=rows)
            )
        else:
            values = draw(
                st.lists(
                    st.one_of(st.integers(0, 3), st.sampled_from(["x", "y"]), st.none()),
                    min_size=rows,
                    max_size=rows,
                )
            )
        columns[name] = values
    task = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    if task == "regression":
        target = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=rows, max_size=rows))
    else:
        labels = ["no", "yes"] if task == "binary" else ["a", "b", "c"]
        target = draw(st.lists(st.sampled_from(labels), min_size=rows, max_size=rows))
    return pd.DataFrame(columns), pd.Series(target), task


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_any_table_fits_or_is_refused_with_an_automl_error(
    table: tuple[pd.DataFrame, pd.Series, str],
) -> None:
    X, y, task = table
    family = "ridge" if task == "regression" else "logistic_regression"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = automl.fit(X, y, families=[family], n_trials=2, cv=2, seed=0, time_budget=30)
    except AutoMLError as error:
        assert not isinstance(error, SearchError) or "no trial completed" in str(error)
        return
    prediction = model.predict(X)
    assert len(prediction) == len(X)
    if task == "regression":
        assert np.isfinite(prediction).all()
    else:
        assert set(prediction) <= set(y) and np.isfinite(model.predict_proba(X)).all()
