"""Job parameters: ``-p`` values typed by the parameters cell, comma lists as sweeps."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlops.errors import ConfigError
from jupyter_mlops.extract.plan import Parameter
from jupyter_mlops.jobs.params import is_sweep, load_parameter_file, typed_parameters
from jupyter_mlops.jobs.sweep import _argv

from ..conftest import write_notebook

DEFAULTS = (Parameter("feature_list", '["alcohol", "hue"]', None),
            Parameter("options", "None", None),
            Parameter("n_neighbors", "7", "int"),
            Parameter("label", "'base'", "str"))


def typed(raw):
    return typed_parameters(raw, DEFAULTS, "train.ipynb")


def test_a_list_in_flow_syntax_is_one_value_not_a_sweep():
    result = typed({"feature_list": '["alcohol","proline"]', "options": "{depth: 3, max: 5}"})
    assert result.grid() == [{"feature_list": ["alcohol", "proline"],
                              "options": {"depth": 3, "max": 5}}]
    assert not is_sweep({"feature_list": '["alcohol","proline"]'})


def test_comma_lists_are_still_sweeps():
    assert typed({"n_neighbors": "3,5", "label": "a,b"}).values == {"n_neighbors": [3, 5],
                                                                   "label": ["a", "b"]}
    assert is_sweep({"n_neighbors": "3,5"}) and not is_sweep({"n_neighbors": "3"})


def test_a_str_parameter_may_start_with_a_bracket():
    assert typed({"label": "[draft], v2"}).grid() == [{"label": "[draft], v2"}]


def test_a_malformed_list_is_a_config_error_naming_the_parameter():
    with pytest.raises(ConfigError) as caught:
        typed({"feature_list": '["alcohol","proline"'})
    message = str(caught.value)
    assert "`feature_list`" in message and "-y 'feature_list: [a, b]'" in message
    assert caught.value.exit_code == 2


def test_a_value_that_is_not_yaml_stays_a_string():
    assert typed({"options": "a: b: c"}).grid() == [{"options": "a: b: c"}]


def test_dask_sweep_members_get_lists_whole():
    values = {"feature_list": ["alcohol", "proline"], "n_neighbors": 3, "label": "a"}
    argv = _argv(Path("train.ipynb"), values, "sweep-1", None)
    assert "-p" not in argv
    passed = load_parameter_file(argv[argv.index("-y") + 1], "-y")
    assert passed == values and typed(passed).grid() == [values]
    assert json.loads(argv[argv.index("-y") + 1]) == values


def cli(*argv, cwd):
    return subprocess.run([sys.executable, "-m", "jupyter_mlops", *argv], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_a_list_passed_with_p_runs_with_the_list(project):
    write_notebook(project / "job.ipynb", [
        ("parameters", "features = ['a']"), "print(len(features))"], kernel=False)
    done = cli("run", "job.ipynb", "-p", "features", '["a","b"]', "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    runs = out.get("runs", [out])  # cli.py still routes any comma to run_sweep (one run)
    assert [r["parameters"] for r in runs] == [{"features": ["a", "b"]}]
    bad = cli("run", "job.ipynb", "-p", "features", '["a","b"', cwd=project)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "`features`" in bad.stderr and "-y 'features: [a, b]'" in bad.stderr
