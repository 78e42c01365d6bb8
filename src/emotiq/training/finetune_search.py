"""Choosing a fine-tuning strategy by measurement, within a time budget.

Every candidate strategy is scored by macro-F1 on rows it was not fitted on:
with fewer than :data:`CV_BELOW` rows, or with fewer than :data:`HELD_PER_CLASS`
eval rows per class, by stratified cross-validation for the strategies on cached
vectors (``frozen``, ``hybrid``); else, and for the
strategies that adapt the encoder (``lora``, ``contrastive``), on the held-out
eval rows. The best one is installed in the model: a linear head is fitted
again on all rows when the eval rows were split off the training input (on the
training rows when they were given apart). Each candidate's score, time, and why
it was skipped are recorded for the model card.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from emotiq.errors import InputError
from emotiq.heads import HeadSpec
from emotiq.model import EmotiqModel
from emotiq.training import finetune_adapt as fa
from emotiq.training.finetune_data import LabelledRows
from emotiq.training.finetune_linear import (
    FROZEN_C,
    LinearFit,
    Selection,
    folds,
    label_text,
    macro_f1,
    select_and_fit,
    select_fusion,
)
from emotiq.training.finetune_train import head_probabilities
from emotiq.training.metrics import f1_per_class

logger = logging.getLogger(__name__)

STRATEGIES = ("frozen", "hybrid", "lora", "contrastive")
"""Strategies a user may ask for; ``auto`` chooses from them (``lora``/``contrastive`` only when the
budget allows) and from a ``blend`` of the adapted and the best linear head."""
LINEAR = ("frozen", "hybrid")
"""Strategies that fit a linear head on cached vectors."""
BLEND_SHARE = 0.5
"""Share of the linear head in a blend's logits (the adapted head has the rest), after each head's
logits are brought to the same spread: the two heads' logits averaged, a weighted geometric mean of
their probabilities."""
CV_BELOW = 2000
HELD_PER_CLASS = 10
"""Fewest eval rows per class on which the linear heads' settings are chosen; below it they are
cross-validated even on :data:`CV_BELOW` rows or more (a handful of rows per class makes the choice of C a
coin toss, and these fits take seconds)."""
FEW_SHOT = 20
"""Rows per class up to which ``auto`` tries contrastive pairs instead of LoRA."""
TRAIN_COST = 10.0
"""Seconds of a LoRA training pass over one text, in units of one inference pass (the rate measured
when embedding): about 9 with bf16 autocast on a 2-core AVX-512 BF16 host, 18 in fp32, against the
warm bf16 engine. Only decides whether one epoch fits; the adaptation times its own steps."""
MIN_ADAPT_EPOCHS = 1
MIN_HELD_TO_ADAPT = 40
"""Fewest held-out rows on which an encoder-adapting candidate may win: its score comes from those rows
alone, and on a handful of rows a lucky draw would beat the cross-validated linear heads."""
MIN_HELD_PER_CLASS_TO_ADAPT = 5.0
"""Fewest held-out rows per class, on average, on which an encoder-adapting candidate may win: macro-F1
averages the classes' F1, and a class seen two or three times moves it in large steps."""
BOOTSTRAP_DRAWS = 500
"""Resamples of the held-out rows for the standard error of an adapted candidate's margin over the
best linear head (reported in the card; the choice does not use it: in the fine-tuning benchmark,
keeping the linear head unless the margin exceeded one standard error lost more than it saved)."""
TOPIC_MARGIN = 0.005
"""Macro-F1 by which a linear head on the base encoder's vectors must beat one on the model's own
vectors to be kept (it costs a second encoder pass when scoring)."""
SHUFFLES = 5
RESHUFFLE_UP_TO = 1000
"""Up to this many cross-validated rows, the frozen head's C is chosen over :data:`SHUFFLES` shuffles of
the folds, not one: with one 3-fold split of a few hundred rows the choice often lands on a worse C
(on rows of the fine-tuning benchmark's training splits left out of each subsample, five shuffles
chose a C that scored 0.644 macro-F1 on average, one shuffle 0.639, the best C per case 0.652)."""
FINISH_RESERVE = 30.0
"""Seconds of the budget kept for calibrating and saving after the search."""


def parse_budget(value: str | float | None) -> float | None:
    """Seconds from ``"15m"``, ``"90s"``, ``"1h"``, ``"1h30m"`` or a number of seconds (None: no cap)."""
    if value is None or isinstance(value, (int, float)):
        return None if value is None else float(value)
    text = value.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([hms])", text)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != re.sub(r"\s", "", text):
        raise InputError(f"time budget {value!r} must look like '15m', '90s', '1h30m' or a number of seconds")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


