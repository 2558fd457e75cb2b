"""The package plan for notebooks as people write them, and the errors that protect them."""

import pytest

from jupyter_mlops.errors import DataflowError, NotebookError
from jupyter_mlops.extract.plan import plan_package
from jupyter_mlops.notebook import read_notebook

from ..conftest import MESSY

SETUP = ("setup", "import pandas as pd\nfrom sklearn.linear_model import LinearRegression")
DATA = ("data", "df = pd.DataFrame({'a': [1.0, 2.0, 3.0, 4.0], 'y': [2.0, 4.0, 6.0, 8.0]})")


def plan_of(notebook, cells):
    return plan_package(read_notebook(notebook(cells)))


def segment(plan, role, number=0):
    """The role's ``number``-th function of the training program."""
    return [s for s in plan.segments if s.role == role][number]


def warnings_of(plan):
    return [str(w) for w in plan.warnings]


def path_texts(plan):
    return [step.text for step in plan.path.steps]


def test_messy_notebook_plan(notebook):
    plan = plan_of(notebook, MESSY)
    assert segment(plan, "data").returns == ("df",)
    featurize = segment(plan, "featurization")
    assert (featurize.params, featurize.returns) == (("df",), ("X", "y"))
    training = segment(plan, "training")
    assert training.params == ("X", "y")
    assert training.kwparams == ("test_size", "C")
    assert set(training.returns) == {"model", "X_test", "y_test"}
    assert (plan.model, plan.path.raw, plan.path.output) == ("model", "df", "X_train")
    assert path_texts(plan)[-1] == "X_train = X"  # the split is every record at scoring
    assert plan.label_columns == ("target",)
    assert plan.metrics_expr == "metrics"
    dropped = {p.source for p in plan.program.dropped}
    assert {"df.head()", "X.shape", "metrics"} <= dropped


def test_state_from_an_untagged_cell_names_both_cells(notebook):
    cells = [SETUP, DATA, "df = df.dropna()",
             ("featurization", "X = df[['a']]\ny = df['y']")]
    with pytest.raises(DataflowError) as info:
        plan_of(notebook, cells)
    error = info.value
    assert (error.cell.number, error.other_cell.number) == (4, 3)
    assert "`df`" in str(error) and "cell 3" in str(error) and "untagged" in str(error)


def test_in_place_change_in_a_skipped_cell_is_caught(notebook):
    cells = [SETUP, DATA, ("skip", "df.drop(columns=['a'], inplace=True)"),
             ("featurization", "X = df[['a']]\ny = df['y']")]
    with pytest.raises(DataflowError, match="mlops:skip"):
        plan_of(notebook, cells)


def test_exploration_that_only_reads_is_fine(notebook):
    cells = [SETUP, DATA, "df.head()\ndf['a'].hist()", ("featurization", "X = df[['a']]")]
    assert segment(plan_of(notebook, cells), "featurization").params == ("df",)


def test_reading_a_name_nothing_defines(notebook):
    with pytest.raises(DataflowError, match="no cell before it defines it") as info:
        plan_of(notebook, [SETUP, DATA, ("featurization", "X = df[cols]")])
    assert info.value.cell.number == 3


def test_roles_interleave_in_notebook_order(notebook):
    # the label and the model's input made in a cell tagged training, featurization after it
    cells = [SETUP, DATA, ("training", "y = df['y']\nX = df.drop(columns=['y'])"),
             ("featurization", "X['a2'] = X['a'] ** 2"),
             ("training", "model = LinearRegression().fit(X, y)")]
    plan = plan_of(notebook, cells)
    assert [(s.role, s.name) for s in plan.segments] == [
        ("data", "load_data"), ("training", "train"), ("featurization", "featurize"),
        ("training", "train_2")]
    assert path_texts(plan) == ["X = df.drop(columns=['y'], errors=\"ignore\")",
                                "X['a2'] = X['a'] ** 2"]


def test_no_tagged_cells(notebook):
    with pytest.raises(NotebookError, match="no cell has an mlops role"):
        plan_of(notebook, ["import os", "x = 1"])


def test_training_without_fit(notebook):
    with pytest.raises(DataflowError, match=r"no `\.fit\(\.\.\.\)` call"):
        plan_of(notebook, [SETUP, DATA, ("training", "model = LinearRegression()")])


