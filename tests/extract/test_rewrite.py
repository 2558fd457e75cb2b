"""Statement rewrites for scoring keep the author's layout, line count and meaning."""

import ast

from jupyter_mlops.extract.rewrite import (every_dummy_kept, tolerant_drops,
                                           transform_instead_of_fit, with_saved_statistics)

STATEMENT = """df["fare"] = df["fare"].clip(upper=df["fare"].quantile(
    0.99)) + df[["a", "b"]].mean(axis=1)"""


def test_statistics_are_saved_by_column_and_row_wise_ones_are_not():
    code = with_saved_statistics(STATEMENT)
    ast.parse(code)
    assert code == ('df["fare"] = df["fare"].clip(upper=state.quantile("fare", df["fare"], 0.99))'
                    ' + df[["a", "b"]].mean(axis=1)')


def test_a_loop_variable_keys_the_statistic_and_utf8_columns_stay_intact():
    code = with_saved_statistics('for c in gaps:\n    df[c] = df[c].fillna(df[c].median())')
    assert code.split("\n")[1] == "    df[c] = df[c].fillna(state.median(c, df[c]))"
    assert with_saved_statistics('df["é"] = df["é"].fillna(df["é"].mean().round(2))') == (
        'df["é"] = df["é"].fillna(state.mean("é", df["é"]).round(2))')


def test_a_transformer_refit_in_a_loop_is_kept_once_per_pass():
    code = with_saved_statistics("for col in cols:\n    df[[col]] = sc.fit_transform(df[[col]])")
    assert code.split("\n")[1] == "    df[[col]] = state.fit_transform('sc', sc, df[[col]])"


def test_scoring_transforms_drops_tolerantly_and_keeps_every_dummy():
    assert transform_instead_of_fit("Xs = sc.fit_transform(X)", "sc") == "Xs = sc.transform(X)"
    assert tolerant_drops("X = df.drop(columns=['id'])") == (
        "X = df.drop(columns=['id'], errors=\"ignore\")")
    assert tolerant_drops("df = df.drop(index=[0])") == "df = df.drop(index=[0])"
    assert every_dummy_kept("X = pd.get_dummies(df, drop_first=True)") == (
        "X = pd.get_dummies(df, drop_first=False)")
