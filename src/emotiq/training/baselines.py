"""Baselines evaluated beside the model: TF-IDF + logistic regression, and
logistic regression on frozen (un-adapted) encoder embeddings."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from emotiq.model import EmotiqModel

logger = logging.getLogger(__name__)

Featurizer = Callable[[list[str]], np.ndarray]


@dataclass
class HeadData:
    """Training targets of one head: the rows that have them, as an array."""

    name: str
    multi_label: bool
    n_labels: int
    rows: np.ndarray
    targets: np.ndarray


def embedding_key(model: EmotiqModel, texts: list[str]) -> str:
    """A digest of everything a frozen model's embeddings of ``texts`` depend on."""
    from emotiq import __version__

    c = model.config
    digest = hashlib.sha256(f"{__version__}|{c.base}|{c.prefix}|{c.max_length}|{c.pooling}|{model.runner.precision}".encode())
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()[:32]


def cached_embeddings(model: EmotiqModel, texts: list[str], cache_dir: str | Path | None = None) -> np.ndarray:
    """``model.embed(texts)``, kept in ``cache_dir`` (safetensors) and reused when the same
    encoder, precision and texts come again. Without ``cache_dir`` nothing is stored."""
    if cache_dir is None:
        return model.embed(texts)
    from safetensors.numpy import load_file, save_file

    path = Path(cache_dir) / f"embeddings-{embedding_key(model, texts)}.safetensors"
    if path.is_file():
        logger.info("Reusing %d cached embeddings from %s", len(texts), path)
        return load_file(str(path))["embeddings"]
    vectors = model.embed(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    save_file({"embeddings": np.ascontiguousarray(vectors, dtype=np.float32)}, str(partial))
    partial.replace(path)  # atomic: an interrupted run leaves no half-written cache entry
    return vectors


def head_data(train: pd.DataFrame) -> list[HeadData]:
    """The sentiment, emotion and complaint-severity targets of ``train``."""
    sentiment = train["sentiment"].to_numpy() >= 0
    emotion = train["emotions"].notna().to_numpy()  # vectors may hold NaN: labels a source does not annotate
    severity = train["severity"].to_numpy() >= 0
    return [
        HeadData("sentiment", False, 3, np.flatnonzero(sentiment), train["sentiment"].to_numpy()[sentiment]),
        HeadData("emotion", True, 10, np.flatnonzero(emotion), np.array(train["emotions"][emotion].tolist())),
        HeadData("complaint", False, 5, np.flatnonzero(severity), train["severity"].to_numpy()[severity]),
    ]


def _fit_predict(x_train: np.ndarray, data: HeadData, x_test: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    if data.multi_label:
        # one model per label, on the rows that annotate it; balanced class weights, since rare
        # emotions are otherwise never predicted at 0.5
        probs = np.zeros((x_test.shape[0], data.n_labels))
        for j in range(data.n_labels):
            known = ~np.isnan(data.targets[:, j])
            target = data.targets[known, j]
            if target.min(initial=1) == target.max(initial=0):
                probs[:, j] = target[0] if len(target) else 0.0
                continue
            clf = LogisticRegression(max_iter=1000, C=1.0, class_weight="balanced", random_state=seed)
            clf.fit(x_train[np.flatnonzero(known)], target)
            probs[:, j] = clf.predict_proba(x_test)[:, 1]
        return probs
    clf = LogisticRegression(max_iter=1000, C=1.0, random_state=seed)
    clf.fit(x_train, data.targets)
    probs = np.zeros((x_test.shape[0], data.n_labels))
    probs[:, clf.classes_.astype(int)] = clf.predict_proba(x_test)
    return probs


def linear_baseline(train_x: np.ndarray, heads: list[HeadData], test_x: np.ndarray, seed: int = 13) -> dict[str, np.ndarray]:
    """Fit one logistic regression per head on ``train_x`` rows; predict ``test_x``."""
    return {h.name: _fit_predict(train_x[h.rows], h, test_x, seed) for h in heads}


def tfidf_features(train_texts: list[str], test_texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Word 1-2-gram plus character 2-5-gram TF-IDF, fitted on the training texts."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, max_features=200_000, sublinear_tf=True)
    train = hstack([words.fit_transform(train_texts), chars.fit_transform(train_texts)]).tocsr()
    test = hstack([words.transform(test_texts), chars.transform(test_texts)]).tocsr()
    return train, test  # type: ignore[return-value]
