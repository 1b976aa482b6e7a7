"""Input validation, task and column-type inference, and the preprocessing fitted inside each fold."""

from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import DataConversionWarning
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)

from automl.errors import ConfigError, DataError
from automl.features import Derived, detect, timestamps
from automl.tasks import is_regression

#: Integer targets with at most this many distinct values are read as class labels.
MAX_INTEGER_CLASSES = 10
#: A regression target beyond this magnitude overflows a sum of squared errors.
MAX_TARGET = 1e150
#: One-hot encoding keeps at most this many categories per column (the rest share one).
MAX_ONEHOT_CATEGORIES = 32
HIGH_CARDINALITY = 50
#: What a missing categorical value is encoded as, inside a fold, for the encoders that need a value.
MISSING_CODE = -1.0


@dataclass(frozen=True)
class Schema:
    """What ``fit`` learned about the columns, so ``predict`` can check and align new data."""

    columns: tuple[str, ...]
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    dropped: dict[str, str] = field(default_factory=dict)
    from_array: bool = False
    n_rows: int = 0
    missing_cells: int = 0
    high_cardinality: tuple[str, ...] = ()
    fingerprint: str = ""
    #: Each categorical column's values seen in training, sorted: a value's code is its position here.
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Numeric cells that were infinite, read as missing.
    infinite_cells: int = 0
    #: Columns that become several numeric features (dates, durations, free text); their features are in ``numeric``.
    derived: tuple[Derived, ...] = ()

    @property
    def used(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    @property
    def raw_numeric(self) -> tuple[str, ...]:
        """The numeric columns taken as they are (``numeric`` also holds the derived features)."""
        made = {f for d in self.derived for f in d.features}
        return tuple(n for n in self.numeric if n not in made)

    def source(self, feature: str) -> str:
        """The column of the data a used feature comes from (a date's ``when.month`` comes from ``when``)."""
        return next((d.column for d in self.derived if feature in d.features), feature)

    @property
    def features(self) -> tuple[str, ...]:
        """The used columns' names as the models see them: the characters LightGBM refuses replaced, unique."""
        return _model_names(self.used)

    @property
    def numeric_features(self) -> list[str]:
        return list(self.features[: len(self.numeric)])

    @property
    def categorical_features(self) -> list[str]:
        return list(self.features[len(self.numeric) :])

    def readable(self, feature: str) -> str:
        """An encoded feature's name as a person reads it: ``sex_1.0`` (one-hot of code 1) becomes ``sex=male``."""
        original = dict(zip(self.features, self.used, strict=True))
        for safe, column in zip(self.features[len(self.numeric) :], self.categorical, strict=True):
            prefix = f"{safe}_"
            if feature.startswith(prefix):
                code = feature[len(prefix) :]
                try:
                    return f"{column}={self.categories[column][int(float(code))]}"
                except (ValueError, IndexError):
                    label = {"-1.0": "missing", "infrequent_sklearn": "other"}.get(code, code)
                    return f"{column}={label}"
        for prefix in ("missingindicator_", ""):
            if feature.startswith(prefix) and feature[len(prefix) :] in original:
                return ("missing " if prefix else "") + original[feature[len(prefix) :]]
        return feature


def _model_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """Column names a model library accepts (LightGBM refuses JSON's special characters), still unique."""
    safe: list[str] = []
    for name in names:
        candidate = _UNSAFE.sub("_", name) or "_"
        while candidate in safe:
            candidate += "_"
        safe.append(candidate)
    return tuple(safe)


_UNSAFE = re.compile(r'[",:\[\]{}\n\r\t]')


def tabular(X: Any) -> Any:
    """A polars, pyarrow or other data frame as pandas, its column names kept; anything else unchanged."""
    if isinstance(X, pd.DataFrame | pd.Series | np.ndarray):
        return X
    if hasattr(X, "to_pandas") and hasattr(X, "columns"):
        return X.to_pandas()
    if hasattr(X, "__dataframe__"):
        return pd.api.interchange.from_dataframe(X)
    return X


def to_frame(X: Any, *, what: str = "X") -> pd.DataFrame:
    """X as a DataFrame with string column names; arrays get x0, x1, ..."""
    X = tabular(X)
    if isinstance(X, pd.DataFrame):
        frame = X
    elif isinstance(X, pd.Series):
        raise DataError(
            f"{what} is a pandas Series, not a table; pass X.to_frame() for one column, "
            "or X.to_frame().T for one row"
        )
    else:
        if scipy.sparse.issparse(X):
            raise DataError(
                f"{what} is a sparse matrix, which automl does not support; pass a dense table (X.toarray())"
            )
        array = np.asarray(X, dtype=object if not hasattr(X, "dtype") else None)
        if array.ndim == 1:
            raise DataError(
                f"{what} is 1-dimensional; a 2-D table is expected. Reshape your data with X.reshape(-1, 1) "
                "if it has a single feature or X.reshape(1, -1) if it is a single sample"
            )
        if array.ndim != 2:
            raise DataError(f"{what} must be 2-dimensional (rows x columns), got shape {array.shape}")
        frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    if any(pd.api.types.is_complex_dtype(dtype) for dtype in frame.dtypes):
        raise DataError(
            f"{what} holds complex numbers. Complex data not supported; split them into real and imaginary columns"
        )
    if frame.shape[0] == 0:
        raise DataError(
            f"{what} is empty: 0 sample(s) (shape={frame.shape}) while a minimum of 1 is required; pass at "
            "least one row"
        )
    if frame.shape[1] == 0:
        raise DataError(
            f"{what} is empty: 0 feature(s) (shape={frame.shape}) while a minimum of 1 is required; pass at "
            "least one column"
        )
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"{what} has duplicated column names {duplicated}; rename or drop the copies")
    frame = frame.copy(deep=False)  # copy-on-write: renaming the columns never touches the caller's frame
    frame.columns = [str(c) for c in frame.columns]
    return frame


