"""Tools around the copy commands: model signatures (get, set from example files, list the versions without
one), which a move of registered models to Unity Catalog requires."""