def test_helper_using_a_notebook_variable_is_refused(notebook):
    cells = [SETUP, DATA, ("featurization", "def scale(v):\n    return v / df['a'].max()\n"
                                            "X = df[['a']].apply(scale)")]
    with pytest.raises(DataflowError, match="uses the notebook variable"):
        plan_of(notebook, cells)


def test_df_mutated_across_stages_flows_through_returns(notebook):
    cells = [SETUP, DATA, ("featurization", "df['a2'] = df['a'] ** 2"),
             ("training", "model = LinearRegression()\nmodel.fit(df[['a', 'a2']], df['y'])")]
    plan = plan_of(notebook, cells)
    assert segment(plan, "featurization").returns == ("df",)
    assert segment(plan, "training").params == ("df",)
    assert plan.model == "model"


def test_existing_featurize_function_is_kept(notebook):
    cells = [SETUP, DATA,
             ("featurization", "def featurize(frame):\n    return frame[['a']] * 2\n\n"
                               "X = featurize(df)\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)")]
    plan = plan_of(notebook, cells)
    assert segment(plan, "featurization").name == "featurize_step"
    assert plan.program.definer_module["featurize"] == "common"
    assert plan.path.output == "X"


def test_scoring_cell_must_use_model_and_features(notebook):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("scoring", "out = model.predict(X) * 2")]
    plan = plan_of(notebook, cells)
    assert plan.scoring.params == ("model", "X")
    assert plan.scoring.returns == ("out",)
    cells[-1] = ("scoring", "out = model.predict(df[['a']])")
    assert plan_of(notebook, cells).path.raw == "df"  # the raw records are fine
    cells.insert(4, ("training", "holdout = X.tail(1)"))
    cells[-1] = ("scoring", "out = model.predict(holdout)")
    assert path_texts(plan_of(notebook, cells))[-1] == "holdout = X"  # every record
    cells[-1] = ("scoring", "out = model.predict(holdout) + len(y)")
    with pytest.raises(DataflowError, match="at scoring time"):
        plan_of(notebook, cells)


def test_metrics_from_scalar_scores(notebook):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("evaluation", "from sklearn.metrics import r2_score, mean_absolute_error\n"
                            "r2 = r2_score(y, model.predict(X))\n"
                            "mae = mean_absolute_error(y, model.predict(X))\nprint(r2)")]
    plan = plan_of(notebook, cells)
    assert plan.metrics_expr == '{"r2": r2, "mae": mae}'


def test_setup_side_effects_are_not_exported(notebook):
    cells = [("setup", "import warnings\nwarnings.filterwarnings('ignore')\nimport pandas as pd"),
             DATA, ("featurization", "X = df[['a']]")]
    plan = plan_of(notebook, cells)
    assert any("filterwarnings" in w and "side effect" in w for w in warnings_of(plan))


def test_setup_constant_shadowed_in_a_role_is_refused(notebook):
    cells = [("setup", "import pandas as pd\nCOLS = ['a']"), DATA,
             ("featurization", "COLS = COLS + ['y']\nX = df[COLS]")]
    with pytest.raises(DataflowError, match="hide the shared one"):
        plan_of(notebook, cells)


def test_model_fit_on_an_expression_is_scored_with_the_same_expression(notebook):
    cells = [("setup", "import pandas as pd\nfrom sklearn.linear_model import LinearRegression\n"
                       "COLS = ['a', 'a2']"),
             DATA, ("featurization", "df['a2'] = df['a'] ** 2"),
             ("training", "model = LinearRegression()\nmodel.fit(df[COLS], df['y'])")]
    plan = plan_of(notebook, cells)
    assert (plan.path.raw, plan.path.output) == ("df", "df[COLS]")
    assert plan.label_columns == ("y",)


def test_run_recording_calls_stay_in_the_notebook(notebook):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("evaluation", "from jupyter_mlops import log_metric\n"
                            "from sklearn.metrics import r2_score\n"
                            "r2 = r2_score(y, model.predict(X))\nlog_metric('r2', r2)")]
    plan = plan_of(notebook, cells)
    assert plan.metrics_expr == '{"r2": r2}'
    assert any("log_metric('r2', r2)" == p.source for p in plan.program.dropped)