def to_weights(sample_weight: Any, n_rows: int) -> np.ndarray | None:
    """``sample_weight`` checked: one finite, non-negative number per row, not all zero."""
    if sample_weight is None:
        return None
    try:
        weights = np.asarray(tabular(sample_weight), dtype=float)
    except (TypeError, ValueError):
        raise DataError("sample_weight must be numbers, one per row of X") from None
    if weights.ndim != 1 or len(weights) != n_rows:
        raise DataError(
            f"sample_weight must give one number per row: X has {n_rows} rows, sample_weight "
            f"has shape {weights.shape}"
        )
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise DataError("sample_weight has missing, infinite or negative values; weights must be 0 or more")
    if not weights.sum() > 0:
        raise DataError("sample_weight is zero for every row; at least one row must count")
    return weights


def to_groups(groups: Any, n_rows: int) -> np.ndarray | None:
    """``groups`` checked: one label per row, none missing."""
    if groups is None:
        return None
    labels = pd.Series(np.asarray(tabular(groups), dtype=object).ravel())
    if len(labels) != n_rows:
        raise DataError(f"groups must give one label per row: X has {n_rows} rows, groups has {len(labels)}")
    if labels.isna().any():
        raise DataError(f"groups has {int(labels.isna().sum())} missing labels; give every row a group")
    return pd.factorize(labels)[0]


def time_order(frame: pd.DataFrame, column: str) -> np.ndarray:
    """The rows in the order of ``column`` (numbers, or dates and times, parsed), earliest first."""
    if column not in frame.columns:
        raise ConfigError(
            f"time_column {column!r} is not a column of X; the columns are {list(frame.columns)[:20]}"
        )
    values = frame[column]
    if not pd.api.types.is_numeric_dtype(values):
        values = timestamps(values)
    if values.isna().any():
        raise DataError(
            f"time_column {column!r} has {int(values.isna().sum())} missing or unreadable values; every row "
            "needs a time to be ordered by"
        )
    return np.argsort(values.to_numpy(), kind="stable")


def to_target(y: Any, n_rows: int) -> pd.Series:
    if y is None:
        raise DataError(
            "fit requires y to be passed, but the target y is None; pass the values to predict as y"
        )
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataError(f"y has {y.shape[1]} columns; automl predicts one target column")
        _warn_column_vector()
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        series = y.reset_index(drop=True)
    else:
        array = np.asarray(y)
        if array.ndim == 2 and array.shape[1] == 1:
            _warn_column_vector()
            array = array.ravel()
        if array.ndim != 1:
            raise DataError(f"y must be 1-dimensional, got shape {array.shape}")
        series = pd.Series(array)
    if pd.api.types.is_complex_dtype(series):
        raise DataError(
            "y holds complex numbers. Complex data not supported; predict the real and imaginary parts separately"
        )
    if len(series) != n_rows:
        raise DataError(f"X has {n_rows} rows but y has {len(series)}; they must describe the same rows")
    if series.isna().any():
        raise DataError(
            f"y has {int(series.isna().sum())} missing values; drop those rows or fill the target first"
        )
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        if not np.isfinite(series.to_numpy(dtype=float)).all():
            raise DataError("y contains inf; drop those rows or clip the target to finite values")
    elif series.dtype == object:
        kinds = {type(v).__name__ for v in series if not isinstance(v, (bool, np.bool_))}
        if {"list", "dict", "set", "tuple", "ndarray"} & kinds:
            raise DataError("y holds lists or other containers; it needs one label or number per row")
        if "str" in kinds and kinds & {"int", "float", "int64", "float64"}:
            raise DataError(
                f"y mixes numbers and text ({sorted(kinds)}); make the labels one type, "
                "for example y.astype(str)"
            )
    return series


