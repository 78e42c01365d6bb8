"""Clustering methods for themes: a registry of scikit-learn clusterers, the number of themes chosen by silhouette."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from emotiq.errors import UnknownNameError
from emotiq.registry import registrar


@dataclass(frozen=True)
class Clustering:
    """Theme labels ``0..n-1`` per text and how their number was chosen."""

    labels: np.ndarray
    n: int
    chosen_by: str
    quality: dict[int, float] = field(default_factory=dict)


Fit = Callable[[np.ndarray, int], np.ndarray]
Clusterer = Callable[[np.ndarray, "int | None", list[int], int], Clustering]
CLUSTERERS: dict[str, Clusterer] = {}

register_clusterer = registrar(CLUSTERERS)
"""Decorator registering a clusterer: ``(vectors, n_themes or None, candidate counts, seed) -> Clustering``."""


def clusterer(name: str) -> Clusterer:
    if name not in CLUSTERERS:
        raise UnknownNameError(f"unknown theme method {name!r}; known methods: {', '.join(sorted(CLUSTERERS))}")
    return CLUSTERERS[name]


def prepare_vectors(vectors: np.ndarray) -> np.ndarray:
    """Centred, unit-length vectors: Euclidean distances then rank like cosine ones, without the shared offset."""
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    return centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)


def silhouette(vectors: np.ndarray, labels: np.ndarray, seed: int, sample: int = 3000) -> float:
    """Mean silhouette (cosine distance), on a seeded sample of at most ``sample`` texts."""
    from sklearn.metrics import silhouette_score

    return float(silhouette_score(vectors, labels, metric="cosine", sample_size=min(sample, len(vectors)), random_state=seed))


def choose(vectors: np.ndarray, fit: Fit, n_themes: int | None, candidates: list[int], seed: int) -> Clustering:
    """Fit ``n_themes`` clusters, or each candidate count and keep the best silhouette (fewer themes on ties)."""
    if n_themes is not None:
        return Clustering(fit(vectors, n_themes), n_themes, "given")
    fits = {k: fit(vectors, k) for k in candidates}
    quality = {k: round(silhouette(vectors, labels, seed), 6) for k, labels in fits.items()}
    best = max(quality, key=lambda k: (quality[k], -k))
    return Clustering(fits[best], best, "silhouette", quality)


@register_clusterer("kmeans")
def kmeans(vectors: np.ndarray, n_themes: int | None, candidates: list[int], seed: int) -> Clustering:
    """k-means (scikit-learn, k-means++ starts, 4 restarts)."""
    from sklearn.cluster import KMeans

    return choose(vectors, lambda x, k: KMeans(k, n_init=4, random_state=seed).fit_predict(x), n_themes, candidates, seed)


@register_clusterer("agglomerative")
def agglomerative(vectors: np.ndarray, n_themes: int | None, candidates: list[int], seed: int) -> Clustering:
    """Ward-linkage agglomerative clustering (scikit-learn)."""
    from sklearn.cluster import AgglomerativeClustering

    return choose(vectors, lambda x, k: AgglomerativeClustering(k, linkage="ward").fit_predict(x), n_themes, candidates, seed)


@register_clusterer("hdbscan")
def hdbscan(vectors: np.ndarray, n_themes: int | None, candidates: list[int], seed: int) -> Clustering:
    """HDBSCAN (scikit-learn); it finds its own number of themes. Noise texts join the nearest theme."""
    from sklearn.cluster import HDBSCAN

    if n_themes is not None:
        raise ValueError("method='hdbscan' chooses the number of themes itself; leave n_themes unset or use 'kmeans'")
    labels = HDBSCAN(min_cluster_size=max(5, len(vectors) // 100), copy=True).fit_predict(vectors)
    found = sorted(set(labels) - {-1})
    if not found:
        return Clustering(np.zeros(len(vectors), dtype=int), 1, "density")
    centres = np.stack([vectors[labels == c].mean(axis=0) for c in found])
    nearest = np.argmax(vectors @ centres.T, axis=1)
    remap = {c: i for i, c in enumerate(found)}
    out = np.array([remap[c] if c != -1 else nearest[i] for i, c in enumerate(labels)])
    return Clustering(out, len(found), "density")