def test_a_split_in_featurization_is_every_record_at_scoring(notebook):
    cells = [("setup", SETUP[1] + "\nfrom sklearn.model_selection import train_test_split"),
             DATA, ("featurization", "train, test = train_test_split(df, random_state=0)"),
             ("training", "model = LinearRegression().fit(train[['a']], train['y'])")]
    plan = plan_of(notebook, cells)
    assert path_texts(plan) == ["train = df"]
    assert plan.path.output == "train[['a']]"


def test_data_loading_in_setup_is_refused(notebook):
    cells = [("setup", "import pandas as pd\nRAW = pd.read_csv('x.csv')"), DATA]
    with pytest.raises(DataflowError, match="mlops:data"):
        plan_of(notebook, cells)


def test_seed_calls_in_setup_are_kept_for_training(notebook):
    cells = [("setup", "import numpy as np\nimport pandas as pd\n"
                       "from sklearn.linear_model import LinearRegression\nnp.random.seed(3)"),
             DATA, ("training", "model = LinearRegression().fit(df[['a']], df['y'])")]
    plan = plan_of(notebook, cells)
    assert [p.source for p in plan.program.seeds] == ["np.random.seed(3)"]
    assert all("seed" not in w for w in warnings_of(plan))


def test_parameters_read_by_setup_are_module_constants(notebook):
    cells = [("parameters", "threshold = 0.5"),
             ("setup", "import pandas as pd\nCUTOFF = threshold * 2"), DATA,
             ("featurization", "X = df[df['a'] > CUTOFF]")]
    plan = plan_of(notebook, cells)
    assert [p.source for p in plan.program.module_defs["common"]][:2] == ["threshold = 0.5",
                                                                  "CUTOFF = threshold * 2"]


def test_label_column_named_by_a_setup_constant(notebook):
    cells = [("setup", "import pandas as pd\nfrom sklearn.linear_model import LinearRegression\n"
                       "LABEL = 'y'"),
             DATA, ("featurization", "X = df[['a']]\ny = df[LABEL]"),
             ("training", "model = LinearRegression().fit(X, y)")]
    assert plan_of(notebook, cells).label_columns == ("y",)


# --- patterns found by trying real notebooks -------------------------------------------------

WINE = ("setup", "import pandas as pd\nfrom sklearn.datasets import load_wine\n"
                 "from sklearn.model_selection import train_test_split\n"
                 "from sklearn.preprocessing import StandardScaler\n"
                 "from sklearn.linear_model import LogisticRegression\n"
                 "from sklearn.metrics import accuracy_score, confusion_matrix\n"
                 "import matplotlib.pyplot as plt")
WINE_DATA = ("data", "df = load_wine(as_frame=True).frame")
WINE_FEATURES = ("featurization", "X = df.drop(columns='target')\ny = df['target']")


def test_a_transform_fitted_on_the_split_is_trained_state(notebook):
    # scoring transforms with the scaler training fit; it never fits again
    cells = [WINE, WINE_DATA, WINE_FEATURES,
             ("training", "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
                          "scaler = StandardScaler()\nX_train_s = scaler.fit_transform(X_train)\n"
                          "model = LogisticRegression(max_iter=1000)\n"
                          "model.fit(X_train_s, y_train)")]
    plan = plan_of(notebook, cells)
    assert plan.trained == ("scaler",)
    assert path_texts(plan)[-2:] == ["X_train = X", "X_train_s = scaler.transform(X_train)"]
    assert "scaler" in segment(plan, "training").returns


def test_a_model_input_from_two_loaded_tables_is_refused(notebook):
    cells = [WINE, ("data", "df = load_wine(as_frame=True).frame\n"
                            "extra = load_wine(as_frame=True).frame[['ash']]"),
             ("featurization", "X = pd.concat([df[['alcohol']], extra], axis=1)\ny = df['target']"),
             ("training", "model = LogisticRegression().fit(X, y)")]
    with pytest.raises(DataflowError, match="2 tables loaded separately: `df`.*`extra`") as info:
        plan_of(notebook, cells)
    assert info.value.cell.number == 2