BUDGET_POINTS = ((500, 180.0), (7000, 900.0))
"""(rows, seconds) between which the default budget grows in a straight line (flat outside them)."""


def default_budget(rows: int) -> float:
    """The search budget when none is given: 3 minutes up to 500 rows, growing in a straight line to
    15 minutes at 7,000 rows (and no more above)."""
    (low, short), (high, long) = BUDGET_POINTS
    return float(np.interp(rows, [low, high], [short, long]))


@dataclass
class Candidate:
    """One strategy's outcome in the search."""

    strategy: str
    status: str = "skipped"
    """``scored``, ``skipped``, ``rejected`` or ``chosen``."""
    score: float | None = None
    scored_on: str = ""
    seconds: float = 0.0
    note: str = ""
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class Search:
    """Everything the candidates share: the model, the rows, their cached vectors and the clock."""

    model: EmotiqModel
    spec: HeadSpec
    keep: dict[str, HeadSpec]
    train: LabelledRows
    held: LabelledRows
    vectors: np.ndarray
    """Vectors of the training rows, then the eval rows."""
    embed_rate: float
    """Texts per second the encoder embedded."""
    deadline: float
    seed: int
    epochs: int
    weights: list[float] | None
    refit_all: bool = False
    """The eval rows were split off the training input: a linear head that wins is fitted again on
    all rows (its eval scores come from fits that left those rows out)."""
    topic_vectors: np.ndarray | None = None
    """The same rows' vectors from the base encoder before fine-tuning (None: not offered), for linear
    heads that read them (``HeadSpec.space == "topic"``)."""
    candidates: list[Candidate] = field(default_factory=list)
    fitted: dict[str, Any] = field(default_factory=dict)
    selections: dict[str, Selection] = field(default_factory=dict)
    """Strategy -> its chosen setting with out-of-split logits (the frozen head's is reused by the hybrid one)."""
    held_logits: dict[str, np.ndarray] = field(default_factory=dict)
    """Strategy -> logits of the eval rows from a fit that did not see them."""
    name_vectors: dict[str, np.ndarray] = field(default_factory=dict)
    """Vector space -> the label names' vectors in it (see :meth:`names`)."""

    @property
    def n_train(self) -> int:
        return len(self.train.texts)

    @property
    def texts(self) -> list[str]:
        return self.train.texts + self.held.texts

    @property
    def gold(self) -> np.ndarray:
        return np.array([self.spec.labels.index(label) for label in self.train.labels + self.held.labels])

    def spaces(self) -> dict[str, np.ndarray]:
        """Vector space -> vectors the linear heads may read (the model's own first)."""
        return {"model": self.vectors} | ({"topic": self.topic_vectors} if self.topic_vectors is not None else {})

    def names(self, space: str) -> np.ndarray:
        """Vectors of the label names (:func:`label_text`) in ``space``, embedded once; the linear heads
        use them where cross-validation favours them."""
        if space not in self.name_vectors:
            self.name_vectors[space] = self.model.embed([label_text(label) for label in self.spec.labels], space=space)
        return self.name_vectors[space]

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def _cv_pool(self) -> int | None:
        """Rows the linear heads are cross-validated over (None: they are scored on the eval rows)."""
        rows = len(self.texts)
        if rows < CV_BELOW or rows - self.n_train < HELD_PER_CLASS * len(self.spec.labels):
            return rows if self.refit_all else self.n_train
        return None

    def splits(self) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
        """Cross-validation folds over the rows the final head may be fitted on (all rows when they
        are refitted together, else the training rows), or the eval rows as one held-out split."""
        pool = self._cv_pool()
        if pool is not None:
            found = folds(self.gold[:pool], self.seed)
            return found, f"{len(found)}-fold cross-validation over {pool} rows"
        rows = len(self.texts)
        return [(np.arange(self.n_train), np.arange(self.n_train, rows))], f"{rows - self.n_train} held-out rows"

    def reshuffled(self) -> list[list[tuple[np.ndarray, np.ndarray]]]:
        """Further fold sets (other shuffles of the :meth:`splits` rows) on which the frozen head's C is
        also scored, when there are at most :data:`RESHUFFLE_UP_TO` rows to cross-validate."""
        pool = self._cv_pool()
        if pool is None or pool > RESHUFFLE_UP_TO:
            return []
        return [folds(self.gold[:pool], self.seed + r) for r in range(1, SHUFFLES)]


