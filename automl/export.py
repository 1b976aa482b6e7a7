"""A fitted model's standalone inference object, and its export as skops, ONNX or joblib.

``InferenceModel`` holds what ``predict`` and ``predict_proba`` use and nothing else: automl's
column alignment and categorical codes (its ``Schema``, for ``automl.data.encode``), the chosen
model, the class labels and the probability smoothing. Its state is plain names, tuples, dicts,
numbers and the fitted estimators, no pandas object, so skops can save it and load it back
without running arbitrary code.

The ONNX graph starts after the column alignment: its input ``X`` is the encoded matrix
(float32, one column per used feature, in ``feature_names``), which ``onnx_input`` makes from a
table. Its outputs are ``label`` and the smoothed ``probabilities`` for a classifier, ``prediction``
for a regressor.
"""

from __future__ import annotations

import copy
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import MissingIndicator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from automl import data as data_module
from automl.calibration import Calibrator
from automl.ensemble import EnsembleModel
from automl.errors import ConfigError
from automl.smoothing import laplace_weight, smooth

FORMATS = ("skops", "onnx", "joblib")
#: What a skops file may hold beyond the types skops trusts itself: the types of automl, scikit-learn and
#: LightGBM, and two plain ones; anything else (a builtin function, say) is refused at load.
TRUSTED_PACKAGES = ("automl.", "sklearn.", "lightgbm.")
TRUSTED_TYPES = ("numpy.dtype", "collections.OrderedDict")
ONNX_OPSET = {"": 17, "ai.onnx.ml": 3}
#: The models whose ONNX conversion predicts as they do (checked in tests/test_export.py and by hand):
#: skl2onnx's k-NN and histogram boosting converters give other answers, or fail, on automl's pipelines.
ONNX_MODELS = (
    "LogisticRegression",
    "Ridge",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "LGBMClassifier",
    "LGBMRegressor",
)


def _require(module: str) -> ModuleType:
    """Import an optional package of the export extra, or a ConfigError with the command that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"exporting needs the package {module.split('.')[0]!r}; install the export extra from automl's "
            'checkout: pip install ".[export]" (skops, skl2onnx, onnxmltools, onnxruntime)'
        ) from None


class InferenceModel(BaseEstimator):
    """The chosen model with automl's column alignment, label decoding and smoothing: what ``predict`` runs.

    Parameters
    ----------
    model : estimator
        The refitted pipeline (or ``EnsembleModel``); it reads the encoded features.
    schema : Schema
        What ``fit`` learned about the columns (plain names, codes and counts), which aligns and
        encodes new data (``automl.data.encode``).
    task : {"binary", "multiclass", "regression"}
    classes : list, optional
        The class labels, in the order of ``predict_proba``'s columns (classifiers only).
    smoothing : float, default=0.0
        The uniform distribution's weight in the predicted probabilities.
    calibrator : Calibrator, optional
        The map of the positive class's probability that ``calibration=`` kept (binary tasks).
    """

    def __init__(
        self,
        model: Any,
        schema: data_module.Schema,
        task: str,
        classes: list[Any] | None = None,
        smoothing: float = 0.0,
        calibrator: Calibrator | None = None,
    ) -> None:
        self.model = model
        self.schema = schema
        self.task = task
        self.classes = classes
        self.smoothing = smoothing
        self.calibrator = calibrator

    @property
    def feature_names(self) -> list[str]:
        """The encoded matrix's columns: the ONNX input's, in order."""
        return list(self.schema.features)

    @property
    def classes_(self) -> np.ndarray:
        return np.asarray(
            self.classes, dtype=object if any(isinstance(c, str) for c in self.classes or []) else None
        )

    def encode(self, X: Any) -> Any:
        """``X`` aligned to the fitted columns and encoded as the model reads it."""
        return data_module.encode(X, self.schema)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Smoothed (and calibrated, if a map was kept) class probabilities, one column per class of ``classes_``."""
        proba = smooth(self.model.predict_proba(self.encode(X)), self.smoothing)
        return proba if self.calibrator is None else self.calibrator.apply(proba, self.smoothing)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, or the predicted value."""
        if self.classes is None:
            return np.asarray(self.model.predict(self.encode(X)), dtype=float)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def inference_model(model: Any) -> InferenceModel:
    """The ``InferenceModel`` of a fitted ``AutoMLClassifier`` or ``AutoMLRegressor``."""
    classes = getattr(model, "classes_", None)
    return InferenceModel(
        model=model.model_,
        schema=model.schema_,
        task=model.task_,
        classes=None if classes is None else classes.tolist(),
        smoothing=0.0 if classes is None else laplace_weight(model.n_train_rows_),
        calibrator=getattr(model, "calibrator_", None),  # a model saved before calibration= has none
    )


def export(inference: InferenceModel, path: str | Path, format: str) -> Path:
    """Write ``inference`` to ``path`` as ``format`` (skops, onnx or joblib); returns the path."""
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {list(FORMATS)}, got {format!r}")
    path = Path(path)
    if format == "onnx":
        onnx = _require("onnx")
        graph = to_onnx(inference)  # converted before the folder is made: an unsupported step writes nothing
        path.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(graph, str(path))
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "skops":
        _require("skops.io").dump(inference, path)
    else:
        joblib.dump(inference, path)
    return path


def load(path: str | Path) -> InferenceModel:
    """Read an ``InferenceModel`` exported as skops (by ``.skops``) or joblib (any other suffix).

    A skops file is loaded only if every type in it that skops does not trust itself comes from
    automl, scikit-learn or LightGBM (``TRUSTED_PACKAGES``, ``TRUSTED_TYPES``); a joblib file is
    a pickle, to be read only from a source you trust.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no exported model at {path}")
    if path.suffix == ".skops":
        sio = _require("skops.io")
        found = sio.get_untrusted_types(file=path)
        refused = [
            name for name in found if not name.startswith(TRUSTED_PACKAGES) and name not in TRUSTED_TYPES
        ]
        if refused:
            raise ConfigError(f"{path} holds types automl does not trust: {refused[:10]}")
        loaded = sio.load(path, trusted=found)
    else:
        loaded = joblib.load(path)
    if not isinstance(loaded, InferenceModel):
        raise ConfigError(f"{path} holds a {type(loaded).__name__}, not an exported automl model")
    return loaded


