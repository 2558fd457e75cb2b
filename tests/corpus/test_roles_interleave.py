"""Roles interleave in the notebook's order: the label or the model's input made in a training
cell, featurization after the split, cleaning tagged data after featurization, outliers cut
inside featurization (rows selected at training only), helpers and imports defined in untagged
cells.
"""

import pytest

from .proof import assert_proven, notebooks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("nb_path", notebooks(
    "label_made_in_training_cell_then_dummies_concatenated_onto_X",
    "input_table_made_in_training_cell_then_id_and_text_columns_dropped",
    "label_popped_in_training_cell_then_weak_columns_dropped_wine_multiclass",
    "dropna_and_age_filter_tagged_data_after_featurization_loans",
    "outlier_cut_tagged_data_after_featurization_house_price_regression",
    "standard_scaler_fit_on_train_split_then_model_in_later_training_cell",
    "old_style_percent_format_continuation_lines_in_tagged_cells_time_magic",
    "helpers_class_and_imports_in_untagged_cells_used_by_tagged_cells_wine",
    "outliers_cut_on_label_and_by_iqr_helper_inside_featurization_then_reset_index_diabetes",
))
def test_roles_interleave_productionizes_with_equivalence_proven(nb_path, tmp_path, forked_pytest):
    assert_proven(nb_path, tmp_path, forked_pytest)
