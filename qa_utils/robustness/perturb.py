"""Perturbations that keep the gold answer valid: typos, paraphrases, distracting sentences.

Every perturbation maps a SQuAD Dataset to a Dataset with the same schema (id, title,
context, question, answers{text, answer_start}) and the same ids, so a model's scores on the
clean and the perturbed set can be compared question by question:

- `add_typos`: character noise in the question (swap, drop, double, keyboard neighbour),
  never in a word's first letter nor in words shorter than four letters, so it stays readable.
- `rewrite_questions`: rule-based paraphrases of the wh-phrase ("What is X?" -> "Tell me
  what X is?", "How many" -> "What number of", ...) and contractions ("did not" -> "didn't").
- `add_distractors`: an AddOneSent-style sentence (Jia & Liang 2017) built from the question:
  its numbers, months and capitalised names are swapped for others of the same kind, its
  wh-phrase is replaced by a fake answer of the gold answer's type, and the sentence is
  inserted at the end of the context or at a random sentence boundary outside every gold
  answer; gold offsets are shifted and checked.

Questions are perturbed with a generator seeded by (seed, question id), so a question gets the
same typos whatever subset it is drawn in; distractors also draw their swapped names and fake
answers from the other articles of the dataset at hand.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from datasets import Dataset

from qa_utils.analysis.answer_types import rule_answer_type
from qa_utils.analysis.slicing import STOPWORDS, sentence_spans
from qa_utils.core.metrics import normalize_answer

if TYPE_CHECKING:
    pass


Perturbation = Callable[[Dataset], Dataset]


def example_rng(seed: int, key: str) -> np.random.Generator:
    """A generator seeded by (seed, key): the same draws for a question in any subset."""
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def map_questions(examples: Dataset, perturb: Callable[[str, str], str]) -> Dataset:
    """Apply `perturb(question, id)` to every question, keeping schema and everything else."""
    columns = examples.to_dict()
    columns["question"] = [
        perturb(q, i) for q, i in zip(columns["question"], columns["id"], strict=True)
    ]
    return Dataset.from_dict(columns, features=examples.features)


KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")

TYPO_OPERATIONS = ("swap", "drop", "double", "neighbour")

EDITABLE_WORD_RE = re.compile(r"[A-Za-z]{4,}")


def keyboard_neighbours() -> dict[str, str]:
    """Letters next to each letter on a QWERTY keyboard (same row and the rows around it)."""
    neighbours: dict[str, str] = {}
    for r, row in enumerate(KEYBOARD_ROWS):
        for c, letter in enumerate(row):
            near = row[max(c - 1, 0) : c] + row[c + 1 : c + 2]
            for other in KEYBOARD_ROWS[max(r - 1, 0) : r] + KEYBOARD_ROWS[r + 1 : r + 2]:
                near += other[c : c + 1]
            neighbours[letter] = near
    return neighbours


NEIGHBOURS = keyboard_neighbours()


def typo_positions(text: str) -> np.ndarray:
    """Offsets that may be edited: letters of words of 4+ letters, except each first letter."""
    spans = [range(m.start() + 1, m.end()) for m in EDITABLE_WORD_RE.finditer(text)]
    return np.array([i for span in spans for i in span], dtype=np.int64)


def add_typo_noise(text: str, rate: float, rng: np.random.Generator) -> str:
    """Edit each editable letter with probability `rate` (see `typo_positions`).

    >>> add_typo_noise("When was the stone breakwater added?", 0.1, example_rng(0, "q2"))
    'Web was the stone breakwaterr added?'
    """
    if not 0 <= rate <= 1:
        raise ValueError(f"typo rate must be between 0 and 1, got {rate}")
    positions = typo_positions(text)
    chosen = positions[rng.random(len(positions)) < rate]
    operations, picks = rng.integers(0, len(TYPO_OPERATIONS), len(chosen)), rng.random(len(chosen))
    chars = list(text)
    for pos, op, pick in sorted(zip(chosen, operations, picks, strict=True), reverse=True):
        name = TYPO_OPERATIONS[op]
        if name == "swap" and pos + 1 < len(chars) and chars[pos + 1].isalpha():
            chars[pos], chars[pos + 1] = chars[pos + 1], chars[pos]
        elif name == "drop":
            del chars[pos]
        elif name == "double":
            chars.insert(pos, chars[pos])
        else:
            near = NEIGHBOURS.get(chars[pos].lower(), chars[pos].lower())
            letter = near[int(pick * len(near))]
            chars[pos] = letter.upper() if chars[pos].isupper() else letter
    return "".join(chars)


def add_typos(examples: Dataset, rate: float = 0.05, seed: int = 0) -> Dataset:
    """Add character noise to every question (`add_typo_noise`), seeded per question id."""
    return map_questions(examples, lambda q, i: add_typo_noise(q, rate, example_rng(seed, i)))


_DET = r"(?:the|a|an|his|her|its|their|this|that)"

_AUX = r"(?:did|does|do|was|were|is|are|has|have|had|can|could|will|would)"

_NOUNS = (
    r"(?:year|century|decade|month|day|type|kind|sort|country|city|company|language|"
    r"percentage|state|part|group|team|name|color|colour|event|organization|body)"
)

WH_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement)
    for pattern, replacement in (
        (rf"^what (is|was|are|were) ({_DET} [^?]+?)\s*\?*\s*$", r"Tell me what \2 \1?"),
        (r"^in what\b", "In which"),
        (rf"^what ({_NOUNS}s?)\b", r"Which \1"),
        (r"^how many\b", "What number of"),
        (rf"^when ({_AUX})\b", r"At what point \1"),
        (rf"^where ({_AUX})\b", r"In what place \1"),
        (r"^who (\w+)", r"Which person \1"),
        (r"^why\b", "For what reason"),
        (r"^which\b", "What"),
    )
)
"""Paraphrases of the leading wh-phrase; only the first one that matches is applied."""

CONTRACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\bdid not\b", "didn't"),
        (r"\bdoes not\b", "doesn't"),
        (r"\bdo not\b", "don't"),
        (r"\bis not\b", "isn't"),
        (r"\bwas not\b", "wasn't"),
        (r"\bare not\b", "aren't"),
        (r"\bwere not\b", "weren't"),
        (r"\bcan ?not\b", "can't"),
        (r"^What is\b", "What's"),
        (r"^Who is\b", "Who's"),
        (r"^Where is\b", "Where's"),
    )
)


def rewrite_question(question: str) -> str:
    """Paraphrase a question by rule: one wh-phrase rewrite, then contractions.

    >>> rewrite_question("What is the capital of France?")
    'Tell me what the capital of France is?'
    >>> rewrite_question("How many boats did not finish?")
    "What number of boats didn't finish?"
    >>> rewrite_question("Name the lifeboat.")
    'Name the lifeboat.'
    """
    text = question.strip()
    for pattern, replacement in WH_REWRITES:
        text, count = pattern.subn(replacement, text, count=1)
        if count:
            break
    for pattern, replacement in CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text if text != question.strip() else question


def rewrite_questions(examples: Dataset) -> Dataset:
    """Apply `rewrite_question` to every question (questions no rule matches stay as they are)."""
    return map_questions(examples, lambda q, _: rewrite_question(q))


MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

MONTH_RE = re.compile(r"\b(?:" + "|".join(MONTHS) + r")\b")

NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")

NAME_RE = re.compile(
    r"(?<![\w'])[A-Z][\w'-]*(?:\s+(?:(?:of|the|de|du|la|von|van|and|for)\s+)?[A-Z][\w'-]*)*"
)

CONTENT_WORD_RE = re.compile(r"\b[a-z]{4,}\b")


def word_set(words: str) -> frozenset[str]:
    """The space-separated words of `words` as a set (keeps long word lists readable)."""
    return frozenset(words.split())


PREPOSITIONS = word_set(
    "in on at during by from to for of with since until after before under into through "
    "about against between among over within without near throughout across along around "
    "inside outside beyond behind toward towards upon via per onto beneath below above"
)

DETERMINERS = word_set("the a an his her its their this that these those some any each every")

PRONOUNS = word_set("i you he she it we they")

RELATIVES = word_set("that which who whom whose where when while because")

ADVERBS = word_set("first last also still later once ever never not often already just again")

BE_HAVE = word_set("is are was were has have had")

AUXILIARIES = BE_HAVE | word_set("did does do can could will would should may might")

IRREGULAR_PARTICIPLES = word_set(
    "been born built made known held found won led sold set put begun become done thought "
    "brought bought sent spent paid lost kept left meant run cut told said taken given written "
    "chosen shown grown drawn seen hidden eaten fallen spoken stolen broken driven risen beaten "
    "struck taught caught fought sought worn understood stood met fed read heard laid felt "
    "hung shot shut spread split"
)

TIME_NOUNS = word_set("year years century decade month day date time period era")

WH_RE = re.compile(
    r"\b(?:(?P<prep>" + "|".join(sorted(PREPOSITIONS)) + r")\s+)?"
    r"(?P<wh>(?:what|which)\s+(?:year|century|decade|month|day|date|time|period|era)s?"
    r"|how\s+(?:many|much|long|old|far|large|big|often)"
    r"|when|where|why|whom|whose|who|what|which|how)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DistractorPools:
    """What fake answers and swapped names are drawn from: (title, text) pairs of a dataset."""

    names: list[tuple[str, str]]
    words: list[tuple[str, str]]
    answers: dict[str, list[tuple[str, str]]]


def distractor_pools(examples: Dataset) -> DistractorPools:
    """Collect names and content words of the questions and gold answers by answer type."""
    names, words, answers = [], [], {}
    for title, question, gold in zip(
        examples["title"], examples["question"], examples["answers"], strict=True
    ):
        names += [(title, m.group()) for m in NAME_RE.finditer(question) if m.start() > 0]
        words += [(title, w) for w in CONTENT_WORD_RE.findall(question) if w not in STOPWORDS]
        for text in dict.fromkeys(gold["text"]):
            answers.setdefault(rule_answer_type(text), []).append((title, text))
    return DistractorPools(names, words, answers)


def pick_other(
    pool: Sequence[tuple[str, str]], title: str, avoid: set[str], rng: np.random.Generator
) -> str | None:
    """A random text of the pool from another article whose normalised form is not in `avoid`."""
    if not pool:
        return None
    for index in rng.integers(0, len(pool), 20):
        other_title, text = pool[index]
        if other_title != title and normalize_answer(text) not in avoid:
            return text
    return None


def mutate_numbers(text: str, rng: np.random.Generator) -> str:
    """Change the second half of the digits of every number (1874 -> 18xx, 50 -> 5x).

    >>> mutate_numbers("in 1874, 3.5 million", np.random.default_rng(0))
    'in 1886, 3.8 million'
    """

    def change(match: re.Match[str]) -> str:
        chars = list(match.group())
        digits = [i for i, c in enumerate(chars) if c.isdigit()]
        tail = digits[len(digits) - max(1, len(digits) // 2) :]
        for i in tail:
            chars[i] = str(rng.integers(10))
        if "".join(chars) == match.group():
            chars[tail[-1]] = str((int(chars[tail[-1]]) + 1 + rng.integers(9)) % 10)
        return "".join(chars)

    return NUMBER_RE.sub(change, text)


def swap_months(text: str, rng: np.random.Generator) -> str:
    """Replace every month name by another month."""
    return MONTH_RE.sub(
        lambda m: MONTHS[(MONTHS.index(m.group()) + rng.integers(1, 12)) % 12], text
    )


def swap_names(text: str, title: str, pools: DistractorPools, rng: np.random.Generator) -> str:
    """Replace capitalised names (not the first word) by names from other articles."""

    def swap(match: re.Match[str]) -> str:
        if match.start() == 0:
            return match.group()
        avoid = {normalize_answer(match.group())}
        return pick_other(pools.names, title, avoid, rng) or match.group()

    return NAME_RE.sub(swap, text)


def mutate_question(
    question: str, title: str, pools: DistractorPools, rng: np.random.Generator
) -> str:
    """Swap numbers, months and names so that a sentence built from it no longer answers it.

    Questions with none of those get their last content word swapped for one from another
    article (AddSent used WordNet antonyms; this keeps us free of a lexical database).
    """
    text = swap_names(swap_months(mutate_numbers(question, rng), rng), title, pools, rng)
    if text != question:
        return text
    content = [m for m in CONTENT_WORD_RE.finditer(question) if m.group() not in STOPWORDS]
    if not content:
        return question
    last = content[-1]
    word = pick_other(pools.words, title, {last.group()}, rng) or last.group()
    return question[: last.start()] + word + question[last.end() :]


def fake_answer(
    golds: Sequence[str], title: str, pools: DistractorPools, rng: np.random.Generator
) -> str:
    """A wrong answer of the first gold answer's type: numbers and months changed, else
    another article's gold answer of the same type (`rule_answer_type`)."""
    gold, avoid = golds[0], {normalize_answer(g) for g in golds}
    if NUMBER_RE.search(gold) or MONTH_RE.search(gold):
        return swap_months(mutate_numbers(gold, rng), rng)
    found = pick_other(pools.answers.get(rule_answer_type(gold), []), title, avoid, rng)
    if found is None:  # no answer of that type elsewhere: any type will do
        any_type = [pair for pairs in pools.answers.values() for pair in pairs]
        found = pick_other(any_type, title, avoid, rng)
    return found or "something else"


