"""The error hierarchy's text: what a data scientist reads, on the command line and in the UI."""

import json

from jupyter_mlops.cli import main
from jupyter_mlops.errors import ExecutionError, MlopsError, NotebookError, RecordingError


def test_ansi_colour_codes_never_reach_a_message():
    raw = "raised \x1b[0;31mKeyError\x1b[0m: \x1b[1m'price'\x1b[22m"
    for error in (MlopsError(raw), NotebookError(raw), ExecutionError(raw)):
        assert "\x1b" not in str(error) and "KeyError: 'price'" in str(error)
        assert "\x1b" not in error.to_dict()["message"]


def test_a_fix_is_data_for_the_ui_and_a_flag_on_the_command_line(capsys, notebook):
    error = RecordingError("raised KeyError", fix="no-execute")
    assert error.to_dict()["fix"] == "no-execute" and "--no-execute" not in str(error)
    assert "--no-execute" in error.hint
    path = notebook([("setup", "import pandas as pd\nfrom sklearn.linear_model import "
                               "LinearRegression"),
                     ("data", "df = pd.DataFrame({'a': [1.0, 2.0], 'y': [1.0, 2.0]})"),
                     ("featurization", "X = df[['a', 'missing']]"),
                     ("training", "model = LinearRegression().fit(X, df.y)")])
    assert main(["productionize", str(path), "--out", str(path.parent / "out"),
                 "--no-checks"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "KeyError" in err and "--no-execute" in err, err


def test_a_kernel_that_is_not_installed_is_named_not_a_traceback(capsys, notebook):
    path = notebook([("data", "x = 1")])
    nb = json.loads(path.read_text())
    nb["metadata"]["kernelspec"] = {"name": "no-such-kernel", "display_name": "gone",
                                    "language": "python"}
    path.write_text(json.dumps(nb))
    out = path.parent / "out"
    assert main(["productionize", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "kernel 'no-such-kernel' is not installed" in err and "--no-execute" in err, err
    assert "Traceback" not in err and not out.exists()