def test_batch_dependent_featurization_is_frozen_or_warns_with_cell_and_line(notebook):
    cells = [WINE, WINE_DATA,
             ("featurization", "df['alcohol'] = df['alcohol'].fillna(df['alcohol'].median())\n"
                               "df['total'] = df[['alcohol', 'ash']].sum(axis=1)\n"
                               "X = pd.get_dummies(df.drop(columns='target'), drop_first=True)\n"
                               "y = df['target']"),
             ("training", "model = LogisticRegression().fit(X, y)")]
    plan = plan_of(notebook, cells)
    batch = [w for w in warnings_of(plan) if "depends on the whole batch" in w]
    # the median is computed at training and reused; drop_first is undone at scoring
    assert batch == []
    assert plan.saves_statistics
    first = segment(plan, "featurization").pieces[0].source
    assert first == "df['alcohol'] = df['alcohol'].fillna(state.median('alcohol', df['alcohol']))"
    assert path_texts(plan)[0] == first  # training and scoring run the same statement


def test_annotated_metrics_and_plot_only_values(notebook):
    cells = [WINE, WINE_DATA, WINE_FEATURES,
             ("training", "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"
                          "model = LogisticRegression(max_iter=1000).fit(X_train, y_train)"),
             ("evaluation", "pred = model.predict(X_test)\n"
                            "metrics: dict = {'accuracy': accuracy_score(y_test, pred)}\n"
                            "cm = confusion_matrix(y_test, pred)\nplt.imshow(cm)")]
    plan = plan_of(notebook, cells)
    assert plan.metrics_expr == "metrics"
    # cm only fed the dropped plot: it goes too, instead of an unused variable
    assert {"cm = confusion_matrix(y_test, pred)", "plt.imshow(cm)"} <= {
        p.source for p in plan.program.dropped}


def test_data_as_a_frame_without_a_pandas_import_scores_a_frame(notebook):
    cells = [("setup", "from sklearn.datasets import load_iris\n"
                       "from sklearn.linear_model import LogisticRegression"),
             ("data", "df = load_iris(as_frame=True).frame"),
             ("featurization", "X = df.drop(columns='target')\ny = df['target']"),
             ("training", "model = LogisticRegression(max_iter=1000).fit(X, y)")]
    assert plan_of(notebook, cells).uses_pandas


def test_a_list_parameter_is_not_a_shared_function_default(notebook):
    from jupyter_mlops.generate import generate_modules  # pylint: disable=import-outside-toplevel

    cells = [WINE, ("parameters", "Cs = [0.1, 1.0]"), WINE_DATA, WINE_FEATURES,
             ("training", "scores = {c: LogisticRegression(C=c).fit(X, y).score(X, y) for c in Cs}"
                          "\nmodel = LogisticRegression(C=max(scores, key=scores.get)).fit(X, y)")]
    train = next(m.text for m in generate_modules(plan_of(notebook, cells), "wine", None)
                 if m.path == "wine/train.py")
    assert "def train(X, y, *, Cs=None):" in train
    assert "    if Cs is None:  # the parameters cell's default\n        Cs = [0.1, 1.0]" in train


def test_a_label_derived_from_a_raw_column_is_not_required_at_scoring(notebook):
    cells = [SETUP, ("data", "df = pd.DataFrame({'w': [1.0, 2.0], 'adopted': ['yes', 'no']})"),
             ("featurization", "df['target'] = (df['adopted'] == 'yes').astype(int)\n"
                               "X = df[['w']]\ny = df['target']"),
             ("training", "model = LinearRegression().fit(X, y)")]
    assert plan_of(notebook, cells).label_columns == ("target", "adopted")


def test_settings_ending_a_setup_cell_are_kept_not_taken_for_display(notebook):
    cells = [("setup", "import warnings\nimport pandas as pd\n"
                       "from sklearn.linear_model import LinearRegression\n"
                       "pd.set_option('display.max_columns', 50)\n"
                       "warnings.filterwarnings('ignore')"), DATA,
             ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)")]
    dropped = {p.source for p in plan_of(notebook, cells).program.dropped}
    assert "warnings.filterwarnings('ignore')" not in dropped
    assert "pd.set_option('display.max_columns', 50)" not in dropped


def test_get_dummies_is_aligned_at_scoring_unless_drop_first(notebook):
    def plan(extra: str):
        return plan_of(notebook, [
            WINE, WINE_DATA,
            ("featurization", "df['band'] = (df['alcohol'] > 13).map({True: 'hi', False: 'lo'})\n"
                              f"X = pd.get_dummies(df.drop(columns='target'){extra})\n"
                              "y = df['target']"),
            ("training", "model = LogisticRegression().fit(X, y)")])

    aligned = plan("")
    assert aligned.one_hot
    assert not [w for w in warnings_of(aligned) if "get_dummies" in w]
    # drop_first drops the batch's first category: one record would lose its own
    # drop_first drops the batch's first category, a lone record's own: scoring keeps every
    # category and aligns with the model's columns, which leaves out the one training dropped
    dropping = plan(", drop_first=True")
    assert dropping.one_hot and "drop_first=False" in path_texts(dropping)[-1]
    assert not [w for w in warnings_of(dropping) if "get_dummies" in w]


