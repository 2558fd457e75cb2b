"""What pandas itself does differently from what the notebook's author meant, said with the
cell and the line to write instead."""

from importlib.metadata import version

from .test_plan import SETUP, plan_of, warnings_of

COPY_ON_WRITE = int(version("pandas").split(".", 1)[0]) >= 3
DATA = ("data", "df = pd.DataFrame({'a': [1.0, None, 3.0, 4.0], 'y': [2.0, 4.0, 6.0, 8.0]})")
FEATURES = ("featurization", "df['a'].fillna(df['a'].median(), inplace=True)\n"
                             "df.dropna(inplace=True)\nX = df[['a']]\ny = df['y']")
TRAINING = ("training", "model = LinearRegression().fit(X, y)")


def test_a_chained_inplace_fillna_is_named_with_the_assignment_to_write(notebook):
    told = [w for w in warnings_of(plan_of(notebook, [SETUP, DATA, FEATURES, TRAINING]))
            if "Copy-on-Write" in w]
    if not COPY_ON_WRITE:  # pandas 2 still changes the frame through the column
        assert not told
        return
    assert len(told) == 1, told  # df.dropna(inplace=True) is on the frame itself: fine
    assert "cell 3" in told[0] and "line 1" in told[0], told
    assert "write `df['a'] = df['a'].fillna(df['a'].median())`" in told[0], told