def _warn_column_vector() -> None:
    warnings.warn(
        "A column-vector y was passed when a 1d array was expected; change its shape to (n_samples,), "
        "for example using ravel()",
        DataConversionWarning,
        stacklevel=3,
    )


def infer_task(y: pd.Series, tasks: tuple[str, ...] = ("binary", "multiclass", "regression")) -> str:
    """binary, multiclass or regression, from the target's type and distinct values.

    ``tasks`` are those the caller can do: a regressor reads any target as a regression one,
    a classifier any discrete target as class labels, however many.
    """
    if tasks == ("regression",):
        return "regression"
    n_unique = y.nunique()
    if n_unique == 2:
        return "binary"
    numeric = pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)
    if not numeric:
        return "multiclass"
    integer_valued = bool(np.all(np.mod(y.to_numpy(dtype=float), 1) == 0))
    if "regression" not in tasks:
        if not integer_valued:
            example = y[np.mod(y.to_numpy(dtype=float), 1) != 0].iloc[0]
            raise DataError(
                f"y holds continuous values (such as {example!r}), not class labels; "
                "use AutoMLRegressor for a continuous target"
            )
        return "multiclass"
    return "multiclass" if integer_valued and n_unique <= MAX_INTEGER_CLASSES else "regression"


def check_target(y: pd.Series, task: str) -> None:
    if task == "regression":
        if pd.api.types.is_bool_dtype(y) or pd.to_numeric(y, errors="coerce").isna().any():
            raise DataError(
                f"task is regression but y is not numeric (dtype {y.dtype}); convert it, or use a classification task"
            )
        largest = float(np.abs(pd.to_numeric(y)).max())
        if largest > MAX_TARGET:
            raise DataError(
                f"y reaches {largest:.3g}; squared errors of values this large overflow: scale the "
                "target first (divide it by a power of ten, or take its logarithm)"
            )
    elif y.nunique() < 2:
        raise DataError(f"y has a single class ({y.iloc[0]!r}); a classifier needs at least two classes")
    elif task == "binary" and y.nunique() > 2:
        raise DataError(f"task is binary but y has {y.nunique()} classes; use task='multiclass'")


def infer_schema(X: pd.DataFrame, *, from_array: bool = False) -> Schema:
    """Split columns into numeric and categorical, and drop the ones no model can use."""
    numeric, categorical, high, dropped = [], [], [], {}
    n_rows = len(X)
    if n_rows < 2:
        raise DataError(
            f"X has {n_rows} sample(s); automl cross-validates its candidates, so pass at least 2 rows (many "
            "more for a useful model)"
        )
    derived: list[Derived] = []
    for name in X.columns:
        column = X[name]
        _check_cells(column, name)
        n_unique = column.nunique(dropna=True)
        made = None if n_unique <= 1 or _is_numeric(column) else detect(column, name)
        if n_unique <= 1:
            dropped[name] = "constant" if n_unique == 1 else "all values missing"
        elif _is_numeric(column):
            numeric.append(name)
        elif made is not None:
            derived.append(made)
        elif n_unique == n_rows and n_rows >= 20:
            dropped[name] = "ID-like (every value is unique)"
        else:
            categorical.append(name)
            if n_unique > HIGH_CARDINALITY:
                high.append(name)
    if not numeric and not categorical and not derived:
        raise DataError(f"no usable column: every column was dropped ({dropped}); check the data")
    return Schema(
        columns=tuple(X.columns),
        numeric=tuple(numeric) + tuple(f for d in derived for f in d.features),
        categorical=tuple(categorical),
        dropped=dropped,
        from_array=from_array,
        n_rows=n_rows,
        missing_cells=int(X.isna().sum().sum()),
        high_cardinality=tuple(high),
        fingerprint=fingerprint(X),
        categories={name: _vocabulary(X[name]) for name in categorical},
        infinite_cells=sum(_infinite(X[name]) for name in numeric),
        derived=tuple(derived),
    )


