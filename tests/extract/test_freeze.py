"""Batch statistics in featurization are wrapped so training computes them and scoring reuses them."""

import ast

from jupyter_mlops.extract.freeze import frozen_calls, rewrite

CODE = """# fill gaps
df["age"] = df["age"].fillna(df["age"].median())
df["fare"] = df["fare"].clip(upper=df["fare"].quantile(
    0.99))
df["rowsum"] = df[["a", "b"]].mean(axis=1) + df[["a", "b"]].max(1)
df[cols] = scaler.fit_transform(df[cols])
df["é"] = df["é"].fillna(df["é"].mean().round(2))
norm = lambda s: s / s.max()
"""


def calls_of(code):
    tree = ast.parse(code)
    return [c for stmt in tree.body for c in frozen_calls(stmt, 3)]


def test_statistics_and_fit_transform_are_found_but_not_row_wise_or_deferred_code():
    calls = calls_of(CODE)
    assert [(c.kind, c.key) for c in calls] == [
        ("statistic", "cell 3 line 2 col 30"), ("statistic", "cell 3 line 3 col 36"),
        ("transform", "cell 3 line 6 col 12"), ("statistic", "cell 3 line 7 col 28")]


def test_rewrite_keeps_lines_and_compiles():
    code = rewrite(CODE, calls_of(CODE))
    assert code.count("\n") == CODE.count("\n")
    ast.parse(code)
    lines = code.split("\n")
    assert lines[1] == 'df["age"] = df["age"].fillna(fitted("cell 3 line 2 col 30", df["age"], "median"))'
    assert lines[2] == 'df["fare"] = df["fare"].clip(upper=fitted("cell 3 line 3 col 36", df["fare"], "quantile", '
    assert lines[3] == "    0.99))"
    assert lines[4] == 'df["rowsum"] = df[["a", "b"]].mean(axis=1) + df[["a", "b"]].max(1)'
    assert lines[5] == 'df[cols] = fitted_transform("cell 3 line 6 col 12", scaler, df[cols])'
    # the statistic is frozen, what is done with it (rounding) still runs; columns are in
    # UTF-8 bytes, as ast counts them
    assert lines[6] == 'df["é"] = df["é"].fillna(fitted("cell 3 line 7 col 28", df["é"], "mean").round(2))'
    assert lines[7] == "norm = lambda s: s / s.max()"
