"""Helpers and imports defined in untagged cells and used by tagged ones go to the package
with them; anything that would make the package differ from the notebook is still refused."""

import pytest

from jupyter_mlops import generate
from jupyter_mlops.errors import DataflowError

from .test_plan import DATA, SETUP, plan_of, warnings_of

FEATURES = ("featurization", "df = add_log(df, 'a')\nX = df[['a', 'log_a']]\ny = df['y']")
TRAINING = ("training", "model = LinearRegression().fit(X, y)")
HELPERS = ("import numpy as np\n\n\ndef log_of(values):\n    return np.log1p(values)\n\n\n"
           "def add_log(frame, col):\n    frame = frame.copy()\n"
           "    frame['log_' + col] = log_of(frame[col])\n    return frame")


def _module(plan, name):
    return next(m.text for m in generate.generate_modules(plan, "pkg")
                if m.path == f"pkg/{name}.py")


def test_helpers_and_their_import_from_an_untagged_cell_go_to_common(notebook):
    plan = plan_of(notebook, [SETUP, HELPERS, DATA, "df.describe()", FEATURES, TRAINING])
    common = _module(plan, "common")
    assert "def add_log(frame, col):" in common and "def log_of(values):" in common
    assert "import numpy as np" in common
    assert "add_log(df, \"a\")" in _module(plan, "featurize")
    told = [w for w in warnings_of(plan) if "untagged cell" in w]
    assert any("`add_log`" in w and "cell 2" in w for w in told), told
    assert any("`np`" in w for w in told), told


def test_a_helper_reading_a_value_set_in_an_untagged_cell_is_still_refused(notebook):
    helper = ("FACTOR = 3\n\n\ndef add_log(frame, col):\n    frame = frame.copy()\n"
              "    frame['log_' + col] = frame[col] * FACTOR\n    return frame")
    with pytest.raises(DataflowError) as caught:
        plan_of(notebook, [SETUP, helper, DATA, FEATURES, TRAINING])
    assert "`add_log`" in str(caught.value) and "untagged" in str(caught.value)


def test_a_helper_in_a_skip_cell_is_refused(notebook):
    with pytest.raises(DataflowError) as caught:
        plan_of(notebook, [SETUP, ("skip", HELPERS), DATA, FEATURES, TRAINING])
    assert "mlops:skip" in str(caught.value)


def test_a_helper_reading_the_data_is_refused(notebook):
    helper = "def add_log(frame, col):\n    return frame.assign(log_a=df[col])"
    with pytest.raises(DataflowError) as caught:
        plan_of(notebook, [SETUP, DATA, helper, FEATURES, TRAINING])
    assert "`add_log`" in str(caught.value)


def test_a_helper_redefined_in_a_tagged_cell_is_not_exported_twice(notebook):
    tagged = ("featurization", "def add_log(frame, col):\n    frame = frame.copy()\n"
              "    frame['log_' + col] = frame[col] + 1\n    return frame")
    plan = plan_of(notebook, [SETUP, HELPERS, DATA, tagged, FEATURES, TRAINING])
    common = _module(plan, "common")
    assert common.count("def add_log(") == 1 and "frame[col] + 1" in common
    assert "def log_of(" not in common
    assert not [w for w in warnings_of(plan) if "untagged cell" in w]
