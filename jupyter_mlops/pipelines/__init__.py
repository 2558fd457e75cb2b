"""Kubeflow Pipelines: the productionized package as a KFP v2 pipeline, and local runs of it."""

from .compiler import CompiledPipeline, compile_pipeline

__all__ = ["CompiledPipeline", "compile_pipeline"]
