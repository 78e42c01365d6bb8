"""Themes: what a set of feedback texts is about, as groups with keywords, quotes and scores.

>>> themes = model.themes(texts)                 # the complaints among texts, by default
>>> [(t.label, t.size, t.complaint_rate) for t in themes]

Texts are embedded by emotiq's encoder, clustered with scikit-learn (k-means by
default; the number of themes is chosen by silhouette unless given) and
labelled by class-based TF-IDF keywords. Needs scikit-learn: ``pip install "emotiq[themes]"``.
"""

from __future__ import annotations

from emotiq.themes.build import MAX_THEMES, MIN_THEME_SIZE, find_themes
from emotiq.themes.cluster import CLUSTERERS, register_clusterer
from emotiq.themes.types import Theme, ThemeSet

__all__ = ["CLUSTERERS", "MAX_THEMES", "MIN_THEME_SIZE", "Theme", "ThemeSet", "find_themes", "register_clusterer"]
