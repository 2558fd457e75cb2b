"""Training jobs: papermill execution recorded with lineage, sweeps, reproduction."""
