"""Progress of the generated suite: one line per test as it ends, out of those collected."""

from jupyter_mlops.quality.testing import Tally


def test_progress_counts_each_test_out_of_the_collected_suite():
    said = []
    tally = Tally(said.append)
    tally.collected(2)
    tally.ended()
    tally.ended()
    assert said == ["tests 1/2", "tests 2/2"]
