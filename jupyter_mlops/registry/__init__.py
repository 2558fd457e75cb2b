"""Model lifecycle: registry with lineage, validation gate, promotion, serving, CI workflow."""

from .store import ModelVersion, Registry

__all__ = ["ModelVersion", "Registry"]