def test_saving_and_reloading_the_model_is_left_to_the_package(notebook):
    cells = [("setup", SETUP[1] + "\nimport joblib\nimport pickle\nfrom joblib import load"),
             DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)\n"
                          "joblib.dump(model, 'model.joblib')\n"
                          "with open('model.pkl', 'wb') as f:\n    pickle.dump(model, f)"),
             ("scoring", "model = load('model.joblib')\npreds = model.predict(X)")]
    plan = plan_of(notebook, cells)
    training, scoring = segment(plan, "training"), plan.scoring
    assert [p.source for p in training.pieces] == ["model = LinearRegression().fit(X, y)"]
    assert [p.source for p in scoring.pieces] == ["preds = model.predict(X)"]
    assert scoring.params == ("model", "X")
    left_out = [w for w in warnings_of(plan) if "is left out" in w]
    assert len(left_out) == 3 and "cell 4 (id c4) line 2: `joblib.dump" in left_out[0]
    assert "init() loads the trained model" in left_out[2]


def test_loading_a_model_the_notebook_did_not_train_is_kept(notebook):
    # a scoring-only notebook: the file is its model, nothing replaces the load
    cells = [("setup", SETUP[1] + "\nimport joblib"), DATA,
             ("featurization", "X = df[['a']]"),
             ("scoring", "model = joblib.load('model.joblib')\npreds = model.predict(X)")]
    plan = plan_of(notebook, cells)
    assert plan.model is None and plan.path is None
    assert not any("is left out" in w for w in warnings_of(plan))


@pytest.mark.parametrize("argument", ["X.head(3)", "X[:10]", "X.iloc[5:]", "X.sample(4)",
                                      "sample"])
def test_scoring_only_some_records_is_refused(notebook, argument):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("scoring", f"sample = X.head(10)\npreds = model.predict({argument})")]
    with pytest.raises(DataflowError, match=r"only some of the records") as err:
        plan_of(notebook, cells)
    assert "cell 5" in str(err.value)


@pytest.mark.parametrize("argument", ["X", "X[['a']]", "X.iloc[:, 0:1]", "X.values[:, :1]"])
def test_scoring_all_records_on_some_columns_is_fine(notebook, argument):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("scoring", f"preds = model.predict({argument})")]
    assert plan_of(notebook, cells).scoring.returns == ("preds",)


@pytest.mark.parametrize("label", ["y = df.y", "y = df.pop('y')", "X, y = df[['a']], df.y"])
def test_label_read_as_an_attribute_or_popped_is_not_required_at_scoring(notebook, label):
    first = "" if label.startswith("X,") else "X = df[['a']]\n"
    cells = [SETUP, DATA, ("featurization", first + label),
             ("training", "model = LinearRegression().fit(X, y)")]
    assert plan_of(notebook, cells).label_columns == ("y",)


def test_label_derived_in_the_data_cell_frees_its_raw_column(notebook):
    cells = [SETUP, ("data", DATA[1] + "\ndf['big'] = (df['y'] > 5).astype(int)"),
             ("featurization", "X = df[['a']]\nlabel = df['big']"),
             ("training", "from sklearn.linear_model import LogisticRegression\n"
                          "model = LogisticRegression().fit(X, label)")]
    assert set(plan_of(notebook, cells).label_columns) == {"big", "y"}


def test_metrics_computed_from_metric_calls(notebook):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("evaluation", "import numpy as np\n"
                            "from sklearn.metrics import mean_squared_error, r2_score\n"
                            "mse = mean_squared_error(y, model.predict(X))\n"
                            "rmse = mean_squared_error(y, model.predict(X)) ** 0.5\n"
                            "rmse2 = np.sqrt(mse)\nr2 = r2_score(y, model.predict(X))\n"
                            "unexplained = 1 - r2\nn = len(X)")]
    assert plan_of(notebook, cells).metric_names == ("mse", "rmse", "rmse2", "r2", "unexplained")


