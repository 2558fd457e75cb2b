"""Productionize end to end: real kernel recording, real pylint, real pytest, real files."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlops.errors import OutputError, RecordingError, StaleOutputError
from jupyter_mlops.productionize import _cached, check, package_name, productionize

from .conftest import MESSY, write_notebook

pytestmark = pytest.mark.slow

LAYOUT = ["pyproject.toml", "requirements.txt", "environment.yml", "mlops-manifest.json",
          "analysis/__init__.py", "analysis/data.py", "analysis/featurize.py",
          "analysis/train.py", "analysis/evaluate.py", "analysis/score.py",
          "tests/test_equivalence.py", "tests/fixtures/recording.json",
          "reports/lint.json", "reports/tests.xml"]


def snapshot(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One full productionize (with the recording run) of the messy notebook, with a pylint
    cache of its own: pylint really runs here, whatever other tests linted before."""
    root = tmp_path_factory.mktemp("messy")
    nb = write_notebook(root / "nb" / "analysis.ipynb", MESSY)
    out = root / "build" / "analysis"
    PHASES.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_MLOPS_CACHE", str(root / "cache"))
        yield nb, out, productionize(nb, out, progress=PHASES.append)


#: What the full productionize of ``built`` said while it worked.
PHASES: list = []


def test_each_phase_is_reported_lint_and_tests_with_counts(built):
    _, _, result = built
    total = len(result.tests.cases)
    assert "analysing cells" in PHASES
    assert any(m.startswith("recording: ran cell") for m in PHASES)
    assert any(m.startswith("running pylint on ") for m in PHASES)
    # the modules do not depend on the recording: pylint starts before the notebook runs
    linting = next(i for i, m in enumerate(PHASES) if m.startswith("running pylint on "))
    recording = next(i for i, m in enumerate(PHASES) if m.startswith("recording: ran cell"))
    assert linting < recording
    counted = [m for m in PHASES if m.startswith("generated tests ")]
    assert counted[0] == f"generated tests 1/{total} done"
    assert counted[-1] == f"generated tests {total}/{total} done"
    assert f"pylint done: {result.lint.score:.2f}/10" in PHASES


def test_messy_notebook_becomes_a_passing_package(built):
    _, out, result = built
    assert result.ok, result.summary()
    for rel in LAYOUT:
        assert (out / rel).is_file(), rel
    assert result.lint.score == 10.0, result.summary()
    cases = {c.name.split("::")[-1]: c.outcome for c in result.tests.cases}
    for name in ("test_features_match_notebook", "test_metrics_match_notebook",
                 "test_predictions_match_notebook", "test_import_has_no_side_effects"):
        assert cases[name] == "passed", result.summary()
    assert (out / "tests/fixtures/recording.json").stat().st_size < 1_000_000


def test_every_block_names_its_cell_and_the_manifest_maps_lines(built):
    _, out, _ = built
    featurize = (out / "analysis/featurize.py").read_text()
    assert "# notebook cell 7 (id c7)" in featurize
    assert "plt." not in featurize and "X.shape" not in featurize
    manifest = json.loads((out / "mlops-manifest.json").read_text())
    cell7 = next(c for c in manifest["cells"] if c["id"] == "c7")
    assert "analysis/featurize.py" in cell7["exported_to"]
    mapped = manifest["line_map"]["analysis/featurize.py"]
    assert ["c7", 1] in mapped.values()
    assert str(Path.cwd()) not in (out / "mlops-manifest.json").read_text()


def test_requirements_pin_only_what_the_code_imports(built):
    _, out, _ = built
    pins = (out / "requirements.txt").read_text().split("\n")
    names = {line.split("==")[0] for line in pins if "==" in line}
    # what the notebook's kept code imports, the server serve.py runs on, and numpy for the
    # ONNX runtime's tensors (onnx_model.py; onnxruntime itself is optional)
    assert names == {"numpy", "pandas", "scikit-learn", "starlette", "uvicorn"}
    assert "matplotlib" not in (out / "pyproject.toml").read_text()
    assert "python=3." in (out / "environment.yml").read_text()


def test_second_run_is_cached_and_identical(built):
    nb, out, _ = built
    before = snapshot(out)
    again = productionize(nb, out)
    assert again.cached and snapshot(out) == before


