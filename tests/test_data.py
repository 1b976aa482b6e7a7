"""Input validation and column handling: every bad input gets a DataError that says what to do."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse
from sklearn.exceptions import DataConversionWarning

import automl
from automl.data import encode, infer_schema, infer_task, preprocessor, to_frame, to_target
from automl.errors import AutoMLError, ConfigError, DataError
from conftest import DATA, QUICK, load_dataset

# ---- bad input to fit -----------------------------------------------------------------------


def _iris() -> tuple[pd.DataFrame, pd.Series]:
    return load_dataset("iris")


def _empty_rows() -> tuple[Any, Any]:
    X, y = _iris()
    return X.iloc[:0], y.iloc[:0]


def _empty_columns() -> tuple[Any, Any]:
    X, y = _iris()
    return X[[]], y


def _short_y() -> tuple[Any, Any]:
    X, y = _iris()
    return X, y.iloc[:-10]


def _nan_in_y() -> tuple[Any, Any]:
    X, y = load_dataset("auto_mpg")
    return X, y.where(y.index != 5)


def _inf_in_y() -> tuple[Any, Any]:
    X, y = load_dataset("auto_mpg")
    return X, y.where(y.index != 5, np.inf)


def _one_class() -> tuple[Any, Any]:
    X, y = _iris()
    return X, pd.Series(["setosa"] * len(X))


def _duplicated_column() -> tuple[Any, Any]:
    X, y = _iris()
    X = pd.concat([X, X[["petal_width_cm"]]], axis=1)
    return X, y


def _one_dimensional_X() -> tuple[Any, Any]:
    X, y = _iris()
    return X["petal_width_cm"].to_numpy(), y


def _sparse_X() -> tuple[Any, Any]:
    X, y = _iris()
    return scipy.sparse.csr_matrix(X.to_numpy()), y


def _complex_X() -> tuple[Any, Any]:
    X, y = _iris()
    return X.to_numpy() + 1j, y


def _one_row() -> tuple[Any, Any]:
    X, y = _iris()
    return X.head(1), y.head(1)


def _no_y() -> tuple[Any, Any]:
    X, _ = _iris()
    return X, None


def _only_constant_columns() -> tuple[Any, Any]:
    X, y = _iris()
    return pd.DataFrame({"a": np.ones(len(X)), "b": [np.nan] * len(X)}), y


BAD_FIT_INPUT = [
    # (case, data, words of the problem, words of the remedy)
    ("empty X (no rows)", _empty_rows, "X is empty: 0 sample(s)", "pass at least one row"),
    ("empty X (no columns)", _empty_columns, "X is empty: 0 feature(s)", "pass at least one column"),
    ("X and y of different length", _short_y, "X has 150 rows but y has 140", "must describe the same rows"),
    ("NaN in y", _nan_in_y, "y has 1 missing values", "drop those rows or fill the target"),
    ("inf in y", _inf_in_y, "y contains inf", "drop those rows or clip the target"),
    ("one class", _one_class, "single class ('setosa')", "needs at least two classes"),
    (
        "duplicated column name",
        _duplicated_column,
        "duplicated column names ['petal_width_cm']",
        "rename or drop the copies",
    ),
    ("1-D X", _one_dimensional_X, "X is 1-dimensional", "Reshape your data with X.reshape(-1, 1)"),
    ("sparse X", _sparse_X, "X is a sparse matrix", "pass a dense table"),
    ("complex X", _complex_X, "X holds complex numbers", "split them into real and imaginary columns"),
    ("one row", _one_row, "X has 1 sample(s)", "pass at least 2 rows"),
    ("no y", _no_y, "the target y is None", "pass the values to predict as y"),
    (
        "no usable column",
        _only_constant_columns,
        "no usable column",
        "'a': 'constant', 'b': 'all values missing'",
    ),
]


@pytest.mark.parametrize(
    ("make", "problem", "remedy"),
    [case[1:] for case in BAD_FIT_INPUT],
    ids=[case[0] for case in BAD_FIT_INPUT],
)
@pytest.mark.parametrize("entry", ["fit", "estimator"])
def test_bad_fit_input_raises_data_error(entry: str, make: Any, problem: str, remedy: str) -> None:
    X, y = make()
    with pytest.raises(DataError) as error:
        if entry == "fit":
            automl.fit(X, y, **QUICK)
        else:
            estimator = automl.AutoMLRegressor if make in (_nan_in_y, _inf_in_y) else automl.AutoMLClassifier
            estimator(**QUICK).fit(X, y)
    assert isinstance(error.value, AutoMLError) and isinstance(error.value, ValueError)
    assert problem in str(error.value)
    assert remedy in str(error.value)


def test_regression_target_that_is_not_numeric() -> None:
    X, y = _iris()
    with pytest.raises(
        DataError,
        match=re.escape(
            "task is regression but y is not numeric (dtype str); convert it, or use a classification task"
        ),
    ):
        automl.fit(X, y, task="regression", **QUICK)
    with pytest.raises(DataError, match=re.escape("task is regression but y is not numeric (dtype str)")):
        automl.AutoMLRegressor(**QUICK).fit(X, y)


def test_classifier_given_a_continuous_target_says_which_estimator_to_use() -> None:
    X, y = load_dataset("auto_mpg")
    with pytest.raises(
        DataError, match=r"y holds continuous values \(such as .*\), not class labels; use AutoMLRegressor"
    ):
        automl.AutoMLClassifier(**QUICK).fit(X, y)


def test_each_estimator_reads_a_discrete_number_target_its_own_way() -> None:
    """Integer targets are class labels to a classifier, however many, and numbers to a regressor."""
    X, _ = load_dataset("auto_mpg")
    X, cylinders, year = X.drop(columns=["cylinders", "model_year"]), X["cylinders"], X["model_year"]
    assert cylinders.nunique() == 5 and year.nunique() == 13
    regressor = automl.AutoMLRegressor(families=["ridge"], **QUICK).fit(X, cylinders)
    assert regressor.task_ == "regression"
    classifier = automl.AutoMLClassifier(families=["logistic_regression"], **QUICK).fit(X, year)
    assert classifier.task_ == "multiclass" and list(classifier.classes_) == list(range(70, 83))


def test_numbers_stored_as_objects_are_a_regression_target() -> None:
    X, y = load_dataset("auto_mpg")
    model = automl.AutoMLRegressor(families=["ridge"], **QUICK).fit(X, y.astype(object))
    assert model.task_ == "regression"


def test_a_column_vector_y_is_accepted_with_a_warning() -> None:
    X, y = _iris()
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        model = automl.AutoMLClassifier(families=["logistic_regression"], **QUICK).fit(
            X, y.to_numpy().reshape(-1, 1)
        )
    assert list(model.classes_) == ["setosa", "versicolor", "virginica"]


def test_class_with_a_single_row_cannot_be_cross_validated() -> None:
    X, y = _iris()
    y = y.copy()
    y.iloc[0] = "unique"
    with pytest.raises(DataError, match="a class has a single row; every class needs at least 2 rows"):
        automl.fit(X, y, **QUICK)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"time_budget": 0}, "time_budget must be a positive number of seconds, got 0"),
        ({"time_budget": -5.0}, "time_budget must be a positive number of seconds, got -5.0"),
        ({"preset": "quick"}, "unknown preset 'quick'; choose one of"),
        ({"metric": "accuracy_score"}, "unknown metric 'accuracy_score'; use a scikit-learn scorer name"),
        ({"metric": "r2"}, "metric 'r2' does not fit the task 'multiclass'"),
        ({"families": ["xgboost"]}, "unknown family 'xgboost'; available families"),
        ({"families": ["ridge"]}, "family 'ridge' does not support the task 'multiclass'"),
        ({"task": "ranking"}, "unknown task 'ranking'"),
        ({"cv": 1}, "cv must be at least 2 folds, got 1"),
        ({"selection": "cheapest"}, "unknown selection rule 'cheapest'"),
        ({"cost": "money"}, "unknown cost 'money'"),
    ],
)
def test_bad_argument_raises_config_error(kwargs: dict[str, Any], problem: str) -> None:
    X, y = _iris()
    with pytest.raises(ConfigError) as error:
        automl.fit(X, y, **{**QUICK, **kwargs})
    assert isinstance(error.value, AutoMLError) and isinstance(error.value, ValueError)
    assert problem in str(error.value)


def test_unknown_task_for_an_estimator() -> None:
    X, y = _iris()
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "unknown task 'regression' for AutoMLClassifier; choose one of ['binary', 'multiclass']"
        ),
    ):
        automl.AutoMLClassifier(task="regression", **QUICK).fit(X, y)


# ---- bad input to predict -------------------------------------------------------------------


def test_predict_without_a_column_names_it(binary_model: tuple[Any, pd.DataFrame, pd.Series]) -> None:
    model, X, _ = binary_model
    with pytest.raises(
        DataError,
        match=re.escape("X lacks the columns ['age', 'fare'] that the model was fitted with; add them"),
    ):
        model.predict(X.drop(columns=["age", "fare"]))


def test_predict_with_an_extra_column_names_it(binary_model: tuple[Any, pd.DataFrame, pd.Series]) -> None:
    model, X, _ = binary_model
    with pytest.raises(
        DataError, match=re.escape("X has columns ['ticket'] that the model was not fitted with; drop them")
    ):
        model.predict(X.assign(ticket="A/5 21171"))


def test_predict_matches_columns_by_name(binary_model: tuple[Any, pd.DataFrame, pd.Series]) -> None:
    model, X, _ = binary_model
    shuffled = X[list(reversed(X.columns))]
    np.testing.assert_array_equal(model.predict_proba(shuffled), model.predict_proba(X))


def test_predict_ignores_the_index(binary_model: tuple[Any, pd.DataFrame, pd.Series]) -> None:
    model, X, _ = binary_model
    np.testing.assert_array_equal(model.predict_proba(X.reset_index(drop=True)), model.predict_proba(X))


def test_predict_handles_unseen_categories_and_missing_values(
    binary_model: tuple[Any, pd.DataFrame, pd.Series],
) -> None:
    model, X, _ = binary_model
    odd = X.head(20).copy()
    odd["embark_town"] = "Reykjavik"
    odd["deck"] = np.nan
    odd.loc[odd.index[:5], "age"] = np.nan
    proba = model.predict_proba(odd)
    assert proba.shape == (20, 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_predict_accepts_numbers_in_a_categorical_column(
    regression_model: tuple[Any, pd.DataFrame, pd.Series],
) -> None:
    model, X, _ = regression_model
    predictions = model.predict(X.assign(origin=1))
    assert np.isfinite(predictions).all()


def test_predict_with_text_in_a_numeric_column_says_which(
    binary_model: tuple[Any, pd.DataFrame, pd.Series],
) -> None:
    model, X, _ = binary_model
    bad = X.astype({"fare": object})
    bad.loc[bad.index[3], "fare"] = "12 pounds"
    with pytest.raises(
        DataError,
        match=re.escape("column 'fare' was numeric at fit time but holds '12 pounds'")
        + ".*convert it to numbers",
    ):
        model.predict(bad)


def test_predict_accepts_numeric_strings_in_a_numeric_column(
    binary_model: tuple[Any, pd.DataFrame, pd.Series],
) -> None:
    model, X, _ = binary_model
    as_text = X.astype({"fare": str, "pclass": str})
    np.testing.assert_allclose(model.predict_proba(as_text), model.predict_proba(X))


def test_predict_on_an_array_checks_the_width() -> None:
    X, y = _iris()
    model = automl.AutoMLClassifier(families=["logistic_regression"], **QUICK).fit(X.to_numpy(), y.to_numpy())
    assert model.predict(X.to_numpy()[:5]).tolist() == y.iloc[:5].tolist()
    with pytest.raises(DataError, match="X has 3 features, but automl is expecting 4 features as input"):
        model.predict(X.to_numpy()[:, :3])


# ---- inference of the task and of column types ------------------------------------------------


@pytest.mark.parametrize(
    ("values", "task"),
    [
        ([0, 1, 1, 0], "binary"),
        (["yes", "no", "no"], "binary"),
        ([True, False, True], "binary"),
        ([1.5, 2.5, 1.5], "binary"),
        (["a", "b", "c"], "multiclass"),
        ([1, 2, 3, 4, 5, 6, 7], "multiclass"),
        ([1.0, 2.0, 3.0], "multiclass"),
        (list(range(11)), "regression"),
        ([0.5, 1.5, 2.25], "regression"),
    ],
)
def test_infer_task(values: list[Any], task: str) -> None:
    assert infer_task(pd.Series(values)) == task


def test_infer_schema_of_a_mixed_real_table() -> None:
    X, _ = load_dataset("titanic")
    X = X.assign(
        passenger=[f"p{i}" for i in range(len(X))],
        constant=1,
        nothing=np.nan,
        boarded=pd.Timestamp("1912-04-10"),
    )
    schema = infer_schema(X)
    assert set(schema.numeric) == {"pclass", "age", "sibsp", "parch", "fare", "adult_male", "alone"}
    assert set(schema.categorical) == {"sex", "embarked", "class", "who", "deck", "embark_town"}
    assert schema.dropped == {
        "passenger": "ID-like (every value is unique)",
        "constant": "constant",
        "nothing": "all values missing",
        "boarded": "constant",
    }
    assert schema.columns == tuple(X.columns)
    assert schema.n_rows == len(X) and schema.missing_cells == int(X.isna().sum().sum())
    assert schema.fingerprint == infer_schema(X.copy()).fingerprint != infer_schema(X.head(100)).fingerprint


def test_a_datetime_column_becomes_date_features() -> None:
    X = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=30), "x": np.arange(30.0)})
    schema = infer_schema(X)
    assert "when" not in schema.dropped and schema.source("when.month") == "when"
    assert schema.raw_numeric == ("x",)
    encoded = encode(X, schema)
    assert encoded["when.day"].tolist() == list(range(1, 31))
    assert encoded["when.elapsed_days"].tolist() == list(range(30))
    assert "when.hour" not in encoded  # no time of day in these dates


def test_dates_stored_as_text_are_parsed_on_every_row() -> None:
    weather = pd.read_csv(DATA / "seattle_weather.csv")
    assert not pd.api.types.is_datetime64_any_dtype(weather["date"])
    weather = weather.drop(columns="temp_max")
    schema = infer_schema(weather)
    (date,) = schema.derived
    assert date.column == "date" and date.kind == "date" and date.format == "%Y-%m-%d"
    encoded = encode(weather, schema)
    assert not encoded["date.month"].isna().any()
    assert encoded["date.year"].min() == 2012 and encoded["date.year"].max() == 2015
    assert "date: year, month" in date.describe() or "a date" in date.describe()


def test_day_first_dates_time_zones_and_durations() -> None:
    X = pd.DataFrame(
        {
            "day_first": ["13/01/2021", "02/03/2021", "25/12/2021", "01/02/2022"] * 6,
            "stamp": [
                "2021-01-01T10:30:00+02:00",
                "2021-06-01T00:15:00Z",
                "2021-03-01T12:00:00+00:00",
                "2021-04-01T23:45:00-05:00",
            ]
            * 6,
            "took": pd.to_timedelta(["1h", "30min", "2h", "10s"] * 6),
        }
    )
    schema = infer_schema(X)
    assert {d.column: d.kind for d in schema.derived} == {
        "day_first": "date",
        "stamp": "date",
        "took": "duration",
    }
    encoded = encode(X, schema)
    assert encoded["day_first.day"][:3].tolist() == [13, 2, 25] and encoded["day_first.month"][1] == 3
    assert encoded["stamp.hour"][:2].tolist() == [8, 0]  # in UTC
    assert encoded["took.seconds"][:4].tolist() == [3600, 1800, 7200, 10]


def test_free_text_is_hashed_not_a_thousand_level_category() -> None:
    words = ["red", "cheap", "fast", "car", "old", "new", "house", "big", "small", "blue"]
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"note": [" ".join(rng.choice(words, 6)) for _ in range(200)], "x": np.arange(200.0)})
    schema = infer_schema(X)
    assert schema.categorical == () and schema.derived[0].kind == "text"
    assert encode(X, schema).shape == (200, 1 + len(schema.derived[0].features))


def test_numeric_strings_count_as_numeric() -> None:
    X = pd.DataFrame({"n": ["1", "2.5", None, "4"], "c": ["a", "b", "a", "b"]}, dtype=object)
    schema = infer_schema(X)
    assert schema.numeric == ("n",) and schema.categorical == ("c",)
    encoded = encode(X, schema)
    assert encoded["n"].dtype == np.float32 and np.isnan(encoded["n"][2]) and encoded["n"][1] == 2.5


def test_high_cardinality_column_is_flagged_not_dropped() -> None:
    X = pd.DataFrame({"city": [f"c{i % 60}" for i in range(300)], "x": np.arange(300.0)})
    schema = infer_schema(X)
    assert schema.categorical == ("city",) and schema.high_cardinality == ("city",)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_one_hot_families_target_encode_a_high_cardinality_column_inside_the_fold(task: str) -> None:
    rng = np.random.default_rng(0)
    city = rng.integers(0, 200, 2000)
    effect = rng.normal(size=200)[city]
    X = pd.DataFrame(
        {"city": [f"c{c}" for c in city], "size": rng.normal(size=2000), "kind": rng.choice(["a", "b"], 2000)}
    )
    y = {
        "binary": (effect > 0).astype(int),
        "multiclass": np.digitize(effect, [-0.5, 0.5]),
        "regression": effect,
    }[task]
    schema = infer_schema(X)
    encoded = encode(X, schema)
    transform = preprocessor(schema, categorical="onehot", scale=True, task=task).fit(
        encoded.iloc[:1500], y[:1500]
    )
    names = list(transform.get_feature_names_out())
    assert [n for n in names if n.startswith("city")] == (
        ["city_0", "city_1", "city_2"] if task == "multiclass" else ["city"]
    )
    assert "kind_0.0" in names  # a low-cardinality column is still one-hot encoded (of its codes)
    held_out = transform.transform(encoded.iloc[1500:])[
        :, names.index("city_1" if task == "multiclass" else "city")
    ]
    assert abs(np.corrcoef(held_out, (y[1500:] == 1) if task == "multiclass" else y[1500:])[0, 1]) > 0.5
    ordinal = preprocessor(schema, categorical="ordinal", scale=False, task=task).fit(encoded, y)
    assert "city" in ordinal.get_feature_names_out()  # trees keep codes


def test_array_gets_positional_column_names() -> None:
    frame = to_frame(np.arange(6).reshape(3, 2))
    assert list(frame.columns) == ["x0", "x1"]


def test_to_frame_does_not_change_the_callers_frame() -> None:
    X = pd.DataFrame({1: [1.0, 2.0], 2: ["a", "b"]})
    frame = to_frame(X)
    assert list(frame.columns) == ["1", "2"] and list(X.columns) == [1, 2]


def test_to_target_accepts_a_single_column_frame_or_2d_array() -> None:
    with pytest.warns(DataConversionWarning):
        assert to_target(pd.DataFrame({"y": [1, 2, 3]}), 3).tolist() == [1, 2, 3]
    with pytest.warns(DataConversionWarning):
        assert to_target(np.array([[1], [2], [3]]), 3).tolist() == [1, 2, 3]
    with pytest.raises(DataError, match="y has 2 columns; automl predicts one target column"):
        to_target(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), 2)


@pytest.mark.parametrize(
    ("categorical", "scale", "width"), [("onehot", True, 4 + 4 + 3 + 3), ("ordinal", False, 4 + 4 + 2)]
)
def test_preprocessor_imputes_encodes_and_scales(categorical: str, scale: bool, width: int) -> None:
    X, _ = load_dataset("penguins")
    schema = infer_schema(X)
    Xt = preprocessor(schema, categorical=categorical, scale=scale).fit_transform(encode(X, schema))
    # 4 numeric + their 4 missing-value indicators + island (3) and sex (2 + missing), one-hot or ordinal
    assert Xt.shape == (len(X), width)
    assert np.isfinite(Xt).all()
    if scale:  # measured numbers are standardised; indicators and one-hot columns stay 0/1
        np.testing.assert_allclose(Xt[:, :4].mean(axis=0), 0.0, atol=1e-6)
        np.testing.assert_allclose(Xt[:, :4].std(axis=0), 1.0, rtol=1e-6)
        assert set(np.unique(Xt[:, 4:])) == {0.0, 1.0}