def test_statistics_inside_a_notebook_helper_are_flagged(notebook):
    cells = [WINE, ("setup", "def standardize(frame):\n    for c in frame.columns:\n"
                             "        frame[c] = (frame[c] - frame[c].mean()) / frame[c].std()\n"
                             "    return frame"),
             WINE_DATA,
             ("featurization", "X = standardize(df.drop(columns='target'))\ny = df['target']\n"
                               "df['rank_mean'] = df.groupby('target')['ash'].transform('mean')\n"
                               "df['row'] = df[['ash', 'alcohol']].mean(1)"),
             ("training", "model = LogisticRegression().fit(X, y)")]
    plan = plan_of(notebook, cells)
    flagged = [w for w in warnings_of(plan) if "whole" in w]
    assert flagged[0].startswith("cell 4 (id c4) line 1: `standardize` (cell 2 (id c2)) "
                                 "computes `frame[c].mean()`")
    assert len(flagged) == 1 and not plan.saves_statistics  # the row-wise mean(1) is not one


def test_splitting_text_in_featurization_is_not_a_data_split(notebook):
    cells = [SETUP, ("data", "df = pd.DataFrame({'a': [1.0, 2.0], 'email': ['x@a.org', 'y@b.com'],"
                             " 'y': [0.0, 1.0]})"),
             ("featurization", "df['domain'] = df['email'].str.split('@').str[1]\n"
                               "df['n'] = df['email'].apply(lambda e: len(e.split('@')))\n"
                               "X = df[['a', 'n']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)")]
    assert segment(plan_of(notebook, cells), "featurization").returns == ("X", "y")


def test_label_of_a_frame_made_from_the_records_is_not_required(notebook):
    cells = [("setup", SETUP[1] + "\ndef clean(frame):\n    return frame.dropna()"), DATA,
             ("featurization", "data = clean(df)\nX = data[['a']]\ny = data['y']"),
             ("training", "model = LinearRegression().fit(X, y)")]
    assert plan_of(notebook, cells).label_columns == ("y",)


def test_metrics_only_logged_with_log_metric_are_what_evaluate_returns(notebook):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("evaluation", "from jupyter_mlops import log_metric\n"
                            "from sklearn.metrics import r2_score\n"
                            "log_metric('r2', float(r2_score(y, model.predict(X))))\n"
                            "print('done')"),
             ("evaluation", "log_metric('n', len(X))")]
    plan = plan_of(notebook, cells)
    assert plan.metrics_expr == "logged_metrics"
    assert plan.recorded_metrics_expr == "{'r2': float(r2_score(y, model.predict(X))), 'n': len(X)}"
    sources = [p.source for s in plan.segments if s.role == "evaluation" for p in s.pieces]
    assert sources[-3:] == ["logged_metrics = {'r2': float(r2_score(y, model.predict(X)))}",
                            "print('done')", "logged_metrics.update({'n': len(X)})"]


def test_log_metric_beside_a_metrics_dict_stays_job_only(notebook):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("evaluation", "from jupyter_mlops import log_metric\n"
                            "metrics = {'r2': model.score(X, y)}\nlog_metric('r2', metrics['r2'])")]
    plan = plan_of(notebook, cells)
    assert (plan.metrics_expr, plan.recorded_metrics_expr) == ("metrics", "metrics")


def test_printed_metric_calls_are_the_metrics(notebook):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("evaluation", "from sklearn.metrics import mean_absolute_error, r2_score\n"
                            "print('MAE:', mean_absolute_error(y, model.predict(X)))\n"
                            "print(f'R2 {r2_score(y, model.predict(X)):.3f}')")]
    plan = plan_of(notebook, cells)
    assert plan.metrics_expr == "logged_metrics"
    assert plan.recorded_metrics_expr == ("{'mae': mean_absolute_error(y, model.predict(X)), "
                                          "'r2': r2_score(y, model.predict(X))}")