def test_a_failed_result_is_never_replayed_from_the_cache(built, tmp_path):
    """The cache's key does not see the environment: after the user installs what a failing
    generated test missed, productionize must check again."""
    nb, out, _ = built
    copy = tmp_path / "analysis"
    shutil.copytree(out, copy)
    assert _cached(nb, copy, True) is not None
    report = copy / "reports" / "tests.xml"
    xml = report.read_text()
    failure = '<failure message="ModuleNotFoundError" />'
    failed = re.sub(r"<testcase ([^>]*?) ?/>", rf"<testcase \1>{failure}</testcase>", xml,
                    count=1)
    assert failed != xml
    report.write_text(failed)
    assert _cached(nb, copy, True) is None


def test_forced_regeneration_is_byte_identical(built):
    nb, out, _ = built
    before = snapshot(out)
    productionize(nb, out, force=True)
    assert snapshot(out) == before


def test_installed_package_trains_and_saves_the_model(built, tmp_path):
    """pip installs the package with the interpreter running the tests, into a folder of its
    own: in a virtualenv that is the virtualenv's pip and hatchling (a venv made from the base
    interpreter would lack the build backend the test extras installed)."""
    nb, out, _ = built
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                           "--no-build-isolation", "--disable-pip-version-check",
                           "--target", str(target), str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    model_dir = tmp_path / "model"
    env = dict(os.environ, PYTHONPATH=str(target))
    done = subprocess.run([sys.executable, "-m", "analysis.train", "--model-dir", str(model_dir),
                           "--C", "0.25"], cwd=nb.parent, capture_output=True, text=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert (model_dir / "model.pkl").is_file()
    assert json.loads((model_dir / "metrics.json").read_text())["accuracy"] > 0.8
    # the installed copy ran, not the build folder
    where = subprocess.run([sys.executable, "-c", "import analysis; print(analysis.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(target))


def test_hand_edits_stop_productionize_and_fail_check(messy_copy):
    nb, out = messy_copy
    assert check(nb, out).ok
    target = out / "analysis" / "featurize.py"
    target.write_text(target.read_text() + "\n# tweak\n")
    status = check(nb, out)
    assert not status.ok and status.edited == ("analysis/featurize.py",)
    with pytest.raises(OutputError, match="edited by hand"):
        productionize(nb, out, execute=False)
    assert "# tweak" in target.read_text()
    productionize(nb, out, execute=False, force=True, checks=False)  # the files are the point
    assert "# tweak" not in target.read_text()
    nb.write_text(nb.read_text().replace("C = 0.5", "C = 0.7"))
    assert check(nb, out).stale


def test_the_package_name_shadows_no_installed_module_but_ignores_plain_folders(
        tmp_path, monkeypatch):
    (tmp_path / "churn").mkdir()  # the notebook's own folder, beside the working directory
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert package_name("churn/churn.ipynb") == "churn"
    assert package_name("Json.ipynb") == "json_model"
    assert package_name("numpy.ipynb") == "numpy_model"
    assert package_name("2024 Sales (v2).ipynb") == "nb_2024_sales_v2"


def test_check_without_output_is_stale(tmp_path):
    nb = write_notebook(tmp_path / "analysis.ipynb", MESSY)
    with pytest.raises(StaleOutputError):
        check(nb, tmp_path / "never")


def test_bad_notebook_leaves_previous_output_untouched(tmp_path, messy_copy):
    nb, out = messy_copy
    (out / "NOTES.md").write_text("mine")
    before = snapshot(out)
    broken = [c if c[0] != "training" else ("training", "model = (") for c in MESSY]
    write_notebook(nb, broken)
    with pytest.raises(Exception, match="syntax error"):
        productionize(nb, out, execute=False)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.ipynb", "out"]


def test_user_files_survive_regeneration(messy_copy):
    nb, out = messy_copy
    (out / "NOTES.md").write_text("mine")
    (out / "analysis" / "extra.py").write_text("X = 1\n")
    nb.write_text(nb.read_text().replace("C = 0.5", "C = 0.7"))
    productionize(nb, out, execute=False, checks=False)  # the files are the point
    assert (out / "NOTES.md").read_text() == "mine"
    assert (out / "analysis" / "extra.py").is_file()
    assert "C: float = 0.7" in (out / "analysis" / "train.py").read_text()


def test_refuses_to_replace_a_foreign_directory(tmp_path):
    nb = write_notebook(tmp_path / "analysis.ipynb", MESSY)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "precious.txt").write_text("x")
    with pytest.raises(OutputError, match="not written by jupyter-mlops"):
        productionize(nb, tmp_path / "out", execute=False)


def test_no_execute_says_which_tests_are_left_out(messy_unrecorded):
    root, result = messy_unrecorded
    assert result.ok and "test_equivalence.py" in result.left_out[0]
    assert not (root / "out" / "tests" / "test_equivalence.py").exists()


def test_lint_findings_point_at_notebook_cells(tmp_path):
    cells = list(MESSY)
    cells[6] = ("featurization", "X = df[[c for c in df.columns if c != 'target']]\n"
                                 "unused = 3\ny = df['target']")
    nb = write_notebook(tmp_path / "analysis.ipynb", cells)
    result = productionize(nb, tmp_path / "out", execute=False)
    finding = next(f for f in result.lint.findings if f.symbol == "unused-variable")
    assert (finding.cell_number, finding.cell_id, finding.cell_line) == (7, "c7", 2)
    assert finding.describe("analysis.ipynb") == (
        "analysis.ipynb cell 7 line 2: W0612 Unused variable 'unused' (unused-variable)")
    saved = json.loads((tmp_path / "out" / "reports" / "lint.json").read_text())
    assert saved["findings"][0]["cell_id"] == "c7"


def test_failing_cell_during_recording_is_named(tmp_path):
    cells = list(MESSY)
    cells[7] = ("training", "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
                            "raise ValueError('bad data')\n"
                            "model = LogisticRegression().fit(X_train, y_train)")
    nb = write_notebook(tmp_path / "analysis.ipynb", cells)
    with pytest.raises(RecordingError) as info:
        productionize(nb, tmp_path / "out")
    assert info.value.cell.number == 8 and "ValueError" in str(info.value)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["analysis.ipynb"]


# Real-notebook shapes beyond the examples: numpy data with a global seed, a grid search with
# the label dropped from a renamed frame, and a scoring cell that maps classes to names.
VARIANTS = {
"numpy_seeded": [
 ("setup", "import numpy as np\nfrom sklearn.datasets import load_diabetes\nfrom sklearn.ensemble import RandomForestRegressor\nfrom sklearn.model_selection import train_test_split\nfrom sklearn.metrics import mean_absolute_error, r2_score\nnp.random.seed(7)"),
 ("parameters", "n_estimators = 20"),
 ("data", "X, y = load_diabetes(return_X_y=True)"),
 (None, "print(X.shape)"),
 ("training", "X_train, X_test, y_train, y_test = train_test_split(X, y)\nforest = RandomForestRegressor(n_estimators=n_estimators)\nforest.fit(X_train, y_train)"),
 ("evaluation", "mae = mean_absolute_error(y_test, forest.predict(X_test))\nr2 = r2_score(y_test, forest.predict(X_test))\nprint(f'{mae=:.2f} {r2=:.3f}')"),
],
"gridsearch_drop": [
 ("setup", "import pandas as pd\nfrom sklearn.datasets import load_wine\nfrom sklearn.model_selection import GridSearchCV, train_test_split\nfrom sklearn.tree import DecisionTreeClassifier\nfrom sklearn.metrics import accuracy_score, classification_report"),
 ("data", "wine = load_wine(as_frame=True)\ndata = wine.frame.copy()\ndata.rename(columns={'target': 'cultivar'}, inplace=True)"),
 ("featurization", "data['ratio'] = data['alcohol'] / data['malic_acid']\nfeatures, labels = data.drop(columns=['cultivar']), data['cultivar']"),
 ("training", "Xtr, Xte, ytr, yte = train_test_split(features, labels, random_state=0, stratify=labels)\nsearch = GridSearchCV(DecisionTreeClassifier(random_state=0), {'max_depth': [2, 3, 4]}, cv=3)\nsearch.fit(Xtr, ytr)\nbest = search.best_estimator_\nsearch.best_params_"),
 ("evaluation", "pred = best.predict(Xte)\nprint(classification_report(yte, pred))\nresults = {'accuracy': accuracy_score(yte, pred)}"),
],
"scoring_cell": [
 ("setup", "import pandas as pd\nfrom sklearn.datasets import load_iris\nfrom sklearn.linear_model import LogisticRegression"),
 ("data", "iris = load_iris(as_frame=True).frame"),
 ("featurization", "iris['petal_area'] = iris['petal length (cm)'] * iris['petal width (cm)']\nX = iris.drop(columns='target')\ny = iris['target']"),
 ("training", "clf = LogisticRegression(max_iter=1000).fit(X, y)"),
 ("scoring", "labels = ['setosa', 'versicolor', 'virginica']\nspecies = [labels[i] for i in clf.predict(X)]"),
],
}

# File names as people save them: spaces, punctuation, a long name (it lands in docstrings)
FILE_NAMES = {"gridsearch_drop": "2024-03 Wine cultivars, grid search (final v2, 50% sample)"}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_notebook_variants_become_passing_packages(tmp_path, name):
    nb = write_notebook(tmp_path / f"{FILE_NAMES.get(name, name)}.ipynb", VARIANTS[name])
    result = productionize(nb, tmp_path / "out")
    assert result.proven and result.lint.score == 10.0, result.summary()
    assert all(c.outcome == "passed" for c in result.tests.cases), result.summary()


def train_then_ask(tmp_path: Path, package: str, script: str, records: list, *train_args):
    """Train the generated package in tmp_path/out into tmp_path/model, then run ``script``
    against it (records on stdin, JSON on stdout), each as its own process."""
    model_dir = tmp_path / "model"
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "out"), MODEL_DIR=str(model_dir))
    subprocess.run([sys.executable, "-m", f"{package}.train", "--model-dir", str(model_dir),
                    *train_args], cwd=tmp_path, check=True, capture_output=True, env=env)
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(records),
                          capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout)