def answer_phrase(prep: str | None, wh: str, fake: str) -> str:
    """What replaces the wh-phrase: the fake answer, with a preposition where one is needed."""
    first = fake.split()[0].lower() if fake.split() else ""
    if prep:
        return f"{prep.lower()} {fake}"
    if first in PREPOSITIONS or first in {"because", "so", "since"}:
        return fake
    words = wh.lower().split()
    if words[0] in {"when", "where"} or (words[0] in {"what", "which"} and words[-1] in TIME_NOUNS):
        return f"in {fake}"
    return f"because of {fake}" if words[0] == "why" else fake


def is_participle(word: str) -> bool:
    """A guess, from spelling alone, that a lower-case word is a participle (added, born)."""
    regular = len(word) > 4 and word.endswith("ed") and not word.endswith("eed")
    return word.islower() and (regular or word in IRREGULAR_PARTICIPLES)


def is_adverb(word: str) -> bool:
    """A guess that a word is an adverb that sits between an auxiliary and its verb."""
    return word.islower() and (word in ADVERBS or (len(word) > 4 and word.endswith("ly")))


def subject_length(rest: Sequence[str]) -> int:
    """Guess how many leading words of an inverted clause are its subject (at least one).

    A pronoun; else a run of capitalised words or numbers; else the words before the last
    one ahead of the first later preposition or determiner ("the ferry | run in winter").
    """
    if rest[0].lower() in PRONOUNS:
        return 1
    if rest[0][:1].isupper():
        names = (i for i, w in enumerate(rest) if not (w[:1].isupper() or w[:1].isdigit()))
        return next(names, len(rest))
    stops = (i for i, w in enumerate(rest) if i > 1 and w.lower() in PREPOSITIONS | DETERMINERS)
    return max(next(stops, len(rest)) - 1, 1)


