"""Lexical (word and character n-gram TF-IDF) logits that a head adds to its encoder logits.

A *hybrid* custom head scores ``W_dense @ vector + W_lex @ tfidf(text) + b``: the dense part
is an ordinary :class:`~emotiq.heads.TaskHead`, the lexical part lives here. It needs the raw
text, so the model computes it from each document's text next to the encoder vector.

Kinds of lexical features are registered by name (``spec.extra["lexical"]``); ``"tfidf"``
is scikit-learn's ``TfidfVectorizer`` (words 1-2 and characters 2-5 within word bounds). A
model folder stores, per head, the vocabularies and idf values as JSON
(``lexical-<head>.json``) and the weights as safetensors (``lexical-<head>.safetensors``);
no pickles.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emotiq.errors import ModelFolderError, UnknownNameError

WORD = {"analyzer": "word", "ngram_range": (1, 2), "min_df": 1, "max_features": 10000, "sublinear_tf": True,
        "lowercase": True, "strip_accents": "unicode"}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5), "min_df": 2, "max_features": 20000, "sublinear_tf": True,
        "lowercase": True, "strip_accents": "unicode"}


def _vectorizer(params: dict[str, Any]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**{**params, "ngram_range": tuple(params["ngram_range"]), "dtype": np.float32})


class TfidfFeatures:
    """Word and character n-gram TF-IDF features, one sparse row per text."""

    kind = "tfidf"

    def __init__(self, vectorizers: list[Any]) -> None:
        self.vectorizers = vectorizers

    @classmethod
    def fit(cls, texts: list[str]) -> TfidfFeatures:
        clean = [t.strip() for t in texts]
        fitted = []
        for params in (WORD, CHAR):
            vectorizer = _vectorizer(params if len(texts) >= 20 else {**params, "min_df": 1})
            try:
                vectorizer.fit(clean)
            except ValueError:  # no n-gram reaches min_df
                vectorizer = _vectorizer({**params, "min_df": 1}).fit(clean)
            fitted.append(vectorizer)
        return cls(fitted)

    @property
    def size(self) -> int:
        return sum(len(v.vocabulary_) for v in self.vectorizers)

    def transform(self, texts: list[str]) -> Any:
        """A scipy CSR matrix ``(len(texts), size)``."""
        from scipy.sparse import hstack

        clean = [t.strip() for t in texts]
        return hstack([v.transform(clean) for v in self.vectorizers], format="csr", dtype=np.float32)

    def to_json(self) -> dict[str, Any]:
        parts = []
        for v in self.vectorizers:
            params = {k: v.get_params()[k] for k in WORD}
            params["ngram_range"] = list(params["ngram_range"])
            parts.append({"params": params, "vocabulary": {t: int(i) for t, i in v.vocabulary_.items()},
                          "idf": [float(x) for x in v.idf_]})
        return {"type": self.kind, "parts": parts}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TfidfFeatures:
        vectorizers = []
        for part in data["parts"]:
            vectorizer = _vectorizer(part["params"])
            vectorizer.vocabulary_ = dict(part["vocabulary"])
            vectorizer.idf_ = np.asarray(part["idf"], dtype=np.float32)
            vectorizers.append(vectorizer)
        return cls(vectorizers)


FEATURES: dict[str, type[TfidfFeatures]] = {"tfidf": TfidfFeatures}
"""Lexical feature kind -> class (``fit``, ``transform``, ``to_json``, ``from_json``)."""


def feature_class(kind: str) -> type[TfidfFeatures]:
    if kind not in FEATURES:
        raise UnknownNameError(f"unknown lexical feature kind {kind!r}; known: {', '.join(sorted(FEATURES))}")
    return FEATURES[kind]


@dataclass
class LexicalHead:
    """The lexical part of a hybrid head: features of the text times ``weight`` (labels x features)."""

    features: TfidfFeatures
    weight: torch.Tensor

    def logits(self, texts: list[str]) -> torch.Tensor:
        x = self.features.transform(texts)
        w = self.weight.numpy()
        return torch.from_numpy(np.asarray(x @ w.T, dtype=np.float32))

    def save(self, folder: Path, head: str) -> None:
        from safetensors.torch import save_file

        (folder / f"lexical-{head}.json").write_text(json.dumps(self.features.to_json(), ensure_ascii=False), encoding="utf-8")
        save_file({"weight": self.weight.float().contiguous()}, str(folder / f"lexical-{head}.safetensors"))

    @classmethod
    def load(cls, folder: Path, head: str, kind: str) -> LexicalHead:
        from safetensors.torch import load_file

        paths = folder / f"lexical-{head}.json", folder / f"lexical-{head}.safetensors"
        missing = [p.name for p in paths if not p.exists()]
        if missing:
            raise ModelFolderError(f"head {head!r} is a hybrid head but {folder} lacks {', '.join(missing)}")
        features = feature_class(kind).from_json(json.loads(paths[0].read_text(encoding="utf-8")))
        weight = load_file(str(paths[1]))["weight"]
        if weight.shape[1] != features.size:
            raise ModelFolderError(f"{paths[1].name}: {weight.shape[1]} feature weights for {features.size} features")
        return cls(features, weight)


def lexical_kind(spec_extra: dict[str, Any]) -> str | None:
    """The lexical feature kind a head uses (None for a plain head)."""
    return spec_extra.get("lexical")