SCORE_RECORDS = """
import json, sys
from sales import score
score.init()
print(json.dumps(score.run(sys.stdin.read())))
"""


def test_scoring_uses_the_trained_parameters_and_keeps_record_order(tmp_path):
    """Featurization that reads a parameter, parses dates, sorts and drops rows: records come
    back one prediction each, in their order, featurized with the value training used."""
    rows = ["day,x,target"] + [f"2024-{m:02d}-{d:02d},{(m * 7 + d) % 10 + 0.5},"
                               f"{(m * 7 + d) % 10 * 2 + m}" for m in range(1, 7)
                               for d in (3, 17)] + ["2024-07-01,,5"]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    nb = write_notebook(tmp_path / "sales.ipynb", [
        ("parameters", "CUTOFF = 5.0"),
        ("setup", "import pandas as pd\nfrom sklearn.linear_model import LinearRegression"),
        ("data", "df = pd.read_csv('data.csv', parse_dates=['day'])"),
        ("featurization", "df.dropna(inplace=True)\ndf.sort_values('x', inplace=True)\n"
                          "df['month'] = df['day'].dt.month\n"
                          "df['big'] = (df['x'] > CUTOFF).astype(int)\n"
                          "X = df[['x', 'month', 'big']]\ny = df.target"),
        ("training", "model = LinearRegression().fit(X, y)"),
    ])
    # scoring is the question here (the other notebooks of this file check pylint's score)
    result = productionize(nb, tmp_path / "out", lint=False)
    assert result.ok, result.summary()
    records = [{"day": "2024-03-05", "x": 3.0}, {"day": "2024-01-02", "x": None},
               {"day": "2024-01-01", "x": 1.0}]
    scored = train_then_ask(tmp_path, "sales", SCORE_RECORDS, records, "--CUTOFF", "2.0")
    assert json.loads((tmp_path / "model" / "parameters.json").read_text()) == {"CUTOFF": 2.0}

    import pandas as pd  # pylint: disable=import-outside-toplevel
    from sklearn.linear_model import LinearRegression  # pylint: disable=C0415

    df = pd.read_csv(tmp_path / "data.csv", parse_dates=["day"]).dropna()
    df["month"], df["big"] = df["day"].dt.month, (df["x"] > 2.0).astype(int)
    model = LinearRegression().fit(df[["x", "month", "big"]], df["target"])
    expected = model.predict(pd.DataFrame({"x": [3.0, 1.0], "month": [3, 1], "big": [1, 0]}))
    assert scored["predictions"][0] == pytest.approx(expected[0])
    assert scored["predictions"][1] is None
    assert scored["predictions"][2] == pytest.approx(expected[1])
    assert scored["warnings"] == ["featurization dropped record(s) [2]: they have no prediction"]


