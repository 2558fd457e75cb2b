"""The command line contract: exit codes, messages naming file and cell, --json, no prompts."""

import json
import subprocess
import sys

import nbformat
import pytest

from jupyter_mlops.cli import main

from .conftest import MESSY, write_notebook

SETUP = ("setup", "import pandas as pd")
DATA = ("data", "df = pd.DataFrame({'a': [1, 2]})")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


BAD_CELLS = {
    "syntax-error": ([SETUP, DATA, ("featurization", "X = df[['a']\n")], "cell 3", "syntax"),
    "unknown-tag": ([SETUP, (["mlops:featurisation"], "X = 1")], "cell 2", "unknown role"),
    "undefined-name": ([SETUP, DATA, ("featurization", "X = frame[['a']]")], "cell 3",
                       "`frame`"),
    "shell-line": ([SETUP, DATA, ("featurization", "!wget http://x/y.csv\nX = df")], "cell 3",
                   "shell command"),
    "no-tags": (["import os", "x = 1"], "analysis.ipynb", "no cell has an mlops role"),
}


@pytest.mark.parametrize("case", sorted(BAD_CELLS))
def test_bad_notebooks_exit_2_naming_file_and_cell(notebook, capsys, case):
    cells, where, what = BAD_CELLS[case]
    path = notebook(cells)
    code, out, err = run(capsys, "productionize", path, "--out", path.parent / "out",
                         "--no-execute")
    assert code == 2
    assert out == "" and "Traceback" not in err
    assert str(path) in err and where in err and what in err
    assert not (path.parent / "out").exists()


@pytest.mark.parametrize("data, what", [
    (b"", "empty"), (b"{oops", "not valid JSON"), (b"\x80\x81", "not UTF-8"),
    (b'{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}', "nbformat 3"),
])
def test_bad_files_exit_2(tmp_path, capsys, data, what):
    path = tmp_path / "bad.ipynb"
    path.write_bytes(data)
    code, _, err = run(capsys, "productionize", path, "--out", tmp_path / "out")
    assert code == 2 and what in err and str(path) in err


def test_missing_notebook_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, "roles", tmp_path / "nope.ipynb")
    assert code == 2 and "no such notebook" in err


def test_json_error_document(notebook, capsys):
    path = notebook([SETUP, DATA, ("featurization", "X = frame")])
    code, out, _ = run(capsys, "productionize", path, "--no-execute", "--json")
    error = json.loads(out)
    assert code == 2 and error["error"] == "DataflowError"
    assert error["cell"] == {"number": 3, "id": "c3"}


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["productionize"])
    assert info.value.code == 2


def test_roles_lists_number_id_and_role(notebook, capsys):
    path = notebook(MESSY)
    code, out, _ = run(capsys, "roles", path, "--json")
    cells = json.loads(out)["cells"]
    assert code == 0
    assert cells[6] == {"number": 7, "id": "c7", "type": "code", "role": "featurization",
                        "first_line": "add_ratio(df, 'mean area', 'mean perimeter', "
                                      "'area_per_perimeter')"}
    code, out, _ = run(capsys, "roles", path)
    assert "   7  c7" in out and "featurization" in out


def test_tag_sets_and_clears_a_role(notebook, capsys):
    path = notebook(["x = 1", "y = x"])
    assert run(capsys, "tag", path, "2", "training")[0] == 0
    assert nbformat.read(path, as_version=4).cells[1].metadata.tags == ["mlops:training"]
    assert run(capsys, "tag", path, "c2", "none")[0] == 0
    assert "tags" not in nbformat.read(path, as_version=4).cells[1].metadata
    code, _, err = run(capsys, "tag", path, "2", "modelling")
    assert code == 2 and "unknown role" in err


def test_suggest_proposes_and_applies_only_with_apply(notebook, capsys):
    path = notebook([
        "import pandas as pd\nfrom sklearn.linear_model import LinearRegression\n\n"
        "def helper(x):\n    return x\n",
        "df = pd.read_csv('data.csv')",
        "df['ratio'] = df.a / df.b",
        "model = LinearRegression().fit(df[['ratio']], df.y)",
        "from sklearn.metrics import r2_score\nr2 = r2_score(df.y, model.predict(df[['ratio']]))",
        "df.head()",
    ])
    code, out, _ = run(capsys, "suggest", path, "--json")
    roles = [s["role"] for s in json.loads(out)["suggestions"]]
    assert code == 0
    assert roles == ["setup", "data", "featurization", "training", "evaluation", "skip"]
    assert all("tags" not in c.metadata for c in nbformat.read(path, as_version=4).cells)
    run(capsys, "suggest", path, "--apply")
    tags = [c.metadata.get("tags") for c in nbformat.read(path, as_version=4).cells]
    assert tags[0] == ["mlops:setup"] and tags[3] == ["mlops:training"]
    code, out, _ = run(capsys, "suggest", path)
    assert "no suggestions" in out


def test_check_exit_codes(notebook, capsys):
    path = notebook(MESSY)
    out_dir = path.parent / "out"
    code, _, err = run(capsys, "check", path, "--out", out_dir)
    assert code == 1 and "never productionized" in err