def _linear(search: Search, hybrid: bool) -> Candidate:
    name = "hybrid" if hybrid else "frozen"
    splits, scored_on = search.splits()
    n_labels, gold, texts = len(search.spec.labels), search.gold, search.texts
    spaces, reshuffled = search.spaces(), [] if hybrid else search.reshuffled()
    if hybrid:  # the frozen head ran first: it chose the vectors that suit these labels, and its C
        found = {search.fitted["frozen"].space: select_fusion(search.selections["frozen"], texts, gold, n_labels, splits=splits,
                                                              seed=search.seed, deadline=search.deadline)}
    else:
        found = {}
        for i, (space, vectors) in enumerate(spaces.items()):  # each space gets an equal share of the time left
            deadline = search.deadline - max(search.left(), 0.0) * (len(spaces) - i - 1) / (len(spaces) - i)
            found[space] = select_and_fit(vectors, texts, gold, n_labels, splits=splits, seed=search.seed, deadline=deadline,
                                          reshuffled=reshuffled, names=search.names(space))
    space = max(found, key=lambda s: found[s].score + (0.0 if s == "model" else -TOPIC_MARGIN))
    chosen, vectors = found[space], spaces[space]
    if not hybrid:
        search.selections[name] = chosen
    train, held = np.arange(search.n_train), np.arange(search.n_train, len(texts))
    rows = np.arange(len(texts)) if search.refit_all else train

    def fit_on(picked: np.ndarray) -> LinearFit:
        return chosen.fit(vectors[picked], [texts[i] for i in picked], gold[picked], n_labels, seed=search.seed, space=space)

    search.fitted[name] = fit_on(rows)
    held_logits = chosen.logits[held]
    if not search.refit_all:  # the installed head has not seen the eval rows
        held_logits = search.fitted[name].logits(vectors[held], search.held.texts)
    elif np.isnan(held_logits).any():  # the splits did not score every eval row
        held_logits = fit_on(train).logits(vectors[held], search.held.texts)
    search.held_logits[name] = np.asarray(held_logits, dtype=np.float32)
    settings: dict[str, Any] = {"C": chosen.c, "settings_tried": sum(f.tried for f in found.values()),
                                "held_out_score": round(macro_f1(gold[held], held_logits), 4), "vectors": space,
                                "label_names_weight": chosen.name_weight}
    if not hybrid and reshuffled:
        settings["C_chosen_over"] = f"{SHUFFLES} shuffles of the folds"
    if len(found) > 1:
        settings["score_by_vectors"] = {s: round(f.score, 4) for s, f in found.items()}
    if hybrid:
        settings.update(frozen_C=chosen.frozen_c, tfidf_weight=chosen.lexical_weight,
                        lexical_features=search.fitted[name].lexical.size)
    if search.refit_all:
        settings["fitted_on"] = f"all {len(rows)} rows"
    return Candidate(name, "scored", round(chosen.score, 4), scored_on, settings=settings)