def test_featurization_statistics_are_frozen_at_training(tmp_path):
    """fillna(median), a z-score and a scaler refit per column in a loop: one record is
    featurized with training's values, as in the notebook's batch."""
    rows = ["age,income,bought"] + [
        f"{'' if i % 9 == 0 else 18 + (i * 7) % 60},{30 + (i * 13) % 50},{(i * 5) % 3 == 0:d}"
        for i in range(120)]
    (tmp_path / "customers.csv").write_text("\n".join(rows) + "\n")
    nb = write_notebook(tmp_path / "shop.ipynb", [
        ("setup", "import pandas as pd\nfrom sklearn.preprocessing import StandardScaler\n"
                  "from sklearn.linear_model import LogisticRegression"),
        ("data", "df = pd.read_csv('customers.csv')"),
        ("featurization", "df['age'] = df['age'].fillna(df['age'].median())\n"
                          "df['income_z'] = (df['income'] - df['income'].mean()) / "
                          "df['income'].std()\nscaler = StandardScaler()\n"
                          "for col in ['age', 'income']:\n"
                          "    df[[col + '_s']] = scaler.fit_transform(df[[col]])\n"
                          "X = df[['age', 'income_z', 'age_s', 'income_s']]\ny = df['bought']"),
        ("training", "model = LogisticRegression().fit(X, y)"),
    ])
    result = productionize(nb, tmp_path / "out")
    assert result.ok and result.lint.score == 10.0, result.summary()
    assert not [w for w in result.warnings if "whole batch" in str(w)]
    # among the generated tests: one record alone scores as in the batch, and the features
    # of the recorded records match the notebook's
    passed = {c.name.rsplit("::", 1)[-1] for c in result.tests.cases if c.outcome == "passed"}
    assert {"test_one_record_scores_as_in_the_batch", "test_features_match_notebook"} <= passed
    assert (tmp_path / "out" / "shop" / "state.py").is_file()


