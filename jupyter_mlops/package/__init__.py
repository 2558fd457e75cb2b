"""Writing the output tree: generated files, environment spec, manifest, atomic swap."""
