"""The generated suite runs in two pytest processes at once: their reports merge into the one
a single run would have written, and progress counts the whole suite."""

import xml.etree.ElementTree as ET

from jupyter_mlops.quality.testing import Tally, merge_junit, read_junit


def _junit(path, cases, failures=0):
    body = "".join(f'<testcase classname="tests.{module}" name="{name}" />'
                   for module, name in cases)
    path.write_text(f'<?xml version=\'1.0\' encoding=\'utf-8\'?>\n<testsuites name="pytest tests">'
                    f'<testsuite name="pytest" errors="0" failures="{failures}" skipped="0" '
                    f'tests="{len(cases)}">{body}</testsuite></testsuites>', encoding="utf-8")
    return path


def test_merged_report_keeps_the_test_files_order_and_adds_up_the_counts(tmp_path):
    main = _junit(tmp_path / "tests.xml", [("test_equivalence", "test_a"),
                                          ("test_score", "test_b"), ("test_score", "test_c")], 1)
    apart = _junit(tmp_path / "apart.xml", [("test_import", "test_import_has_no_side_effects")])
    merge_junit(main, apart)
    suite = ET.parse(main).find("testsuite")
    assert [c.get("name") for c in suite.iter("testcase")] == [
        "test_a", "test_import_has_no_side_effects", "test_b", "test_c"]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "1", "0")
    assert read_junit(main).passed == 4


def test_progress_counts_the_whole_suite_once_both_runs_collected():
    said = []
    tally = Tally(2, said.append)
    tally.collected(3)
    tally.ended()  # one run ended a test before the other had collected
    assert not said
    tally.collected(1)
    tally.ended()
    assert said == ["tests 1/4", "tests 2/4"]