def _check_cells(column: pd.Series, name: str) -> None:
    """One value per cell: a column of lists or dicts is a DataError naming it."""
    if column.dtype != object:
        return
    sample = column.dropna().head(1000)
    container = next((v for v in sample if isinstance(v, (list, dict, set, tuple, np.ndarray))), None)
    if container is not None:
        raise DataError(
            f"column '{name}' holds {type(container).__name__}s (such as {str(container)[:40]}); "
            "automl needs one value per cell: expand it into columns or drop it"
        )


def _infinite(column: pd.Series) -> int:
    values = pd.to_numeric(column, errors="coerce")
    return int(np.isinf(values.to_numpy(dtype=float, na_value=np.nan)).sum())


def _vocabulary(column: pd.Series) -> tuple[str, ...]:
    return tuple(sorted(_as_text(column.dropna()).unique()))


def _as_text(column: pd.Series) -> pd.Series:
    """Category values as the strings they are matched by (``1`` and ``"1"`` are one category)."""
    return column.astype(str) if column.dtype != object else column.map(str)


def _is_numeric(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return True
    if column.dtype == object:
        converted = pd.to_numeric(column.dropna(), errors="coerce")
        return bool(converted.notna().all())
    return False


def fingerprint(X: pd.DataFrame, y: pd.Series | None = None) -> str:
    """A short hash of the data, to tell whether a resumed run sees the same dataset."""
    digest = hashlib.sha256()
    digest.update(",".join(map(str, X.columns)).encode())
    digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    if y is not None:
        digest.update(pd.util.hash_pandas_object(y, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def encode(X: Any, schema: Schema) -> pd.DataFrame:
    """New data in the fitted layout, as every model reads it: one number per used column.

    Columns are matched by name. Numbers become float32 (float64 where a value would overflow
    float32), with infinities read as missing; a categorical value becomes its code in the
    schema's vocabulary, a value not seen in training the code after the last, a missing one
    NaN. Each column is converted once, so the cost is linear in rows and columns.
    """
    frame = _matched(X, schema)
    n_rows = len(frame)
    numeric = _numbers(frame, schema.raw_numeric)
    if schema.derived:
        numeric = np.hstack([numeric, *(d.compute(frame[d.column]) for d in schema.derived)])
        numeric[np.isinf(numeric)] = np.nan
    dtype = np.float32 if not numeric.size or np.nanmax(np.abs(numeric), initial=0.0) < 3e38 else np.float64
    matrix = np.empty((n_rows, len(schema.used)), dtype=dtype)
    matrix[:, : len(schema.numeric)] = numeric
    for offset, name in enumerate(schema.categorical, start=len(schema.numeric)):
        matrix[:, offset] = _codes(frame[name], schema.categories[name])
    return pd.DataFrame(matrix, columns=list(schema.features), copy=False)


def _matched(X: Any, schema: Schema) -> pd.DataFrame:
    """X with exactly the fitted columns, by name (by position for an array of the right width)."""
    X = tabular(X)
    if not isinstance(X, pd.DataFrame) and not schema.from_array:
        array = to_frame(X)
        if array.shape[1] != len(schema.columns):
            raise DataError(
                f"X is an array of {array.shape[1]} columns, but the model was fitted on a DataFrame of "
                f"{len(schema.columns)} columns {list(schema.columns)[:20]}; pass a DataFrame with those columns"
            )
        warnings.warn(
            "X has no column names; its columns are read in the order the model was fitted with",
            UserWarning,
            stacklevel=4,
        )
        array.columns = list(schema.columns)
        return array
    if schema.from_array and not isinstance(X, pd.DataFrame):
        array = to_frame(X)
        if array.shape[1] != len(schema.columns):
            raise DataError(
                f"X has {array.shape[1]} features, but automl is expecting {len(schema.columns)} features as input "
                "(the columns it was fitted on)"
            )
        X = array
    frame = to_frame(X)
    known, given = set(schema.columns), set(frame.columns)
    missing = [c for c in schema.columns if c not in given]
    if missing:
        raise DataError(
            f"X lacks the columns {missing[:20]} that the model was fitted with; add them (missing values are allowed)"
        )
    extra = [c for c in frame.columns if c not in known]
    if extra:
        raise DataError(
            f"X has columns {extra[:20]} that the model was not fitted with; drop them before predicting"
        )
    return frame


def _numbers(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """The numeric columns as one float64 block, infinities as NaN; a non-number is a DataError naming its column."""
    block = frame[list(names)]
    if all(pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in block.dtypes):
        values = block.to_numpy(dtype=np.float64, na_value=np.nan)
        if not values.flags.writeable:  # copy-on-write pandas hands out read-only views
            values = values.copy()
    else:
        values = np.empty((len(block), len(names)))
        for i, name in enumerate(names):
            column = block[name]
            if pd.api.types.is_bool_dtype(column):
                column = column.astype(float)
            try:
                values[:, i] = pd.to_numeric(column, errors="raise").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            except (ValueError, TypeError):
                bad = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()].iloc[0]
                raise DataError(
                    f"column '{name}' was numeric at fit time but holds {bad!r} (dtype {column.dtype}); "
                    "convert it to numbers"
                ) from None
    values[np.isinf(values)] = np.nan
    return values


def _codes(column: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Each value's position in ``vocabulary``; ``len(vocabulary)`` for an unseen value, NaN for a missing one."""
    present = column.notna().to_numpy()
    codes = np.full(len(column), np.nan)
    if present.any():
        found = pd.Index(vocabulary).get_indexer(_as_text(column[present]))
        codes[present] = np.where(found < 0, len(vocabulary), found)
    return codes


def as_category(X: pd.DataFrame) -> pd.DataFrame:
    """Ordinal codes as pandas categories, which LightGBM and HistGradientBoosting split on natively."""
    return X.astype("category")


def preprocessor(
    schema: Schema, *, categorical: str, scale: bool, missing: str = "impute", task: str = "binary"
) -> ColumnTransformer:
    """The per-family preprocessing; a fresh one is fitted inside every fold.

    ``native`` keeps categoricals as one column each, typed ``category``, in a DataFrame
    output: the estimator groups their values itself instead of reading codes as numbers.
    ``scale`` standardises measured numbers only: a standardised 0/1 column (a missing-value
    indicator or a one-hot category) seen in 1 row of 300 would read 17 on that row, and a
    linear model or an MLP would extrapolate from it to a near-certain, often wrong answer.
    ``missing="native"`` leaves missing numbers missing, for the estimators that learn where
    they belong (gradient boosting); ``impute`` fills in the median and adds an indicator column.
    For one-hot families a high-cardinality column is target-encoded instead (the mean target of
    its category, cross-fitted within the fold's training rows, so no row sees its own target).
    """
    numeric_steps: list[Any] = [SimpleImputer(strategy="median", keep_empty_features=True)]
    if scale:  # linear models, k-NN and the MLP compute in float64: float32 sums depend on the batch
        numeric_steps += [FunctionTransformer(np.float64, feature_names_out="one-to-one"), StandardScaler()]
    if categorical == "onehot":
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist", max_categories=MAX_ONEHOT_CATEGORIES, sparse_output=False
        )
    else:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
        )
    categorical_steps: list[Any] = [SimpleImputer(strategy="constant", fill_value=MISSING_CODE), encoder]
    if scale and categorical != "onehot":
        categorical_steps.append(StandardScaler())
    if categorical == "native":
        categorical_steps.append(FunctionTransformer(as_category, feature_names_out="one-to-one"))
    transformers = []
    if schema.numeric and missing == "native":
        transformers.append(("numeric", "passthrough", schema.numeric_features))
    elif schema.numeric:
        numeric = schema.numeric_features
        transformers.append(("numeric", make_pipeline(*numeric_steps), numeric))
        transformers.append(("missing", MissingIndicator(error_on_new=False), numeric))
    many = set(schema.high_cardinality) if categorical == "onehot" else set()
    columns = list(zip(schema.categorical_features, schema.categorical, strict=True))
    if any(column not in many for _, column in columns):
        few = [feature for feature, column in columns if column not in many]
        transformers.append(("categorical", make_pipeline(*categorical_steps), few))
    if many:
        target_type = "continuous" if is_regression(task) else "binary" if task == "binary" else "multiclass"
        encoding = [
            SimpleImputer(strategy="constant", fill_value=MISSING_CODE),
            TargetEncoder(
                target_type=target_type,
                cv=(KFold if is_regression(task) else StratifiedKFold)(5, shuffle=True, random_state=0),
            ),
            *([StandardScaler()] if scale else []),
        ]
        transformers.append(
            ("target_encoded", make_pipeline(*encoding), [f for f, column in columns if column in many])
        )
    transformer = ColumnTransformer(transformers, verbose_feature_names_out=False)
    return transformer.set_output(transform="pandas") if categorical == "native" else transformer