def onnx_input(inference: InferenceModel, X: Any) -> np.ndarray:
    """The ONNX graph's input ``X`` for a table: its rows aligned, encoded, as float32."""
    return np.asarray(inference.encode(X), dtype=np.float32)


# ---- ONNX --------------------------------------------------------------------------------------


def to_onnx(inference: InferenceModel) -> Any:
    """The ONNX graph of ``inference`` after its column alignment; a ConfigError names a step with no converter."""
    skl2onnx = _require("skl2onnx")
    _register_converters()
    if isinstance(inference.model, EnsembleModel):
        raise ConfigError(
            "the chosen model is an ensemble (EnsembleModel), which has no ONNX converter; export it as skops "
            "or joblib, or choose a single model first (select(trial=...))"
        )
    if inference.calibrator is not None:
        raise ConfigError(
            f"the model's {inference.calibrator.method} calibration map has no ONNX converter; export it as "
            "skops or joblib"
        )
    pipeline = _convertible(inference.model)
    features = inference.feature_names
    estimator = pipeline.steps[-1][1]
    if type(estimator).__name__ not in ONNX_MODELS:
        raise ConfigError(
            f"the chosen model, a {type(estimator).__name__}, has no ONNX converter automl can vouch for (those "
            f"are {', '.join(ONNX_MODELS)}); export it as skops or joblib"
        )
    options = {id(estimator): {"zipmap": False}} if inference.classes is not None else None
    initial = [("X", skl2onnx.common.data_types.FloatTensorType([None, len(features)]))]
    try:
        graph = skl2onnx.convert_sklearn(
            pipeline, initial_types=initial, options=options, target_opset=ONNX_OPSET
        )
    except (RuntimeError, ValueError) as exc:  # skl2onnx: a missing converter, or one that fails
        raise ConfigError(
            f"the chosen model has a step with no ONNX converter ({str(exc).splitlines()[0]}); "
            "export it as skops or joblib"
        ) from None
    return _with_outputs(graph, inference)


def _convertible(model: Any) -> Pipeline:
    """A copy of the pipeline that skl2onnx converts: columns picked by position, float64 casts dropped.

    The casts are there for scikit-learn's float64 sums; ONNX computes in float32 throughout.
    """
    pipeline = copy.deepcopy(model)
    preprocess = pipeline.steps[0][1]
    if not isinstance(preprocess, ColumnTransformer):
        raise ConfigError(
            f"the chosen model's first step is a {type(preprocess).__name__}, not automl's preprocessing"
        )
    names = list(preprocess.feature_names_in_)
    columns = []
    for name, transformer, picked in preprocess.transformers_:
        if isinstance(transformer, Pipeline):
            transformer.steps = [step for step in transformer.steps if not _is_cast(step[1])]
            for step, part in transformer.steps:
                if isinstance(part, FunctionTransformer):
                    raise ConfigError(
                        f"the preprocessing step {name}/{step} ({getattr(part.func, '__name__', part.func)}: the "
                        "model's native categorical columns) has no ONNX converter; export it as skops or joblib"
                    )
        indices = [names.index(c) for c in picked] if isinstance(picked, list) else picked
        columns.append((name, transformer, indices))
    preprocess.transformers_ = columns
    return pipeline


