"""The ONNX runtime of score.py: ``model.onnx`` (written by ``jupyter mlops convert``) run by
onnxruntime behind the methods score.py calls on the scikit-learn model (``predict``,
``predict_proba``, ``classes_``, ``feature_names_in_``), so both runtimes share one scoring path.

Generated from churn.ipynb by jupyter-mlops. score.py uses it when ``$MODEL_RUNTIME`` is
``onnx``; onnxruntime is needed only then (``pip install onnxruntime``).
"""

import importlib
import json
from pathlib import Path

import numpy as np

# numpy dtype of each ONNX tensor type the converter gives the model's inputs
DTYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(string)": np.str_,
}


def _metadata(session, key: str):
    """A JSON value the converter stored in the model's metadata, or None."""
    text = session.get_modelmeta().custom_metadata_map.get(key)
    return None if text is None else json.loads(text)


class OnnxModel:
    """``model.onnx`` in an onnxruntime session, with the scikit-learn model's methods."""

    def __init__(self, path: Path) -> None:
        # imported by name: onnxruntime is optional, only serving ONNX needs it
        onnxruntime = importlib.import_module("onnxruntime")
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.inputs = [(i.name, DTYPES[i.type]) for i in self.session.get_inputs()]
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.names = _metadata(self.session, "feature_names_in")
        if self.names is not None:
            self.feature_names_in_ = np.asarray(self.names, dtype=object)
        classes = _metadata(self.session, "classes")
        if classes is not None:
            self.classes_ = np.asarray(classes)

    def feeds(self, features) -> dict:
        """The session's inputs from the features score.py computed: one matrix, or one
        column per input when the model takes columns of different types."""
        if hasattr(features, "toarray"):  # a sparse matrix: ONNX tensors are dense
            features = features.toarray()
        if self.names is not None and hasattr(features, "columns"):
            if list(features.columns) != self.names:
                features = features[self.names]  # the column order the model was fitted on
            if len(self.inputs) == 1:  # to_numpy: the frame's own fast path
                return {self.inputs[0][0]: features.to_numpy(dtype=self.inputs[0][1])}
        if len(self.inputs) == 1:
            name, dtype = self.inputs[0]
            return {name: np.asarray(features, dtype=dtype)}
        return {
            name: np.asarray(features[name], dtype=dtype).reshape(-1, 1)
            for name, dtype in self.inputs
        }

    def predict(self, features):
        """Labels (classifier) or values (regressor), one per row."""
        values = self.session.run(self.outputs[:1], self.feeds(features))[0]
        return values.ravel() if values.ndim == 2 and values.shape[1] == 1 else values

    def predict_proba(self, features):
        """Class probabilities, one row per record, columns in ``classes_`` order."""
        if len(self.outputs) < 2:
            raise AttributeError("this ONNX model gives no probabilities (it is no classifier)")
        return self.session.run(self.outputs[1:2], self.feeds(features))[0]
