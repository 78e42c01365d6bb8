"""Training-side code: labelled data sources, label mappings and fixed splits.

Import the submodules directly (``from emotiq.training.sources import load_sources``);
this package imports nothing on its own so that ``import emotiq`` stays light.
"""