FEATURES_OF = """
import json, sys
from gaps import score
score.init()
print(score.features_from_records(json.loads(sys.stdin.read())).to_json(orient="records"))
"""


def test_statistics_follow_their_column_and_fitted_encoders_stay_usable(tmp_path):
    """A fillna loop over "the columns with gaps" of the batch: a record's gap gets its own
    column's training mean whichever columns have gaps in the request. A OneHotEncoder fit in
    featurization names its columns at scoring time too."""
    rows = ["a,b,city,y"] + [f"{'' if i % 5 == 0 else i % 7},{'' if i % 3 == 0 else 100 + i},"
                             f"{'xyz'[i % 3]},{i % 2}" for i in range(60)]
    (tmp_path / "gaps.csv").write_text("\n".join(rows) + "\n")
    nb = write_notebook(tmp_path / "gaps.ipynb", [
        ("setup", "import pandas as pd\nfrom sklearn.preprocessing import OneHotEncoder\n"
                  "from sklearn.linear_model import LogisticRegression"),
        ("data", "df = pd.read_csv('gaps.csv')"),
        ("featurization", "for col in df.columns[df.isna().any()]:\n"
                          "    df[col] = df[col].fillna(df[col].mean())\n"
                          "enc = OneHotEncoder(sparse_output=False)\n"
                          "cities = pd.DataFrame(enc.fit_transform(df[['city']]), "
                          "columns=enc.get_feature_names_out(), index=df.index)\n"
                          "X = pd.concat([df[['a', 'b']], cities], axis=1)\ny = df['y']"),
        ("training", "model = LogisticRegression().fit(X, y)"),
    ])
    result = productionize(nb, tmp_path / "out")
    assert result.ok and result.lint.score == 10.0, result.summary()
    features = train_then_ask(tmp_path, "gaps", FEATURES_OF,
                              [{"a": 0.5, "b": None, "city": "y"}])[0]

    import pandas as pd  # pylint: disable=import-outside-toplevel

    data = pd.read_csv(tmp_path / "gaps.csv")
    assert features == {"a": 0.5, "b": pytest.approx(data["b"].mean()), "city_x": 0.0,
                        "city_y": 1.0, "city_z": 0.0}