def _is_cast(step: Any) -> bool:
    return isinstance(step, FunctionTransformer) and step.func is np.float64


def _with_outputs(graph: Any, inference: InferenceModel) -> Any:
    """The converted graph with automl's outputs: smoothed ``probabilities`` and their ``label``, or ``prediction``."""
    onnx = _require("onnx")
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    nodes, body = graph.graph.node, graph.graph
    converted = [f"automl_raw_{o.name}" for o in body.output]  # renamed: the new outputs take their names
    renamed = {o.name: raw for o, raw in zip(body.output, converted, strict=True)}
    for node in nodes:
        node.input[:] = [renamed.get(name, name) for name in node.input]
        node.output[:] = [renamed.get(name, name) for name in node.output]
    del body.output[:]
    if inference.classes is None:
        nodes.append(helper.make_node("Identity", [converted[0]], ["prediction"]))
        body.output.append(helper.make_tensor_value_info("prediction", onnx.TensorProto.FLOAT, [None, 1]))
        return graph
    k, weight = len(inference.classes), inference.smoothing
    classes = inference.classes_
    labels = numpy_helper.from_array(
        classes.astype(object) if classes.dtype.kind == "U" else classes, "automl_classes"
    )
    body.initializer.extend(
        [
            labels,
            numpy_helper.from_array(np.asarray([1], dtype=np.int64), "automl_axis"),
            numpy_helper.from_array(np.asarray(1.0 - weight, dtype=np.float32), "automl_keep"),
            numpy_helper.from_array(np.asarray(weight / k, dtype=np.float32), "automl_uniform"),
        ]
    )
    nodes.extend(
        [
            helper.make_node("ReduceSum", [converted[1], "automl_axis"], ["automl_total"], keepdims=1),
            helper.make_node("Div", [converted[1], "automl_total"], ["automl_normalised"]),
            helper.make_node("Mul", ["automl_normalised", "automl_keep"], ["automl_kept"]),
            helper.make_node("Add", ["automl_kept", "automl_uniform"], ["probabilities"]),
            helper.make_node("ArgMax", ["probabilities"], ["automl_index"], axis=1, keepdims=0),
            helper.make_node("Gather", ["automl_classes", "automl_index"], ["label"], axis=0),
        ]
    )
    body.output.extend(
        [
            helper.make_tensor_value_info("label", labels.data_type, [None]),
            helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT, [None, k]),
        ]
    )
    return graph


_REGISTERED: list[bool] = []


def _register_converters() -> None:
    """Teach skl2onnx LightGBM (onnxmltools' converter) and MissingIndicator (automl's), once."""
    if _REGISTERED:
        return
    skl2onnx = _require("skl2onnx")
    shapes = importlib.import_module("skl2onnx.common.shape_calculator")
    lightgbm_converter = _require(
        "onnxmltools.convert.lightgbm.operator_converters.LightGbm"
    ).convert_lightgbm
    from lightgbm import LGBMClassifier, LGBMRegressor

    skl2onnx.update_registered_converter(
        LGBMClassifier,
        "LightGbmLGBMClassifier",
        shapes.calculate_linear_classifier_output_shapes,
        lightgbm_converter,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    skl2onnx.update_registered_converter(
        LGBMRegressor,
        "LightGbmLGBMRegressor",
        shapes.calculate_linear_regressor_output_shapes,
        lightgbm_converter,
    )
    skl2onnx.update_registered_converter(
        MissingIndicator, "AutomlMissingIndicator", _missing_indicator_shape, _convert_missing_indicator
    )
    _REGISTERED.append(True)


def _missing_indicator_shape(operator: Any) -> None:
    types = importlib.import_module("skl2onnx.common.data_types")
    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = types.FloatTensorType([rows, len(operator.raw_operator.features_)])


def _convert_missing_indicator(scope: Any, operator: Any, container: Any) -> None:
    """1.0 where a column the indicator watches is missing (NaN), as ``MissingIndicator`` with error_on_new=False."""
    ops = importlib.import_module("skl2onnx.algebra.onnx_ops")
    onnx = _require("onnx")
    opset = container.target_opset
    watched = np.asarray(operator.raw_operator.features_, dtype=np.int64)
    picked = ops.OnnxGather(operator.inputs[0], watched, axis=1, op_version=opset)
    flags = ops.OnnxIsNaN(picked, op_version=opset)
    ops.OnnxCast(
        flags, to=onnx.TensorProto.FLOAT, op_version=opset, output_names=operator.outputs[:1]
    ).add_to(scope, container)