def test_entry_points_answer_help():
    for argv in (["jupyter", "mlops", "--help"], [sys.executable, "-m", "jupyter_mlops", "-h"]):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert done.returncode == 0 and "productionize" in done.stdout
    done = subprocess.run([sys.executable, "-m", "jupyter_mlops", "productionize", "--help"],
                          capture_output=True, text=True, check=False)
    assert "--no-execute" in done.stdout and "--json" in done.stdout


def test_a_name_set_under_an_untagged_time_cell_magic_names_that_cell(notebook, capsys):
    path = notebook([SETUP, DATA, "%%time\nmodel = df.a.sum()",
                     ("evaluation", "score = model * 2")])
    code, _, err = run(capsys, "productionize", path, "--no-execute", "--no-checks")
    assert code == 2 and "Traceback" not in err
    assert "cell 3 (id c3, untagged)" in err and "no cell before it defines" not in err


def test_timeit_options_in_a_tagged_cell_are_not_exported(notebook, capsys):
    path = notebook([SETUP, ("data", "df = pd.DataFrame({'a': [1.0, 2.0], 'y': [0, 1]})"),
                     ("featurization", "X = df[['a']]\ny = df['y']"),
                     ("training", "from sklearn.linear_model import LinearRegression\n"
                                  "model = LinearRegression().fit(X, y)"),
                     ("evaluation", "%timeit -n 3 -r 1 model.predict(X)\nr2 = model.score(X, y)")])
    code, _, err = run(capsys, "productionize", path, "--out", path.parent / "out",
                       "--no-execute", "--no-checks")
    assert code == 0, err
    assert "-n 3" not in (path.parent / "out").joinpath(
        *_generated(path.parent / "out", "model.predict(X)")).read_text()


def _generated(out, text):
    """Path parts (under ``out``) of the generated .py file containing ``text``."""
    for found in sorted(out.rglob("*.py")):
        if text in found.read_text():
            return found.relative_to(out).parts
    raise AssertionError(f"no generated file contains {text!r}")


