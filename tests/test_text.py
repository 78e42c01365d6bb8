"""Text handling: clean-up that keeps emoji, language id, sentence chunks."""

from __future__ import annotations

from emotiq.text import clean_text, detect_language
from emotiq.text.chunking import split_sentences
from emotiq.text.normalize import is_scorable

DUTCH = [
    "Mijn pakket is nog steeds niet bezorgd, dit is de derde keer!",
    "Heel vriendelijke medewerker, ik ben snel geholpen.",
    "Waarom kan ik niet inloggen in de app?",
    "Ik wil mijn abonnement opzeggen, hoe doe ik dat?",
    "De bezorger heeft het pakket bij de buren achtergelaten zonder briefje.",
    "Geen problemen gehad, alles was netjes op tijd.",
    "Wat een waardeloze klantenservice, nooit meer!",
    "Bedankt voor het snelle antwoord op mijn vraag.",
    "De factuur klopt niet, er staat een bedrag te veel op.",
    "Heel slecht geregeld allemaal",
]
ENGLISH = [
    "My parcel still hasn't been delivered, this is the third time!",
    "Very friendly agent, I was helped quickly.",
    "Why can't I log into the app?",
    "I want to cancel my subscription, how do I do that?",
    "The courier left the package with the neighbours without a note.",
    "No problems at all, everything arrived on time.",
    "What a useless customer service, never again!",
    "Thanks for the quick answer to my question.",
    "The invoice is wrong, I was charged too much.",
    "Very bad experience overall",
]


def test_clean_text_keeps_emoji_and_emoticons():
    cleaned = clean_text("Top!!! 😍👍  :-)  <3")
    assert cleaned.text == "Top!!! 😍👍 :-) <3"
    assert cleaned.scorable and not cleaned.truncated


def test_clean_text_removes_controls_and_surrogates():
    cleaned = clean_text("a\x00b\x07c \udc80 d\r\ne")
    assert "\x00" not in cleaned.text and "\x07" not in cleaned.text
    assert "\ufffd" in cleaned.text
    cleaned.text.encode("utf-8")  # always encodable


def test_clean_text_decodes_html_character_references_as_the_training_texts_were():
    assert clean_text("gsm, tv &amp; internet &lt;3 &#128545; &#x1F44D;").text == "gsm, tv & internet <3 😡 👍"
    for kept in ["AT&T", "R&D", "fish & chips", "&amp no semicolon", "a&b;c"]:
        assert clean_text(kept).text == kept
    cleaned = clean_text("&#0;&#xd800;&#13;x")  # references to characters that must not survive
    assert "\x00" not in cleaned.text and "\r" not in cleaned.text
    cleaned.text.encode("utf-8")
    assert clean_text("&lt;3").scorable and not clean_text("&amp;").scorable


def test_clean_text_cuts_very_long_texts():
    cleaned = clean_text("woord " * 400_000, max_chars=20_000)
    assert cleaned.truncated and len(cleaned.text) <= 20_000


def test_nothing_to_score():
    for text in ["", "   ", "12345", "https://t.co/abc", "@klantenservice", "!!! ???", "2024-01-01 12:00"]:
        assert not is_scorable(clean_text(text).text), text
    for text in ["😡", ":-(", "<3", "ok", "Slecht"]:
        assert is_scorable(clean_text(text).text), text


def test_language_identification():
    assert sum(detect_language(t) == "nl" for t in DUTCH) >= 9
    assert sum(detect_language(t) == "en" for t in ENGLISH) >= 9
    assert detect_language("Das ist leider sehr schlecht gewesen und ich bin sauer") == "other"
    assert detect_language("😡😡 123") == "und"


def test_sentences_are_split_with_dutch_abbreviations():
    sentences = split_sentences("Ik bestelde op 3 jan. een jas. Hij kwam niet! Waarom?", "nl")
    assert sentences[-1] == "Waarom?"
    assert len(sentences) >= 3


def test_long_review_is_cut_into_sentence_aligned_chunks(encoder):
    from emotiq.text.chunking import chunk_text

    sentence = "De levering van mijn bestelling was opnieuw veel te laat en niemand nam de telefoon op."
    review = " ".join(f"{sentence} Punt {i}." for i in range(180))  # about 3,000 words
    assert len(review.split()) >= 3000
    chunks = chunk_text(review, max_tokens=encoder.max_content_tokens, token_offsets=encoder.token_offsets, lang="nl")
    assert len(chunks) > 1
    lengths = [len(ids) for ids in encoder.encode_ids(chunks)]
    assert max(lengths) <= encoder.max_length
    assert all(chunk.endswith(".") for chunk in chunks)  # cut between sentences
    assert " ".join(chunks).split() == review.split()  # nothing lost or repeated


def test_overlong_sentence_is_cut_at_token_boundaries(encoder):
    from emotiq.text.chunking import chunk_text

    text = "heel " * 2000
    chunks = chunk_text(text, max_tokens=encoder.max_content_tokens, token_offsets=encoder.token_offsets)
    assert max(len(ids) for ids in encoder.encode_ids(chunks)) <= encoder.max_length
    assert " ".join(chunks).split() == text.split()
