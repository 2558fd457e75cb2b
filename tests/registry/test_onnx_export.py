"""The exporter on fitted scikit-learn models in this process: which steps it refuses, the
opset fix that lets onnxruntime quantize skl2onnx output, and quantization only where the
graph has an operator it applies to."""

import numpy as np
import onnx
import pytest
from onnxruntime import InferenceSession
from onnxruntime.quantization import quantize_dynamic
from skl2onnx import to_onnx
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from jupyter_mlops.registry.onnx_export import (Unconvertible, check_convertible,
                                                dedupe_opsets, export)

# the small fits here stop early on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def add_one(values):
    """A custom function, as notebooks put in FunctionTransformer."""
    return values + 1


@pytest.fixture(scope="module")
def digits():
    features, labels = load_digits(return_X_y=True)
    return features[:600], labels[:600]


def test_a_custom_function_transformer_is_refused_naming_its_step_and_function(digits):
    features, labels = digits
    model = Pipeline([("shift", FunctionTransformer(add_one)),
                      ("clf", LogisticRegression(max_iter=200))]).fit(features, labels)
    with pytest.raises(Unconvertible) as caught:
        check_convertible(model)
    assert caught.value.step == "model step 'shift'"
    message = str(caught.value)
    assert "add_one()" in message and "mlops:featurization" in message


def test_a_step_nested_in_a_column_transformer_is_named_by_its_path(digits):
    features, labels = digits
    columns = ColumnTransformer([("scaled", StandardScaler(), [0, 1]),
                                 ("custom", FunctionTransformer(add_one), [2, 3])])
    model = Pipeline([("prep", columns), ("clf", LogisticRegression(max_iter=200))])
    model.fit(features, labels)
    with pytest.raises(Unconvertible) as caught:
        check_convertible(model)
    assert caught.value.step == "model step 'prep' step 'custom'"


def test_a_model_skl2onnx_has_no_converter_for_is_named_by_its_class():
    class Mine:  # pylint: disable=too-few-public-methods
        def predict(self, values):
            return values

    with pytest.raises(Unconvertible, match="tests.registry.test_onnx_export.Mine"):
        check_convertible(Mine())


def test_deduplicated_opsets_let_onnxruntime_quantize_skl2onnx_output(digits, tmp_path):
    features, labels = digits
    model = Pipeline([("scale", StandardScaler()),
                      ("clf", LogisticRegression(max_iter=500))]).fit(features, labels)
    graph = to_onnx(model, features[:1].astype(np.float32), options={"zipmap": False})
    dedupe_opsets(graph)
    domains = [entry.domain for entry in graph.opset_import]
    assert len(domains) == len(set(domains))
    onnx.save(graph, str(tmp_path / "m.onnx"))
    # raised "Failed to find proper ai.onnx domain" before (onnxruntime#15563)
    quantize_dynamic(str(tmp_path / "m.onnx"), str(tmp_path / "q.onnx"))
    assert (tmp_path / "q.onnx").is_file()


def test_quantization_is_not_applicable_to_tree_operators(digits, tmp_path):
    features, labels = digits
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(features, labels)
    done = export(model, features, tmp_path / "model.onnx", quantize=True)
    assert done.quantization["applied"] is False
    assert done.quantization["reason"].startswith("not applicable")
    assert "TreeEnsembleClassifier" in done.quantization["reason"]
    assert (tmp_path / "model.onnx").stat().st_size == done.float_bytes


def test_a_perceptron_is_quantized_smaller_and_still_agrees(digits, tmp_path):
    features, labels = digits
    model = MLPClassifier(hidden_layer_sizes=(64,), max_iter=300,
                          random_state=0).fit(features, labels)
    done = export(model, features, tmp_path / "model.onnx", quantize=True)
    assert done.quantization == {"applied": True, "operators": ["MatMul"]}
    assert (tmp_path / "model.onnx").stat().st_size < done.float_bytes / 2
    session = InferenceSession(str(tmp_path / "model.onnx"),
                               providers=["CPUExecutionProvider"])
    got = session.run(None, {"X": features.astype(np.float32)})[0]
    assert np.mean(got == model.predict(features)) > 0.97