def test_closed_stdout_ends_quietly(notebook):
    path = notebook(["x = 1"] * 3000)
    with subprocess.Popen([sys.executable, "-m", "jupyter_mlops", "roles", str(path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout.readline().strip().startswith(b"1  c1")
        proc.stdout.close()  # what `| head -1` does after its first line
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == "" and code == 141


# --- lifecycle adapters: serve ports, cancelling, ci init -----------------------------------


def test_serve_port_outside_1_to_65535_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["serve", "pkg", "--port", "99999"])
    assert stop.value.code == 2
    assert "1-65535" in capsys.readouterr().err


def test_serve_on_a_busy_port_is_one_line_exit_2(tmp_path, capsys):
    import socket  # pylint: disable=import-outside-toplevel

    (tmp_path / "mlops-manifest.json").write_text(json.dumps({"package": "pkg"}))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        code, out, err = run(capsys, "serve", tmp_path, "--port", busy.getsockname()[1])
    assert code == 2 and not out
    assert "is not free" in err and "serving" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_ctrl_c_that_kills_the_kernel_is_a_cancel_not_a_traceback(monkeypatch, capsys):
    import os  # pylint: disable=import-outside-toplevel
    import signal  # pylint: disable=import-outside-toplevel
    import time  # pylint: disable=import-outside-toplevel

    from jupyter_mlops import cli  # pylint: disable=import-outside-toplevel

    def recording_dies(args):  # pylint: disable=unused-argument
        try:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the kernel records
            time.sleep(1)
        except KeyboardInterrupt:
            pass  # nbclient turns the dead kernel into its own error instead
        raise AssertionError("DeadKernelError: Kernel died")

    monkeypatch.setattr(cli, "COMMANDS", [(n, h, c, recording_dies if n == "register" else f)
                                          for n, h, c, f in cli.COMMANDS])
    # a terminal's Python starts with the default handler, whatever ran before in this worker
    signal.signal(signal.SIGINT, signal.default_int_handler)
    code, out, err = run(capsys, "register", "latest", "--name", "m")
    assert code == 130 and not out
    assert err.strip() == "cancelled"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ci_init_quotes_paths_and_derives_a_valid_model_name(tmp_path, capsys):
    from jupyter_mlops.registry import ci  # pylint: disable=import-outside-toplevel

    write_notebook(tmp_path / "my project" / "iris copy.ipynb", [
        ("parameters", "n_estimators = 10"), SETUP, DATA,
        ("training", "model = df.a.sum() * n_estimators")])
    code, _, err = run(capsys, "ci", "init", "--project", tmp_path, "--notebook",
                       "my project/iris copy.ipynb")
    assert code == 0, err
    workflow = tmp_path / ".github" / "workflows" / "mlops.yml"
    commands = [s["command"] for s in ci.workflow_steps(workflow)]
    assert "jupyter mlops run 'my project/iris copy.ipynb'" in commands
    assert "jupyter mlops register latest --name iris-copy" in commands
    assert not any("sample_fraction" in c for c in commands)
    assert not any(" check " in c or "build/" in c and "pip install" in c for c in commands)
    head = workflow.read_text()
    assert "no `sample_fraction` parameter" in head and "is not committed" in head


def test_ci_init_samples_pull_requests_only_with_a_sample_fraction_parameter(tmp_path,
                                                                             capsys):
    from jupyter_mlops.registry import ci  # pylint: disable=import-outside-toplevel

    write_notebook(tmp_path / "nb.ipynb", [
        ("parameters", "sample_fraction = 1.0"), SETUP, DATA,
        ("training", "model = df.a.sum() * sample_fraction")])
    assert run(capsys, "ci", "init", "--project", tmp_path)[0] == 0
    steps = ci.workflow_steps(tmp_path / ".github" / "workflows" / "mlops.yml")
    sampled = [s for s in steps if "sample_fraction" in s["command"]]
    assert len(sampled) == 1 and "pull_request" in sampled[0]["if"]


@pytest.mark.parametrize("how", ["empty", "truncated", "garbage"])
def test_a_damaged_store_exits_2_and_leaves_the_registry_untouched(tmp_path, monkeypatch,
                                                                    capsys, how):
    from jupyter_mlops.store import RunStore  # pylint: disable=import-outside-toplevel

    from .store.test_db import damage  # pylint: disable=import-outside-toplevel

    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    store = RunStore(tmp_path / ".mlops")
    for _ in range(40):
        store.create_run("nb.ipynb", "sha", {"x": "y" * 200})
    version = tmp_path / ".mlops" / "models" / "churn" / "1"
    (version / "model").mkdir(parents=True)
    (version / "model" / "model.pkl").write_bytes(b"the registered model")
    damage(store.path, how)
    for argv in (["runs", "list"], ["register", "latest", "--name", "churn"],
                 ["models", "list"], ["runs", "show", "x"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "", (argv, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert str(store.path) in err and "move it away" in err
    assert sorted(p.name for p in version.rglob("*")) == ["model", "model.pkl"]
    assert (version / "model" / "model.pkl").read_bytes() == b"the registered model"


LONG = "n" * 300


@pytest.mark.parametrize("argv, what", [
    (["roles", "{tmp}/afile.txt/x.ipynb"], "a part of the path is a file"),
    (["run", "{tmp}/afile.txt/x.ipynb"], "a part of the path is a file"),
    (["roles", f"{{tmp}}/{LONG}.ipynb"], "File name too long"),
    (["run", f"{{tmp}}/{LONG}.ipynb"], "File name too long"),
    (["tag", f"{{tmp}}/{LONG}.ipynb", "1", "setup"], "File name too long"),
    (["productionize", "{nb}", "--out", "{tmp}/afile.txt/o", "--no-execute"],
     "is a file, not a folder"),
    (["productionize", "{nb}", "--out", "/proc/x", "--no-execute"], "not writable"),
    (["productionize", "{nb}", "--out", f"{{tmp}}/{LONG}", "--no-execute"],
     "File name too long"),
])
def test_unusable_paths_are_one_line_exit_2(tmp_path, capsys, argv, what):
    (tmp_path / "afile.txt").write_text("not a folder")
    nb = write_notebook(tmp_path / "analysis.ipynb", MESSY)
    code, out, err = run(capsys, *[a.format(tmp=tmp_path, nb=nb) for a in argv])
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and what in err, err


@pytest.mark.parametrize("option", [["--workers", "0"], ["--workers", "-3"],
                                    ["--timeout", "-1"], ["--timeout", "0"],
                                    ["--timeout", "inf"]])
def test_run_refuses_nonsense_workers_and_timeouts(tmp_path, capsys, option):
    nb = write_notebook(tmp_path / "analysis.ipynb", MESSY)
    with pytest.raises(SystemExit) as info:
        main(["run", str(nb), *option])
    assert info.value.code == 2 and option[0] in capsys.readouterr().err


def test_hand_edited_output_is_bad_input_exit_2(tmp_path, capsys):
    nb = write_notebook(tmp_path / "analysis.ipynb", MESSY)
    out = tmp_path / "out"
    assert run(capsys, "productionize", nb, "--out", out, "--no-execute", "--no-checks")[0] == 0
    (out / "analysis" / "train.py").write_text("# mine\n")
    code, _, err = run(capsys, "productionize", nb, "--out", out, "--no-execute")
    assert code == 2 and "edited by hand" in err
    assert run(capsys, "check", nb, "--out", out)[0] == 1  # the check itself fails: 1


def test_listing_runs_or_models_where_there_are_none_leaves_no_store(tmp_path, monkeypatch,
                                                                      capsys):
    # an empty store in ~ or /tmp would capture the runs of every project below it that is
    # not a git repository
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JUPYTER_MLOPS_HOME", raising=False)
    assert main(["runs", "list"]) == 0 and "no runs yet" in capsys.readouterr().out
    assert main(["models", "list", "--json"]) == 0 and json.loads(capsys.readouterr().out) == []
    assert not (tmp_path / ".mlops").exists()
