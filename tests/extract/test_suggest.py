"""Role suggestions: the documented first-match heuristic over what a cell calls."""

import pytest

from jupyter_mlops.extract.suggest import role_for_code, suggest_roles
from jupyter_mlops.notebook import read_notebook


def role(code: str):
    guess = role_for_code(code)
    return guess and guess[0]


@pytest.mark.parametrize("code, expected", [
    ("import pandas as pd\n\ndef helper(x):\n    return x\n", "setup"),
    ("TEST_SIZE = 0.2\nSEED = 0", "parameters"),
    ("df = pd.read_csv('data.csv')", "data"),
    ("df['ratio'] = df.a / df.b", "featurization"),
    ("model = LinearRegression().fit(X, y)", "training"),
    ("r2 = r2_score(y, model.predict(X))", "evaluation"),
    ("model.score(X_test, y_test)", "evaluation"),
    ("preds = model.predict(new)", "scoring"),
    ("df.head()", "skip"),
])
def test_each_documented_rule(code, expected):
    assert role(code) == expected


def test_fitting_with_cross_validation_is_training_not_evaluation():
    code = ("scores = {n: cross_val_score(m, X, y, cv=3).mean() for n, m in models.items()}\n"
            "best = max(scores, key=scores.get)\nmodel = models[best]\nmodel.fit(X, y)")
    assert role_for_code(code) == ("training", "calls fit")
    assert role("s = cross_val_score(model, X, y)") == "training"
    assert role("model.fit(X_train, y_train)\nacc = accuracy_score(y_test, model.predict(X_test))"
                ) == "training"


@pytest.mark.parametrize("code", [
    "FEATURES = ['a', 'b']\nX = df[FEATURES]\ny = df['target']",
    "X = df[['a', 'b']]",
    "X = df.drop(columns=['target'])\ny = df.target",
    "X, y = df[FEATURES], df['target']",
    "X = scale(df[PIXELS])\ny = df['label']",
])
def test_selecting_features_and_target_is_featurization(code):
    assert role(code) == "featurization"


@pytest.mark.parametrize("code", [
    "plt.hist(np.log1p(df.price))\nplt.show()",
    "sns.heatmap(df.drop(columns='id').corr())",
    "np.log1p(df.target).hist(bins=30)\nplt.title('log1p')",
    "pd.read_csv('data.csv').head()",
    "colors = np.where(df.churn == 1, 'red', 'grey')\nplt.scatter(df.age, df.fee, c=colors)",
])
def test_cells_that_only_plot_or_display_are_skip(code):
    assert role(code) == "skip"


@pytest.mark.parametrize("code", [
    "df['late'] = np.where(df.days > 30, 1, 0)\nplt.hist(df.late)",
    "X = np.where(df.a > 1, 1, 0)\nplt.plot(X)",
])
def test_a_plot_beside_a_real_transform_stays_featurization(code):
    assert role(code) == "featurization"


def test_timing_cell_magics_are_read_through(notebook):
    path = notebook([
        "import pandas as pd",
        "%%time\nmodel = LinearRegression()\nmodel.fit(X, y)",
        "%%timeit -n 3 -r 1\nscore = model.score(X, y)",
        "%%capture\nX = df[['a']]",
    ])
    found = {s.number: s.role for s in suggest_roles(read_notebook(path))}
    assert found == {1: "setup", 2: "training", 3: "evaluation", 4: "featurization"}


def test_literal_assignments_are_not_features():
    assert role("X_LABEL = 'price'\ny_max = 3") == "parameters"
    assert role("model = candidates[C]") is None
