"""Changes to training texts that teach what should not matter.

Augmentations are registered by name and listed in ``TrainConfig.augment``; each
takes the sampled training rows and a seed and returns the rows to train on. Dev and
test rows are never changed, so scores stay comparable with published figures.

- ``names``: GoEmotions masks every person's name as ``[NAME]``, so the model never
  sees a real name with those labels, while customers' messages are full of them
  ("Sanne from support was great"). Each ``[NAME]`` is filled with a first name drawn
  from a list of Dutch, Flemish, English and other names common in the Netherlands,
  Belgium, the UK and the US, so that names come to carry no emotion or sentiment.
"""

from __future__ import annotations

import logging
import random
import re
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


AUGMENTATIONS: dict[str, Callable[[pd.DataFrame, int], pd.DataFrame]] = {"names": fill_names}
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
