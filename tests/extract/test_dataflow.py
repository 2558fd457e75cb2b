"""Reads and writes of statements, including the mutations notebooks are full of."""

import ast

from jupyter_mlops.extract.dataflow import cell_statements, function_mutators


def flow(code, helpers=""):
    mutators = function_mutators(ast.parse(helpers)) if helpers else None
    return [(set(s.reads), set(s.writes)) for s in cell_statements(code, mutators)]


def test_assignment_reads_and_writes():
    assert flow("y = x + z") == [({"x", "z"}, {"y"})]


def test_in_place_mutations_are_writes():
    [(r1, w1), (r2, w2), (r3, w3)] = flow(
        "df['a'] = df.b * 2\ndf.dropna(inplace=True)\nmodel.fit(X, y)")
    assert "df" in w1 and "df" in w2 and "model" in w3
    assert {"X", "y"} <= r3 and "X" not in w3


def test_helper_that_mutates_its_argument():
    helpers = "def add(frame, v):\n    frame['x'] = v\n\ndef show(frame):\n    print(frame)\n"
    [(_, changed), (_, shown)] = flow("add(df, 1)\nshow(df)", helpers)
    assert "df" in changed and "df" not in shown


def test_augmented_assignment_reads_the_old_value():
    assert flow("total += 1") == [({"total"}, {"total"})]


def test_loop_targets_and_comprehension_variables_are_not_reads():
    [(reads, writes)] = flow("for name, est in models.items():\n    est.fit(X, y)")
    assert reads == {"models", "X", "y"} and {"name", "est"} <= writes
    [(reads, _)] = flow("cols = [c for c in df.columns if c != target]")
    assert reads == {"df", "target"}


def test_function_bodies_read_globals():
    [(reads, writes)] = flow("def f(a):\n    return a * SCALE + helper(a)")
    assert reads == {"SCALE", "helper"} and writes == {"f"}


def test_comments_above_a_statement_travel_with_it():
    [first, second] = cell_statements("x = 1\n# why\n# and how\ny = 2")
    assert (first.start, first.end, second.start, second.end) == (1, 1, 2, 4)


def test_a_helper_mutating_its_parameter_writes_nothing_when_defined():
    [(reads, writes)] = flow("def add(df, v):\n    df['x'] = v\n    return df")
    assert writes == {"add"} and reads == set()
