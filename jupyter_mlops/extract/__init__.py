"""Dataflow analysis and code generation: pure functions over parsed cells, no I/O."""
