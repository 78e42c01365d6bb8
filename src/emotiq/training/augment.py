"""Changes to training texts that teach what should not matter.

Augmentations are registered by name and listed in ``TrainConfig.augment``; each
takes the sampled training rows and a seed and returns the rows to train on. Dev and
test rows are never changed, so scores stay comparable with published figures.

- ``names``: GoEmotions masks every person's name as ``[NAME]``, so the model never
  sees a real name with those labels, while customers' messages are full of them
  ("Sanne from support was great"). Each ``[NAME]`` is filled with a first name drawn
  from a list of Dutch, Flemish, English and other names common in the Netherlands,
  Belgium, the UK and the US, so that names come to carry no emotion or sentiment.
- ``name_swaps``: rows of any source that mention one of those first names get a
  twin with other names in their place ("Harry, you got a nice shop here").
- ``typos``: customers type fast. A share of the rows (:data:`TYPO_SHARE`) gets a twin
  with the slips people make: accents left off ("een" for "één"), all lower case, and
  letters swapped, dropped or doubled in a few words (:func:`misspell`).

Rows that get a variant keep it in a ``twin`` column; ``LoopSettings.invariance_weight``
then pulls the twin's scores to the row's.
"""

from __future__ import annotations

import logging
import random
import re
import unicodedata
from collections.abc import Callable

import pandas as pd

logger = logging.getLogger(__name__)

NAMES = (
    # Dutch and Flemish
    "Daan", "Sem", "Lucas", "Levi", "Finn", "Noah", "Milan", "Thijs", "Ruben", "Joost", "Wouter", "Koen", "Stijn",
    "Bart", "Maarten", "Niels", "Wim", "Geert", "Hendrik", "Kees", "Sven", "Jesse", "Lars", "Jens", "Arne", "Wout",
    "Julia", "Mila", "Tess", "Sophie", "Zoë", "Fleur", "Anouk", "Eva", "Lieke", "Femke", "Iris", "Marieke", "Ilse",
    "Annelies", "Griet", "Liesbeth", "Ellen", "Inge", "Saskia", "Nienke", "Roos", "Elise", "Marloes", "Margriet",
    # English
    "James", "Oliver", "Harry", "George", "Jack", "William", "Michael", "David", "Chris", "Daniel", "Ryan", "Ben",
    "Amelia", "Isla", "Grace", "Lily", "Chloe", "Jessica", "Hannah", "Emily", "Rachel", "Megan", "Laura", "Kate",
    # Turkish, Moroccan, Arabic
    "Mehmet", "Emre", "Burak", "Kerem", "Elif", "Zeynep", "Merve", "Hatice", "Omar", "Bilal", "Hamza", "Karim",
    "Rachid", "Soufiane", "Samira", "Khadija", "Imane", "Salma", "Noura", "Leila",
    # Surinamese, Antillean, African
    "Ravi", "Sunita", "Anjali", "Rohan", "Shanti", "Jermaine", "Dwayne", "Shanice", "Kofi", "Ama", "Chidi", "Ngozi",
    "Abebe", "Amina", "Thabo", "Zanele", "Moussa", "Aïcha",
    # Polish, Romanian, southern European
    "Piotr", "Kasia", "Agnieszka", "Tomasz", "Andrei", "Ioana", "Marco", "Giulia", "Sofia", "Pablo", "Lucía", "João",
    # Chinese, Vietnamese, Indonesian, Japanese
    "Wei", "Li Na", "Jun", "Xiaoming", "Linh", "Minh", "Thanh", "Dewi", "Putri", "Budi", "Yuki", "Haruto",
)
"""First names that fill ``[NAME]`` (none of them is used by the behavioural suite's name cases)."""

_PLACEHOLDER = re.compile(r"\[NAME\]")


