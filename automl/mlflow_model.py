"""The MLflow pyfunc model of a fitted search (imported only where MLflow is installed)."""

from __future__ import annotations

import pandas as pd
from mlflow.pyfunc import PythonModel

from automl.export import InferenceModel


class AutoMLPythonModel(PythonModel):
    """Predicts with an ``InferenceModel``: a regressor's values; a classifier's labels and probabilities.

    A classifier's prediction is a table like ``automl predict --proba``: a ``prediction`` column
    and one ``proba_<class>`` column per class.
    """

    def __init__(self, inference: InferenceModel) -> None:
        self.inference = inference

    # Unannotated: MLflow reads a predict method's type hints as an input schema, which a table is not.
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        inference = self.inference
        if inference.classes is None:
            return inference.predict(model_input)
        proba = inference.predict_proba(model_input)
        table = pd.DataFrame(proba, columns=[f"proba_{c}" for c in inference.classes])
        table.insert(0, "prediction", inference.classes_[proba.argmax(axis=1)])
        return table
