"""The sentence encoder: tokenizer + transformer body + mean pooling."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from tokenizers import Tokenizer
from torch import nn

from emotiq.encoder.base import resolve_base

logger = logging.getLogger(__name__)


class TextEncoder(nn.Module):
    """Turns token ids into one mean-pooled vector per sequence.

    Args:
        body: A ``transformers`` encoder returning ``last_hidden_state``.
        tokenizer: The matching fast tokenizer (adds ``<s>``/``</s>`` itself).
        prefix: Text put before every input (e5 expects ``"query: "``).
        max_length: Longest sequence the body accepts, special tokens included.
    """

    def __init__(self, body: nn.Module, tokenizer: Tokenizer, *, prefix: str = "query: ", max_length: int = 512) -> None:
        super().__init__()
        self.body = body
        self.tokenizer = tokenizer
        self.prefix = prefix
        self.max_length = max_length
        self.pad_id = tokenizer.token_to_id("<pad>") if tokenizer.token_to_id("<pad>") is not None else 0
        self._n_special = len(tokenizer.encode("").ids)

    @property
    def hidden_size(self) -> int:
        return int(self.body.config.hidden_size)

    @property
    def max_content_tokens(self) -> int:
        """Tokens left for text once the prefix and special tokens are in."""
        return self.max_length - len(self.content_ids([self.prefix.strip()])[0]) - self._n_special

    def encode_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of ``prefix + text`` with special tokens, untruncated."""
        encodings = self.tokenizer.encode_batch([self.prefix + t for t in texts])
        return [e.ids for e in encodings]

    def content_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of ``texts`` alone, without prefix or special tokens."""
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def token_offsets(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """Character span in each text of each of its tokens (no special tokens)."""
        return [e.offsets for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean of the last hidden states over non-padding tokens."""
        hidden = self.body(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return mean_pool(hidden, attention_mask)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average ``hidden`` over the positions where ``attention_mask`` is 1, as float32."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return ((hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)).float()


def _load_tokenizer(folder: str) -> Tokenizer:
    local = Path(folder) / "tokenizer.json"
    if local.exists():
        return Tokenizer.from_file(str(local))
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(folder).backend_tokenizer


def load_text_encoder(base: str, *, prefix: str = "query: ", max_length: int = 512) -> TextEncoder:
    """Load the base named ``base`` (see :func:`emotiq.encoder.base.resolve_base`)."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    folder = resolve_base(base)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the missing pooler is expected, not worth a warning
    hf_logging.disable_progress_bar()
    try:
        body = AutoModel.from_pretrained(folder, add_pooling_layer=False)
    except TypeError:  # architectures without a pooler option
        body = AutoModel.from_pretrained(folder)
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    body.eval()
    tokenizer = _load_tokenizer(folder)
    tokenizer.no_truncation()
    tokenizer.no_padding()
    positions = int(getattr(body.config, "max_position_embeddings", max_length))
    if body.config.model_type in {"roberta", "xlm-roberta"}:
        positions -= 2  # position ids start after the padding index
    max_length = min(max_length, positions)
    return TextEncoder(body, tokenizer, prefix=prefix, max_length=max_length)