def uninvert(aux: str, rest: Sequence[str]) -> list[str]:
    """Put an inverted auxiliary back after its subject, guessed without a parser.

    After be/have it goes before a participle that comes ahead of any preposition or
    relative word ("was the wall added" -> "the wall was added"), else after everything
    (a copula: "is the capital of X" -> "the capital of X is"). After do and modals it goes
    after the guessed subject (`subject_length`): "did the ferry run" -> "the ferry did run".
    """
    if not rest:
        return [aux]
    if aux.lower() in BE_HAVE:
        stops = (i for i, w in enumerate(rest) if w.lower() in PREPOSITIONS | RELATIVES)
        head = rest[: next(stops, len(rest))]
        index = next((i for i, w in enumerate(head) if i > 0 and is_participle(w)), len(rest))
        while index < len(rest) and index > 1 and is_adverb(rest[index - 1]):
            index -= 1  # "was the regatta first held" -> "the regatta was first held"
    else:
        index = subject_length(rest)
    return [*rest[:index], aux.lower(), *rest[index:]]


def declarative(question: str, fake: str) -> str:
    """Turn a (mutated) question into a statement whose answer slot holds `fake`.

    >>> declarative("When was the stone breakwater added?", "1843")
    'The stone breakwater was added in 1843.'
    >>> declarative("Who started the Lantern Regatta?", "Jon Snow")
    'Jon Snow started the Lantern Regatta.'
    >>> declarative("The regatta began in what year?", "1950")
    'The regatta began in 1950.'
    >>> declarative("What boats did the harbour master build?", "skiffs")
    'The harbour master did build skiffs.'
    """
    text = question.strip().rstrip("?.! ").strip()
    match = WH_RE.search(text)
    if match is None:
        return finish_sentence(f"{text} {fake}")
    phrase = answer_phrase(match["prep"], match["wh"], fake)
    before, after = text[: match.start()].strip(), text[match.end() :].split()
    if not before and match["wh"].lower() in {"what", "which", "whose", "how many", "how much"}:
        # "What soap operas did ABC cancel": the noun belongs to the wh-phrase
        aux_at = next((i for i, w in enumerate(after[:4]) if w.lower() in AUXILIARIES), 0)
        after = after[aux_at:]
    if not before and after and after[0].lower() in AUXILIARIES:
        return finish_sentence(" ".join([*uninvert(after[0], after[1:]), phrase]))
    return finish_sentence(" ".join(part for part in (before, phrase, *after) if part))


