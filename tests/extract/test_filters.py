"""Which notebook helpers only keep some rows of the table they are given."""

import ast

from jupyter_mlops.extract.filters import filtered_argument, row_filter_helpers


def _helpers(source: str) -> dict:
    return row_filter_helpers(ast.parse(source).body)


def test_filters_loops_and_copies_count_as_row_filters():
    assert _helpers(
        "def iqr(df, col):\n    q1, q3 = df[col].quantile(0.25), df[col].quantile(0.75)\n"
        "    return df[(df[col] > q1 - 1.5 * (q3 - q1)) & (df[col] < q3 + 1.5 * (q3 - q1))]\n\n"
        "def clean(frame):\n    frame = frame.copy()\n    frame.dropna(inplace=True)\n"
        "    for c in ['a', 'b']:\n        frame = frame[frame[c] >= 0]\n"
        "    return frame.reset_index(drop=True)\n") == {"iqr": True, "clean": False}


def test_helpers_that_change_columns_or_return_something_else_do_not():
    assert not _helpers(
        "def add(frame):\n    frame['b'] = frame['a'] * 2\n    return frame[frame.b > 0]\n\n"
        "def indexed(frame):\n    return frame[frame.a > 0].reset_index()\n\n"
        "def same(frame):\n    return frame\n\n"
        "def mask(frame):\n    return frame.a > 0\n\n"
        "def early(frame):\n    if frame.empty:\n        return frame\n    return frame.dropna()\n"
        "def nothing():\n    return 1\n")


def test_only_a_call_on_a_frame_assigned_back_is_a_filter_of_that_frame():
    helpers = frozenset({"iqr"})
    node = ast.parse("df = iqr(df, 'price')").body[0]
    assert filtered_argument(node, helpers).id == "df"
    for source in ("df = other(df)", "iqr(df)", "df = iqr(df['a'])", "df['x'] = iqr(df)"):
        assert filtered_argument(ast.parse(source).body[0], helpers) is None