def _adapted(search: Search, objective: str) -> Candidate:
    """LoRA (cross-entropy) or contrastive pairs on a copy of the base encoder that only the new head
    reads (the ``adapted`` space), if one pass and re-embedding fit in the time left."""
    import importlib.util

    if importlib.util.find_spec("peft") is None:
        return Candidate(objective, note="needs peft: pip install 'emotiq[train]'")
    model, spec = search.model, search.spec
    readers = [s.name for s in model.head_specs if s.space == "adapted" and s.name != spec.name]
    if readers:
        return Candidate(objective, note=f"the model's task adapter already serves {', '.join(readers)}; "
                                         "fine-tune from a model without one to adapt the encoder again")
    n, rate = search.n_train, search.embed_rate
    passes = 4 if objective == "contrastive" else 1  # two pairs of two texts per row
    per_epoch = TRAIN_COST * passes * n / rate
    needed = MIN_ADAPT_EPOCHS * per_epoch + len(search.texts) / rate
    if needed > search.left():
        return Candidate(objective, note=f"one pass would take ~{needed:.0f} s (training ~{per_epoch:.0f} s per epoch + "
                                         f"re-embedding), {max(search.left(), 0):.0f} s of the time budget left")
    student = fa.base_copy(model)
    train, held = np.arange(n), np.arange(n, len(search.texts))
    if objective == "lora":  # start from the frozen-encoder head on the base vectors
        if search.topic_vectors is not None:
            base = search.topic_vectors[train]
        elif model.base_model is model:  # the model's encoder is the base: its vectors are the base vectors
            base = search.vectors[train]
        else:
            base = student.embed(search.train.texts)
        LinearFit.fit(base, search.train.texts, search.gold[train], len(spec.labels), hybrid=False, c=FROZEN_C,
                      seed=search.seed).install(student, student.heads[spec.name].spec)
    run = fa.adapt(student, spec, objective, search.train.texts, search.train.labels, seconds=search.left() - 1.5 * len(search.texts) / rate,
                   epochs=search.epochs, seed=search.seed, weights=search.weights)
    factors = fa.merge(student)
    vectors = student.embed(search.texts)
    if objective == "contrastive":
        fitted = LinearFit.fit(vectors[train], search.train.texts, search.gold[train], len(spec.labels), hybrid=False, c=FROZEN_C,
                               seed=search.seed, space="adapted")
        logits = fitted.logits(vectors[held], search.held.texts)
    else:
        student.heads.eval()
        with torch.inference_mode():
            joint = student.heads[spec.name](torch.from_numpy(np.asarray(vectors[held], dtype=np.float32))).float().numpy()
        names = student.embed([label_text(label) for label in spec.labels])
        fitted, logits, head = _head_on_adapted(search, vectors, joint, names)
    search.held_logits[objective] = np.asarray(logits, dtype=np.float32)
    search.fitted[objective] = {"student": student, "factors": factors, "linear": fitted,
                                "head": {k: v.clone() for k, v in student.heads[spec.name].state_dict().items()}}
    return Candidate(objective, "scored", round(macro_f1(search.gold[held], logits), 4), f"{len(held)} held-out rows",
                     settings={"rank": fa.RANK, "alpha": fa.ALPHA, "epochs": run.epochs, "steps": run.steps, "vectors": "adapted",
                               **(head if objective == "lora" else {}), **_held_out(len(held), len(spec.labels))},
                     note=run.note)


def _head_on_adapted(search: Search, vectors: np.ndarray, joint: np.ndarray, names: np.ndarray | None = None
                     ) -> tuple[LinearFit | None, np.ndarray, dict[str, Any]]:
    """The head trained with the LoRA factors, or a linear head on the adapted vectors if one scores higher on
    the held-out rows (its C, and whether it learns from the label names' adapted vectors ``names`` too, chosen
    there; fitted on the training rows, then again on all rows when they are refitted together): the head
    trained along with the encoder has seen the training rows' vectors only while they moved, and a linear
    head fitted once they are fixed often separates the classes better.

    Returns the linear head to install (None: keep the trained one), the held-out logits it is scored by,
    and what was chosen for the candidate's settings."""
    n, texts, gold, n_labels = search.n_train, search.texts, search.gold, len(search.spec.labels)
    train, held = np.arange(n), np.arange(n, len(texts))
    joint_score = macro_f1(gold[held], joint)
    chosen = select_and_fit(vectors, texts, gold, n_labels, splits=[(train, held)], seed=search.seed, deadline=search.deadline,
                            names=names)
    scores = {"trained_head_held_out_score": round(joint_score, 4), "linear_head_held_out_score": round(chosen.score, 4)}
    if chosen.score <= joint_score:
        return None, joint, {"head": "trained with the encoder", **scores}
    rows = np.arange(len(texts)) if search.refit_all else train
    fitted = chosen.fit(vectors[rows], [texts[i] for i in rows], gold[rows], n_labels, seed=search.seed, space="adapted")
    return fitted, chosen.logits[held], {"head": f"linear on the adapted vectors (C={chosen.c:g})", **scores,
                                         "label_names_weight": chosen.name_weight,
                                         **({"fitted_on": f"all {len(rows)} rows"} if search.refit_all else {})}