def finish_sentence(text: str) -> str:
    """Collapse spaces, capitalise the first letter and end with a full stop."""
    text = " ".join(text.split()).rstrip(" ,;:")
    return text[:1].upper() + text[1:] + "."


def insertion_points(context: str, starts: Sequence[int], texts: Sequence[str]) -> list[int]:
    """Sentence starts and the end of the context that are not strictly inside a gold answer."""
    spans = [(s, s + len(t)) for s, t in zip(starts, texts, strict=True)]
    points = [start for start, _ in sentence_spans(context)] + [len(context)]
    return [p for p in dict.fromkeys(points) if not any(a < p < b for a, b in spans)]


def insert_sentence(
    context: str, answers: dict[str, list], sentence: str, at: int, example_id: str = ""
) -> tuple[str, dict[str, list]]:
    """Insert `sentence` at offset `at` (a sentence start, or the end) and shift gold offsets.

    Raises:
        ValueError: a gold answer that matched its offset before no longer does after.
    """
    piece = f" {sentence}" if at >= len(context) else f"{sentence} "
    new_context = context[:at] + piece + context[at:]
    starts = [s + len(piece) if s >= at else s for s in answers["answer_start"]]
    for old, new, text in zip(answers["answer_start"], starts, answers["text"], strict=True):
        if context[old : old + len(text)] == text and new_context[new : new + len(text)] != text:
            raise ValueError(
                f"question {example_id}: gold answer {text!r} is no longer at offset {new} "
                f"after inserting a distractor at {at}"
            )
    return new_context, {"text": list(answers["text"]), "answer_start": starts}


