"""Several frames featurized together (a loop over frames, a statement per frame), and one-hot
columns on small categorical data.
"""

import pytest

from .proof import assert_proven, notebooks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("nb_path", notebooks(
    "train_and_test_frames_featurized_together_in_for_loop",
    "train_and_test_frames_featurized_one_statement_per_frame_submission_scored",
    "get_dummies_drop_first_rare_plan_record_with_dropped_levels_scored",
    "get_dummies_in_place_rare_region_gradient_boosting_no_scoring_cell",
))
def test_frames_and_categories_productionizes_with_equivalence_proven(nb_path, tmp_path, forked_pytest):
    assert_proven(nb_path, tmp_path, forked_pytest)