def _blend(search: Search) -> Candidate:
    """The adapted head and the best linear head in one: their eval-row logits, each scaled to the same spread, averaged
    (:data:`BLEND_SHARE`)."""
    adapted = next((c for c in search.candidates if c.strategy not in LINEAR and c.status == "scored"), None)
    linear = [c for c in search.candidates if c.strategy in LINEAR and c.status == "scored"]
    if adapted is None or not linear:
        return Candidate("blend", note="needs a scored lora or contrastive candidate")
    partner = max(linear, key=lambda c: c.score or 0.0)
    held = np.arange(search.n_train, len(search.texts))
    parts = [search.held_logits[adapted.strategy], search.held_logits[partner.strategy]]
    # each head's logits brought to the same spread first (no labels used), so the more confident one does not decide alone
    shares = [(1.0 - BLEND_SHARE) / _spread(parts[0]), BLEND_SHARE / _spread(parts[1])]
    logits = shares[0] * parts[0] + shares[1] * parts[1]
    search.held_logits["blend"] = logits
    search.fitted["blend"] = (adapted.strategy, partner.strategy, shares)
    return Candidate("blend", "scored", round(macro_f1(search.gold[held], logits), 4), adapted.scored_on,
                     settings={"of": [adapted.strategy, partner.strategy], "linear_share": BLEND_SHARE,
                               "logit_scales": [round(x, 4) for x in shares],
                               "vectors": f"adapted + {partner.settings['vectors']}",
                               **_held_out(len(held), len(search.spec.labels))})


def _held_out(rows: int, labels: int) -> dict[str, float]:
    return {"held_out_rows": rows, "held_out_per_class": round(rows / max(labels, 1), 2)}


def _spread(logits: np.ndarray) -> float:
    """Standard deviation of each row's logits around the row mean (what softmax sees), over the rows."""
    return max(float((logits - logits.mean(axis=1, keepdims=True)).std()), 1e-6)


def probabilities(model: EmotiqModel, vectors: np.ndarray, heads: list[str]) -> dict[str, np.ndarray]:
    """Probabilities of ``heads`` (encoder part only) for cached vectors."""
    return head_probabilities(model, torch.from_numpy(np.asarray(vectors, dtype=np.float32)), heads)


CANDIDATES: dict[str, Callable[[Search], Candidate]] = {
    "frozen": lambda search: _linear(search, hybrid=False),
    "hybrid": lambda search: _linear(search, hybrid=True),
    "lora": lambda search: _adapted(search, "lora"),
    "contrastive": lambda search: _adapted(search, "contrastive"),
    "blend": _blend,
}
"""Candidate name -> how it is fitted and scored."""


def check_strategy(strategy: str) -> None:
    if strategy != "auto" and strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {strategy!r}; choose auto, {', '.join(STRATEGIES)}")


def plan(strategy: str, train: LabelledRows) -> list[str]:
    """The candidates to try: ``auto`` tries frozen, hybrid, then contrastive (few-shot) or LoRA, and their blend.
    Any other strategy runs after ``frozen`` (the hybrid head adds its TF-IDF model to the frozen head, on the
    vectors that head chose; the adapted ones fall back to it), except ``frozen`` itself."""
    check_strategy(strategy)
    if strategy != "auto":
        return [strategy] if strategy == "frozen" else ["frozen", strategy]
    per_class = float(np.median(list(Counter(train.labels).values())))
    return ["frozen", "hybrid", "contrastive" if per_class <= FEW_SHOT else "lora", "blend"]


def run_search(search: Search, strategy: str) -> Candidate:
    """Try the planned strategies, install the best in the model and return it (marked ``chosen``)."""
    names = plan(strategy, search.train)
    for name in tqdm(names, desc="fine-tuning strategies", unit="strategy", disable=None):
        start = time.perf_counter()
        candidate = CANDIDATES[name](search)  # the linear heads always run (seconds); adaptation checks the budget itself
        candidate.seconds = round(time.perf_counter() - start, 1)
        logger.info("Strategy %s: %s%s", name, candidate.status,
                    f", macro-F1 {candidate.score:.4f} on {candidate.scored_on}" if candidate.score is not None else f" ({candidate.note})")
        search.candidates.append(candidate)
    _mark_unjudged(search.candidates)
    add_margins(search.candidates, search.held_logits, search.gold[search.n_train:], search.seed)
    best = _best(search.candidates, strategy)
    best.status = "chosen"
    _install(search, best.strategy)
    return best


def _mark_unjudged(candidates: list[Candidate]) -> None:
    """Note on the encoder-adapting candidates scored on too few held-out rows that they may not win."""
    for c in candidates:
        if c.strategy not in LINEAR and c.status == "scored" and (why := _too_few_held(c)):
            c.note = "; ".join(filter(None, [c.note, f"not chosen: {why} to judge it on"]))


def _too_few_held(c: Candidate) -> str:
    """Why the held-out rows are too few for ``c`` to win (empty: enough)."""
    rows, per_class = c.settings.get("held_out_rows", 0), c.settings.get("held_out_per_class", float("inf"))
    if rows < MIN_HELD_TO_ADAPT:
        return f"fewer than {MIN_HELD_TO_ADAPT} held-out rows"
    if per_class < MIN_HELD_PER_CLASS_TO_ADAPT:
        return f"{per_class:g} held-out rows per class, fewer than {MIN_HELD_PER_CLASS_TO_ADAPT:g}"
    return ""