def fill_names(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Rows with every ``[NAME]`` replaced by a first name (a seeded draw per placeholder), and in a
    ``twin`` column the same text with other names (for ``LoopSettings.invariance_weight``)."""
    rng = random.Random(seed)
    masked = train["text"].str.contains(_PLACEHOLDER, regex=True)
    out = train.copy()
    texts = train.loc[masked, "text"].tolist()
    out.loc[masked, "text"] = [_PLACEHOLDER.sub(lambda _: rng.choice(NAMES), text) for text in texts]
    twins = []
    for text, first in zip(texts, out.loc[masked, "text"]):
        twin = first
        while twin == first:  # another draw until some name differs
            twin = _PLACEHOLDER.sub(lambda _: rng.choice(NAMES), text)
        twins.append(twin)
    out["twin"] = None
    out.loc[masked, "twin"] = twins
    logger.info("Filled [NAME] with first names in %d training rows", int(masked.sum()))
    return out


def _twin_column(train: pd.DataFrame) -> tuple[pd.DataFrame, list[object]]:
    """A copy of ``train`` with a ``twin`` column (None where no augmentation gave one yet), and that
    column as a list to fill in (a str marks a row that has its twin)."""
    out = train.copy()
    if "twin" not in out:
        out["twin"] = None
    return out, out["twin"].tolist()


NOT_ONLY_NAMES = frozenset({"Ben", "Grace", "Iris", "Roos"})
"""Names in :data:`NAMES` that are also everyday words ("Ben je thuis?", "grace", "iris", "roos"):
``name_swaps`` leaves them alone."""
_LISTED = re.compile(r"(?<![\w@#])(" + "|".join(
    re.escape(n) for n in sorted(set(NAMES) - NOT_ONLY_NAMES, key=len, reverse=True)) + r")(?!\w)")


def swap_names(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """For rows without a twin whose text names someone from :data:`NAMES` (whole words, as written,
    not @handles or #tags), a ``twin`` with each such name replaced by another drawn name."""
    rng = random.Random(seed)
    out, twins = _twin_column(train)
    made = 0
    for i, text in enumerate(out["text"].tolist()):
        if isinstance(twins[i], str) or not _LISTED.search(text):
            continue
        twins[i] = _LISTED.sub(lambda m: rng.choice([n for n in NAMES if n != m.group()]), text)
        made += 1
    out["twin"] = twins
    logger.info("Gave %d training rows that name someone a twin with other names", made)
    return out


TYPO_SHARE = 0.3
"""Share of the training rows without a twin that get a misspelled one."""
WORD_SLIP = 0.15
"""Chance that a word of four or more letters gets one slip."""
_WORD = re.compile(r"[^\W\d_]{4,}")


def strip_accents(text: str) -> str:
    """``text`` without combining marks: "één café" -> "een cafe"."""
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)))


def _slip(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)  # the first letter stays, as in most real slips
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def misspell(text: str, rng: random.Random) -> str:
    """A variant of ``text`` with typing slips: accents left off (half the time), all lower case (a
    third of the time), and in each word of four or more letters a swapped, dropped or doubled letter
    (:data:`WORD_SLIP`); at least one change is made where the text allows any."""
    for _ in range(5):
        out = strip_accents(text) if rng.random() < 0.5 else text
        out = out.lower() if rng.random() < 1 / 3 else out
        out = _WORD.sub(lambda m: _slip(m.group(), rng) if rng.random() < WORD_SLIP else m.group(), out)
        if out != text:
            return out
    words = list(_WORD.finditer(text))
    if not words:
        return text
    word = rng.choice(words)
    return text[:word.start()] + _slip(word.group(), rng) + text[word.end():]


def add_typos(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A misspelled twin (:func:`misspell`) for a seeded :data:`TYPO_SHARE` of the rows that have none."""
    rng = random.Random(seed)
    out, twins = _twin_column(train)
    free = [i for i, twin in enumerate(twins) if not isinstance(twin, str)]
    chosen = sorted(rng.sample(free, round(TYPO_SHARE * len(free))))
    texts = out["text"].tolist()
    made = 0
    for i in chosen:
        variant = misspell(texts[i], rng)
        if variant != texts[i]:
            twins[i] = variant
            made += 1
    out["twin"] = twins
    logger.info("Gave %d training rows a misspelled twin", made)
    return out


AUGMENTATIONS: dict[str, Callable[[pd.DataFrame, int], pd.DataFrame]] = {
    "names": fill_names, "name_swaps": swap_names, "typos": add_typos}
"""Augmentation name -> function of (training rows, seed) giving the rows to train on."""


def augment(train: pd.DataFrame, names: list[str], seed: int) -> pd.DataFrame:
    """``train`` after each augmentation in ``names``, in order."""
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        from emotiq.errors import UnknownNameError

        raise UnknownNameError(f"unknown augmentation(s) {unknown}; known: {', '.join(AUGMENTATIONS)}")
    for name in names:
        train = AUGMENTATIONS[name](train, seed)
    return train
