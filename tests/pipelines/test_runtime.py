"""What runs inside each component: values as typed files, and the gate's verdict."""

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from jupyter_mlops.pipelines.runtime import _verdict, load_value, save_value


def test_values_travel_as_data_files_and_only_fitted_objects_as_pickles(tmp_path):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=[10, 20])
    series = pd.Series([0.5, 1.5], name="label", index=[3, 4])
    matrix = sparse.random(4, 3, density=0.5, format="csr", random_state=0)
    cases = {"frame": frame, "series": series, "array": np.arange(6).reshape(2, 3),
             "sparse": matrix, "plain": {"C": 1.0, "names": ["a"]}}
    expected = {"frame": "parquet", "series": "parquet", "array": "npy", "sparse": "npz",
                "plain": "json"}
    for name, value in cases.items():
        assert save_value(value, str(tmp_path / name)) == expected[name], name
        assert not list((tmp_path / name).glob("*.pkl")), name
    pd.testing.assert_frame_equal(load_value(str(tmp_path / "frame")), frame)
    pd.testing.assert_series_equal(load_value(str(tmp_path / "series")), series)
    assert (load_value(str(tmp_path / "array")) == cases["array"]).all()
    assert (load_value(str(tmp_path / "sparse")) != matrix).nnz == 0
    assert load_value(str(tmp_path / "plain")) == cases["plain"]
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    assert save_value(model, str(tmp_path / "model"), fitted=True) == "pickle"
    assert load_value(str(tmp_path / "model")).predict([[1.0]]).tolist() == [1]


def test_the_gate_bounds_a_drop_or_a_rise_and_reports_ungated_metrics():
    rules = {"accuracy": {"production": 0.8, "tolerance": -0.01, "higher_is_better": True},
             "rmse": {"production": 2.0, "tolerance": 0.5, "higher_is_better": False},
             "f1": {"production": 0.7}}
    passed, rows = _verdict({"accuracy": 0.795, "rmse": 2.4, "f1": 0.1}, rules)
    assert passed and [r["ok"] for r in rows] == [True, None, True]
    passed, rows = _verdict({"accuracy": 0.78, "rmse": 2.6, "f1": 0.7}, rules)
    assert not passed and [r["ok"] for r in rows] == [False, None, False]
    passed, rows = _verdict({"accuracy": 0.9, "rmse": 1.0}, rules)
    assert not passed and rows[1] == {"metric": "f1", "ok": False,
                                      "detail": "the candidate lacks it"}
    assert _verdict({"accuracy": 0.1}, {}) == (True, [])