def distractor_sentence(
    question: str,
    golds: Sequence[str],
    title: str,
    pools: DistractorPools,
    rng: np.random.Generator,
) -> str | None:
    """The AddOneSent sentence for a question, or None when the question cannot be mutated."""
    mutated = mutate_question(question, title, pools, rng)
    if mutated == question:
        return None
    return declarative(mutated, fake_answer(golds, title, pools, rng))


def add_distractors(examples: Dataset, seed: int = 0, position: str = "end") -> Dataset:
    """Insert an AddOneSent-style distractor into every context (see the module docstring).

    Args:
        examples: SQuAD examples.
        seed: Seed of the per-question generators.
        position: "end" (after the last sentence) or "random" (a random sentence boundary
            that is not inside a gold answer).
    """
    if position not in ("end", "random"):
        raise ValueError(f"position must be 'end' or 'random', got {position!r}")
    pools, columns = distractor_pools(examples), examples.to_dict()
    for i, example_id in enumerate(columns["id"]):
        rng, answers = example_rng(seed, example_id), columns["answers"][i]
        context, title = columns["context"][i], columns["title"][i]
        sentence = distractor_sentence(columns["question"][i], answers["text"], title, pools, rng)
        if sentence is None:
            continue
        points = insertion_points(context, answers["answer_start"], answers["text"])
        at = len(context) if position == "end" else int(rng.choice(points))
        columns["context"][i], columns["answers"][i] = insert_sentence(
            context, answers, sentence, at, example_id
        )
    return Dataset.from_dict(columns, features=examples.features)


def perturbations(seed: int = 0, typo_rate: float = 0.05) -> dict[str, Perturbation]:
    """The standard probes, by name: typos, rewrites, distractor at the end / at random."""
    return {
        "typos": partial(add_typos, rate=typo_rate, seed=seed),
        "rewrites": rewrite_questions,
        "distractor (end)": partial(add_distractors, seed=seed, position="end"),
        "distractor (random)": partial(add_distractors, seed=seed, position="random"),
    }