def add_margins(candidates: list[Candidate], held_logits: dict[str, np.ndarray], gold: np.ndarray, seed: int) -> None:
    """Each scored adapted candidate's held-out macro-F1 margin over the best linear head on the same
    rows (``gold``), and that margin's bootstrap standard error (``margin``, ``margin_se`` in its settings)."""
    linear = [c for c in candidates if c.strategy in LINEAR and c.status == "scored"]
    if not linear:
        return
    partner = max(linear, key=lambda c: c.score or 0.0)
    for c in candidates:
        if c.strategy not in LINEAR and c.status == "scored" and c.strategy in held_logits:
            margin, se = paired_margin(gold, held_logits[c.strategy], held_logits[partner.strategy], seed)
            c.settings.update(margin=round(margin, 4), margin_se=round(se, 4), margin_over=partner.strategy)


def paired_margin(gold: np.ndarray, ours: np.ndarray, theirs: np.ndarray, seed: int,
                  draws: int = BOOTSTRAP_DRAWS) -> tuple[float, float]:
    """Macro-F1 of ``ours`` minus that of ``theirs`` (logits or probabilities of the same rows), and the
    standard deviation of that difference over ``draws`` bootstrap resamples of the rows."""
    mine, other = ours.argmax(1), theirs.argmax(1)
    n_labels = max(ours.shape[1], int(gold.max()) + 1)
    margin = _macro_f1(gold, mine, n_labels) - _macro_f1(gold, other, n_labels)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(gold), size=(draws, len(gold)))
    diffs = [_macro_f1(gold[r], mine[r], n_labels) - _macro_f1(gold[r], other[r], n_labels) for r in rows]
    return float(margin), float(np.std(diffs))


def _macro_f1(gold: np.ndarray, pred: np.ndarray, n_labels: int) -> float:
    """Macro-F1 over the classes present in ``gold`` (as :func:`macro_f1`), from label counts."""
    return float(f1_per_class(gold, pred, n_labels)[np.unique(gold)].mean())


def _best(candidates: list[Candidate], strategy: str) -> Candidate:
    scored = [c for c in candidates if c.status == "scored"]
    if strategy != "auto":
        wanted = [c for c in scored if c.strategy == strategy]
        if wanted:
            return wanted[0]
        logger.warning("Strategy %s was not kept (%s); using the frozen-encoder head",
                       strategy, next(c.note for c in candidates if c.strategy == strategy))
        return next(c for c in candidates if c.strategy == "frozen")
    best = max((c for c in scored if c.strategy in LINEAR), key=lambda c: c.score or 0.0)
    adapted = [c for c in scored if c.strategy not in LINEAR and not _too_few_held(c)]
    # the adapted candidates are scored on the held-out rows: they must beat the best linear one there too
    return max([best, *(c for c in adapted if (c.score or 0.0) > best.settings.get("held_out_score", best.score or 0.0))],
               key=lambda c: c.score or 0.0)


def refitted_on_all_rows(search: Search, name: str) -> bool:
    """Whether the installed head ``name``, or its linear part, was fitted again on the eval rows too."""
    if not search.refit_all:
        return False
    if name == "lora":
        return search.fitted[name]["linear"] is not None
    return name in LINEAR or name == "blend"


def _install(search: Search, name: str) -> None:
    model, spec = search.model, search.spec
    if name in LINEAR:
        search.fitted[name].install(model, spec)
        return
    if name == "blend":
        adapted, partner, shares = search.fitted[name]
        _install(search, adapted)
        search.fitted[partner].install_companion(model, spec, shares[1], own_share=shares[0])
        return
    fitted = search.fitted[name]
    model.set_task_adapter(fitted["factors"], {"type": "lora", "rank": fa.RANK, "alpha": fa.ALPHA}, adapted=fitted["student"])
    if fitted["linear"] is not None:
        fitted["linear"].install(model, spec)
    else:
        model.heads[spec.name].load_state_dict(fitted["head"])
        spec.extra["space"] = "adapted"
        model.lexical.pop(spec.name, None)
        spec.extra.pop("lexical", None)


def record(candidates: list[Candidate]) -> list[dict[str, Any]]:
    return [asdict(c) for c in candidates]
