"""From raw inputs to the token sequences the encoder runs, and back.

Each input becomes a :class:`Document`: cleaned, language-tagged, and cut into
one or more sequences (sentence-aligned chunks for long texts). All sequences
of a call go through the encoder together, whatever text they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from emotiq.encoder.text_encoder import TextEncoder
from emotiq.text import clean_text, detect_language
from emotiq.text.chunking import chunk_text, split_sentences


@dataclass
class Document:
    """One input text on its way through the pipeline."""

    text: str
    status: str = "ok"
    error: str | None = None
    clean: str = ""
    language: str = "und"
    truncated: bool = False
    segments: list[int] = field(default_factory=list)
    """Indices into the call's sequence list (chunks of this text)."""
    weights: list[int] = field(default_factory=list)
    sentences: list[tuple[str, int]] = field(default_factory=list)
    n_tokens: int = 0


def _fit(ids: list[int], max_length: int) -> tuple[list[int], bool]:
    """Cut a sequence to ``max_length`` keeping its final special token."""
    if len(ids) <= max_length:
        return ids, False
    return ids[: max_length - 1] + ids[-1:], True


class SequenceBuilder:
    """Collects the sequences of one call and remembers which text owns which."""

    def __init__(self, encoder: TextEncoder) -> None:
        self.encoder = encoder
        self.sequences: list[list[int]] = []

    def add(self, doc: Document, ids: list[int], *, weight: bool = True) -> int:
        ids, cut = _fit(ids, self.encoder.max_length)
        self.sequences.append(ids)
        index = len(self.sequences) - 1
        if weight:
            doc.truncated |= cut
            doc.segments.append(index)
            doc.weights.append(len(ids))
        return index

    def add_document(self, doc: Document, ids: list[int]) -> None:
        doc.n_tokens = len(ids)
        if len(ids) <= self.encoder.max_length:
            self.add(doc, ids)
            return
        chunks = chunk_text(
            doc.clean,
            max_tokens=self.encoder.max_content_tokens,
            token_offsets=self.encoder.token_offsets,
            lang=doc.language,
        )
        for chunk_ids in self.encoder.encode_ids(chunks):
            self.add(doc, chunk_ids)

    def add_sentences(self, doc: Document) -> None:
        sentences = split_sentences(doc.clean, doc.language)
        for sentence, ids in zip(sentences, self.encoder.encode_ids(sentences)):
            doc.sentences.append((sentence, self.add(doc, ids, weight=False)))


def prepare(
    texts: list[tuple[str | None, str | None]],
    encoder: TextEncoder,
    *,
    max_chars: int,
    sentences: bool = False,
) -> tuple[list[Document], list[list[int]]]:
    """Clean, tag and tokenize ``(text, error)`` pairs into documents and sequences."""
    docs: list[Document] = []
    for text, error in texts:
        doc = Document(text=text or "")
        if error is not None:
            doc.status, doc.error = "error", error
        else:
            cleaned = clean_text(doc.text, max_chars=max_chars)
            doc.clean, doc.truncated = cleaned.text, cleaned.truncated
            doc.status = "ok" if cleaned.scorable else "empty"
            doc.language = detect_language(cleaned.text)
        docs.append(doc)
    builder = SequenceBuilder(encoder)
    scorable = [doc for doc in docs if doc.status == "ok"]
    for doc, ids in zip(scorable, encoder.encode_ids([doc.clean for doc in scorable])):
        builder.add_document(doc, ids)
        if sentences:
            builder.add_sentences(doc)
    return docs, builder.sequences


def segment_languages(docs: list[Document], n_sequences: int) -> list[str]:
    """The language of the document that owns each of the call's ``n_sequences`` sequences (its
    chunks and sentences)."""
    languages = ["und"] * n_sequences
    for doc in docs:
        for index in [*doc.segments, *(i for _, i in doc.sentences)]:
            languages[index] = doc.language
    return languages


def document_vectors(docs: list[Document], pooled: torch.Tensor) -> torch.Tensor:
    """Token-weighted mean of each scorable document's chunk vectors (zeros otherwise)."""
    rows = [row for row, doc in enumerate(docs) for _ in doc.segments]
    out = torch.zeros((len(docs), pooled.shape[1]), dtype=pooled.dtype)
    if not rows:
        return out
    owner = torch.tensor(rows)
    weights = torch.tensor([w for doc in docs for w in doc.weights], dtype=pooled.dtype)
    chunks = pooled[[i for doc in docs for i in doc.segments]]
    out.index_add_(0, owner, chunks * weights.unsqueeze(1))
    totals = torch.zeros(len(docs), dtype=pooled.dtype).index_add_(0, owner, weights)
    return out / totals.clamp(min=1).unsqueeze(1)