def test_a_statistic_learned_on_the_training_frame_is_trained_state(notebook):
    cells = [SETUP, ("data", "train = pd.DataFrame({'a': [1.0, None, 3.0], 'y': [1.0, 2.0, 3.0]})"
                             "\ntest = pd.DataFrame({'a': [None, 2.0], 'y': [1.0, 2.0]})"),
             ("featurization", "a_mean = train['a'].mean()\n"
                               "for frame in [train, test]:\n"
                               "    frame['a'] = frame['a'].fillna(a_mean)"),
             ("training", "model = LinearRegression().fit(train[['a']], train['y'])")]
    plan = plan_of(notebook, cells)
    assert plan.trained == ("a_mean",) and plan.path.raw == "train"
    assert path_texts(plan) == ["for frame in [train]:\n    frame['a'] = frame['a'].fillna(a_mean)"]


def test_a_row_filter_tagged_data_after_featurization_is_training_only(notebook):
    cells = [SETUP, DATA, ("featurization", "df['a2'] = df['a'] * 2"),
             ("data", "df = df[df['a2'] < 7]"),
             ("training", "model = LinearRegression().fit(df[['a', 'a2']], df['y'])")]
    plan = plan_of(notebook, cells)
    assert path_texts(plan) == ["df['a2'] = df['a'] * 2"]
    assert [s.role for s in plan.segments] == ["data", "featurization", "data", "training"]
    assert [s.name for s in plan.segments][2] == "clean_data"


def test_evaluation_reading_the_scoring_cell_runs_it_in_training(notebook):
    cells = [SETUP, DATA, ("featurization", "X = df[['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)"),
             ("scoring", "preds = model.predict(X)"),
             ("evaluation", "from sklearn.metrics import r2_score\nr2 = r2_score(y, preds)")]
    plan = plan_of(notebook, cells)
    held_out = segment(plan, "scoring")
    assert (held_out.name, held_out.module, held_out.returns) == (
        "predict_held_out", "evaluate", ("preds",))
    assert plan.scoring.name == "predict"


def test_a_transformer_fit_without_a_name_on_the_scoring_path_is_refused(notebook):
    cells = [WINE, WINE_DATA, WINE_FEATURES,
             ("featurization", "X = StandardScaler().fit_transform(X)"),
             ("training", "model = LogisticRegression().fit(X, y)")]
    with pytest.raises(DataflowError, match="without keeping it in a variable") as info:
        plan_of(notebook, cells)
    assert (info.value.cell.number, info.value.line) == (4, 1)


def test_row_filters_on_the_label_in_featurization_select_training_rows_only(notebook):
    # new records have no label: its filters are left out; one by a feature still runs, and
    # a record it drops gets no prediction (test_productionize)
    cells = [SETUP, DATA,
             ("featurization", "df = df[df.y < 7]\ndf.dropna(subset=['y'], inplace=True)\n"
                               "df['a2'] = df['a'] * 2\n"
                               "df.drop(df[df['a'] > 3].index, inplace=True)"),
             ("training", "model = LinearRegression().fit(df[['a', 'a2']], df['y'])")]
    plan = plan_of(notebook, cells)
    assert path_texts(plan) == ["df['a2'] = df['a'] * 2",
                                "df.drop(df[df['a'] > 3].index, inplace=True)"]


def test_a_helper_that_only_drops_rows_is_left_out_at_scoring(notebook):
    helpers = ("setup", "def remove_outliers(frame, cols):\n"
                        "    for col in cols:\n"
                        "        low, high = frame[col].quantile(0.05), frame[col].quantile(0.95)\n"
                        "        frame = frame[(frame[col] >= low) & (frame[col] <= high)]\n"
                        "    return frame.reset_index(drop=True)\n\n\n"
                        "def with_double(frame):\n"
                        "    frame['a2'] = frame['a'] * 2\n"
                        "    return frame.dropna()\n")
    cells = [SETUP, helpers, DATA,
             ("featurization", "df = remove_outliers(df, ['y', 'a'])\ndf = with_double(df)"),
             ("training", "model = LinearRegression().fit(df[['a', 'a2']], df['y'])")]
    plan = plan_of(notebook, cells)
    # with_double makes a column too: it runs on new records as the notebook wrote it
    assert path_texts(plan) == ["df = with_double(df)"]


def test_columns_picked_by_a_list_sum_in_featurization_are_not_a_row_filter(notebook):
    cells = [SETUP, DATA, ("featurization", "cols = ['a']\nX = df[cols + ['a']]\ny = df['y']"),
             ("training", "model = LinearRegression().fit(X, y)")]
    assert path_texts(plan_of(notebook, cells)) == ["cols = ['a']", "X = df[cols + ['a']]"]
