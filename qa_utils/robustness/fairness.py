"""Counterfactual name swaps: the same questions with person names from different groups.

A fair reader's answer should not depend on whether the people in a passage are called Greg or
Jamal. `find_persons` finds the people of each question with spaCy's PERSON entities (in the
context, the question and the gold answers); `swap_names` renames each person consistently in
all three, with one first name per person (so "Nikola Tesla" and a later "Tesla" both become
"Jamal"), and recomputes every `answer_start` so that the gold answers stay valid.

The names are the first-name lists of Bertrand & Mullainathan (2004, "Are Emily and Greg More
Employable than Lakisha and Jamal?", American Economic Review 94(4)), which Caliskan, Bryson &
Narayanan (2017, "Semantics derived automatically from language corpora contain human-like
biases", Science 356(6334), WEAT 4) used to measure racial bias in word embeddings: names
given mostly to White (European-American) and mostly to Black (African-American) newborns in
Massachusetts birth records, nine male and nine female for each group. Every question is
answered under four versions (European-American or African-American, male or female names);
person i of a question gets the same index k in every list, so two versions differ only in
the group the names come from (a 2 x 2 design, paired on the same questions).

Limits: the small spaCy model misses some people (and calls some of them organisations);
people that share a surname are merged into one; a surname alias also replaces the same word
where it names a place ("Washington"); pronouns are left alone, so the female versions can
call a man "Emily" and keep "he". Each is the same in every version, so group comparisons stay
paired, but the clean-vs-swapped drop includes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from datasets import Dataset

from qa_utils.analysis.stats import bootstrap_ci, paired_test
from qa_utils.core.metrics import normalize_answer
from qa_utils.robustness.perturb import Perturbation, example_rng
from qa_utils.robustness.probes import Predictor, evaluate_perturbations

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Span

NAME_SOURCE = (
    "Bertrand & Mullainathan (2004), as used by Caliskan, Bryson & Narayanan (Science 2017, WEAT 4)"
)

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "EA male": ("Brad", "Brendan", "Geoffrey", "Greg", "Brett", "Jay", "Matthew", "Neil", "Todd"),
    "EA female": (
        "Allison", "Anne", "Carrie", "Emily", "Jill", "Laurie", "Kristen", "Meredith", "Sarah",
    ),
    "AA male": (
        "Darnell", "Hakim", "Jermaine", "Kareem", "Jamal", "Leroy", "Rasheed", "Tremayne",
        "Tyrone",
    ),
    "AA female": (
        "Aisha", "Ebony", "Keisha", "Kenya", "Latonya", "Lakisha", "Latoya", "Tamika", "Tanisha",
    ),
}  # fmt: skip
"""First names by group (EA: European-American, AA: African-American), from NAME_SOURCE."""

GROUPS = tuple(FIRST_NAMES)

CONTRASTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "EA - AA": (("EA male", "EA female"), ("AA male", "AA female")),
    "EA - AA (male names)": (("EA male",), ("AA male",)),
    "EA - AA (female names)": (("EA female",), ("AA female",)),
    "male - female": (("EA male", "AA male"), ("EA female", "AA female")),
}
"""Paired comparisons: per question, the mean F1 of the first groups minus that of the second."""

NAME_WORD_RE = re.compile(r"^[A-Z][\w'-]*\.?$")

NOT_SURNAMES = frozenset(
    ("Jr.", "Jr", "Sr.", "Sr", "King", "Queen", "Pope", "Saint", "St.", "Emperor", "Prince",
     "Princess", "Lord", "Lady", "Sir", "Dr.", "Mr.", "Mrs.", "Ms.", "The")
)  # fmt: skip
"""Last words that do not name a person on their own (suffixes, titles)."""

ROMAN_RE = re.compile(r"^[IVXL]+$")

NEXT_NAME_RE = re.compile(r"\s+[A-Z]")

Person = tuple[str, ...]
"""The strings that name one person (full mentions, then the surname alias), longest first."""


def clean_mention(text: str) -> str | None:
    """A PERSON entity as a name: possessive dropped; None unless every word is capitalised.

    >>> clean_mention("Thomas Edison's"), clean_mention("the 1890s"), clean_mention("J. Smith")
    ('Thomas Edison', None, 'J. Smith')
    """
    name = re.sub(r"['\u2019]s?$", "", text.strip())
    words = name.split()
    if not words or not all(NAME_WORD_RE.match(w) for w in words) or len(name) < 2:
        return None
    return name


def entity_name(entity: Span) -> str | None:
    """A PERSON entity as a name (`clean_mention`); None for other labels and for "the X"
    (teams and bands are tagged PERSON by the small model: "the Panthers")."""
    if entity.label_ != "PERSON":
        return None
    if entity.start > 0 and entity.doc[entity.start - 1].lower_ == "the":
        return None
    return clean_mention(entity.text)


def common_words(texts: Iterable[str]) -> frozenset[str]:
    """Words that occur in lower case somewhere in `texts` ("mountains", "media", "singer").

    >>> sorted(common_words(["The Tehachapi Mountains rise over the mountains."]))
    ['mountains', 'over', 'rise', 'the']
    """
    return frozenset(re.findall(r"(?<![\w'])[a-z][a-z'-]*", " ".join(texts)))


def group_mentions(mentions: Iterable[str], common: frozenset[str] = frozenset()) -> list[Person]:
    """Group name mentions into people by their last word, in order of first appearance.

    Only people named at least once with two or more words count ("Von Miller", then
    "Miller"), and only when their last word is not in `common` (words seen in lower case):
    the small spaCy model tags places, firms and things as PERSON too ("Tehachapi Mountains",
    "Virgin Media"); real surnames that are also words ("Cook") are lost with them.

    >>> group_mentions(["Nikola Tesla", "Edison", "Tesla", "Thomas Edison", "Chopin"])
    [('Nikola Tesla', 'Tesla'), ('Thomas Edison', 'Edison')]
    """
    people: dict[str, set[str]] = {}
    for mention in mentions:
        words = [w for w in mention.split() if w not in NOT_SURNAMES and not ROMAN_RE.match(w)]
        if not words:
            continue
        key = words[-1]
        if key.lower() in common:
            continue
        aliases = people.setdefault(key, set())
        aliases.add(mention)
        if len(key) >= 3 and key != mention:
            aliases.add(key)
    return [
        tuple(sorted(a, key=lambda s: (-len(s), s)))
        for a in people.values()
        if any(" " in m for m in a)
    ]


def person_mentions(texts: Sequence[str], nlp: Language, batch_size: int = 64) -> list[list[str]]:
    """The cleaned PERSON mentions of each text (`clean_mention`), each unique text parsed once."""
    unique = list(dict.fromkeys(texts))
    # NER alone is several times faster than the whole pipeline (it has its own tok2vec).
    with nlp.select_pipes(enable=["ner"]):
        docs = list(nlp.pipe(unique, batch_size=batch_size))
    found = {
        text: [m for e in doc.ents if (m := entity_name(e))]
        for text, doc in zip(unique, docs, strict=True)
    }
    return [found[t] for t in texts]


def find_persons(examples: Dataset, nlp: Language) -> dict[str, list[Person]]:
    """The people of every question: named in its question or gold answers first, then context.

    Returns:
        {id: people}, each person the strings that name them (`group_mentions`); questions
        without a person map to an empty list.
    """
    first_answers = [a["text"][0] if a["text"] else "" for a in examples["answers"]]
    questions = person_mentions(examples["question"], nlp)
    answers = person_mentions(first_answers, nlp)
    contexts = person_mentions(examples["context"], nlp)
    common = common_words(dict.fromkeys(examples["context"]))
    return {
        i: group_mentions([*q, *a, *c], common)
        for i, q, a, c in zip(examples["id"], questions, answers, contexts, strict=True)
    }


def mentions_pattern(mentions: Iterable[str]) -> re.Pattern[str]:
    """One regex for whole-word occurrences of any mention, longest first."""
    ordered = sorted(set(mentions), key=lambda s: (-len(s), s))
    return re.compile(r"(?<![\w'])(?:" + "|".join(map(re.escape, ordered)) + r")(?![\w])")


def name_indices(example_id: str, people: Sequence[Person], text: str, seed: int) -> list[int]:
    """Which name index each person gets (the same in every group), seeded per question.

    Indices whose name, in any group, already occurs in the text are skipped (a context about
    Kenya must not get a person called Kenya); people beyond the free names keep their own.
    """
    free = [
        k
        for k in range(min(map(len, FIRST_NAMES.values())))
        if not any(re.search(rf"\b{names[k]}\b", text) for names in FIRST_NAMES.values())
    ]
    order = example_rng(seed, example_id).permutation(free)
    return [int(k) for k in order[: len(people)]]


def name_mapping(
    example_id: str, people: Sequence[Person], text: str, group: str, seed: int = 0
) -> dict[str, str]:
    """Every mention of the swapped people mapped to its new first name from `group`."""
    names = FIRST_NAMES[group]
    indices = name_indices(example_id, people, text, seed)
    return {m: names[k] for person, k in zip(people, indices, strict=False) for m in person}


def replace_mentions(text: str, mapping: Mapping[str, str]) -> tuple[str, list[tuple[int, ...]]]:
    """Replace every mention in `text`; also return the edits (old_start, old_end, new_start,
    new_end)."""
    if not mapping:
        return text, []
    parts, edits, last, shift = [], [], 0, 0
    for match in mentions_pattern(mapping).finditer(text):
        if " " not in match.group() and NEXT_NAME_RE.match(text, match.end()):
            continue  # a surname alias inside another name: "Gerhard" of "Gerhard Lessing"
        new = mapping[match.group()]
        parts += [text[last : match.start()], new]
        start = match.start() + shift
        edits.append((match.start(), match.end(), start, start + len(new)))
        shift += len(new) - (match.end() - match.start())
        last = match.end()
    return "".join(parts) + text[last:], edits


def move_offset(position: int, edits: Sequence[tuple[int, ...]], end: bool = False) -> int:
    """Where a character offset lands after `replace_mentions`; inside a mention it snaps to
    the replacement's start (or its end, for an answer's end)."""
    moved = position
    for old_start, old_end, new_start, new_end in edits:
        if old_start < position < old_end:
            return new_end if end else new_start
        if old_end <= position:
            moved = position + new_end - old_end
    return moved


def swap_answers(answers: dict, edits: Sequence[tuple[int, ...]], context: str) -> dict:
    """Gold answers moved to the renamed context: offsets shifted, texts read back from it."""
    texts, starts = [], []
    for text, start in zip(answers["text"], answers["answer_start"], strict=True):
        new_start = move_offset(start, edits)
        new_end = move_offset(start + len(text), edits, end=True)
        texts.append(context[new_start:new_end])
        starts.append(new_start)
    return {"text": texts, "answer_start": starts}


def swap_example(row: dict, people: Sequence[Person], group: str, seed: int) -> dict:
    """One question with its people renamed from `group` in context, question and answers."""
    text = " ".join([row["context"], row["question"], *row["answers"]["text"]])
    mapping = name_mapping(row["id"], people, text, group, seed)
    context, edits = replace_mentions(row["context"], mapping)
    question, _ = replace_mentions(row["question"], mapping)
    answers = swap_answers(row["answers"], edits, context)
    return {**row, "context": context, "question": question, "answers": answers}


def swap_names(
    examples: Dataset, persons: Mapping[str, Sequence[Person]], group: str, seed: int = 0
) -> Dataset:
    """Rename the people of every question (`find_persons`) with first names from `group`.

    Ids, titles and schema are kept; questions without people are returned unchanged.
    """
    if group not in FIRST_NAMES:
        raise ValueError(f"unknown name group {group!r}; choose one of {', '.join(GROUPS)}")
    rows = [
        swap_example(row, people, group, seed) if (people := persons.get(row["id"])) else row
        for row in examples
    ]
    return Dataset.from_list(rows, features=examples.features)


def name_swaps(persons: Mapping[str, Sequence[Person]], seed: int = 0) -> dict[str, Perturbation]:
    """One `Dataset -> Dataset` perturbation per name group, for `probes.evaluate_perturbations`."""
    return {g: partial(swap_names, persons=persons, group=g, seed=seed) for g in GROUPS}


def names_person(text: str, people: Sequence[Person]) -> bool:
    """Whether `text` mentions one of `people`."""
    return bool(people) and bool(mentions_pattern([m for p in people for m in p]).search(text))


def name_questions(examples: Dataset, persons: Mapping[str, Sequence[Person]]) -> Dataset:
    """The questions whose question or a gold answer names one of their people."""
    texts = (" ".join([row["question"], *row["answers"]["text"]]) for row in examples)
    keep = [
        i
        for i, (text, key) in enumerate(zip(texts, examples["id"], strict=True))
        if names_person(text, persons.get(key, ()))
    ]
    return examples.select(keep)


def answer_changed(
    scores: pd.DataFrame, examples: Dataset, persons: Mapping[str, Sequence[Person]], seed: int = 0
) -> pd.Series:
    """Whether each swapped answer differs from the clean answer with the same names swapped.

    Args:
        scores: Long table of `probes.evaluate_perturbations` (clean and the GROUPS).

    Returns:
        Boolean per row of `scores` (False on the clean rows).
    """
    rows = {row["id"]: row for row in examples}
    clean = scores[scores["condition"] == "clean"].set_index("id")["prediction"]
    changed = []
    for condition, example_id, prediction in scores[["condition", "id", "prediction"]].itertuples(
        index=False
    ):
        if condition not in FIRST_NAMES:
            changed.append(False)
            continue
        row = rows[example_id]
        text = " ".join([row["context"], row["question"], *row["answers"]["text"]])
        mapping = name_mapping(example_id, persons.get(example_id, []), text, condition, seed)
        expected = replace_mentions(clean[example_id], mapping)[0]
        changed.append(normalize_answer(expected) != normalize_answer(prediction))
    return pd.Series(changed, index=scores.index)


def group_table(scores: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """F1 and the share of changed answers per condition, each with a 95% bootstrap interval.

    Args:
        scores: Long table with condition, f1 and answer_changed (see `answer_changed`).

    Returns:
        One row per condition: condition, n, f1, f1_low, f1_high, changed, changed_low,
        changed_high (changed answers in percent).
    """
    rows = []
    for name, group in scores.groupby("condition", sort=False):
        values = np.column_stack([group["f1"], 100.0 * group["answer_changed"]])
        low, high = bootstrap_ci(values, n_resamples, seed)
        f1, changed = values.mean(axis=0)
        rows.append(
            {"condition": name, "n": len(group), "f1": f1, "f1_low": low[0], "f1_high": high[0],
             "changed": changed, "changed_low": low[1], "changed_high": high[1]}
        )  # fmt: skip
    return pd.DataFrame(rows)


def contrast_table(scores: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Paired differences of per-question F1 between name groups (`CONTRASTS`).

    The same questions are answered under every group, so each contrast is a paired test
    (`qa_utils.analysis.stats.paired_test`: sign-flip randomisation p-value, paired bootstrap
    interval of the mean difference).

    Returns:
        One row per contrast: contrast, n, difference, low, high, p_value.
    """
    wide = scores.pivot(index="id", columns="condition", values="f1")
    rows = []
    for name, (first, second) in CONTRASTS.items():
        a, b = wide[list(first)].mean(axis=1), wide[list(second)].mean(axis=1)
        test = paired_test(a.to_numpy(), b.to_numpy(), n_resamples, seed)
        rows.append(
            {"contrast": name, "n": test.n, "difference": test.difference, "low": test.ci_low,
             "high": test.ci_high, "p_value": test.p_value}
        )  # fmt: skip
    return pd.DataFrame(rows)


def name_swap_scores(
    predict: Predictor, examples: Dataset, persons: Mapping[str, Sequence[Person]], seed: int = 0
) -> pd.DataFrame:
    """Answer the clean questions and every name group's version in one call, and score them.

    Returns:
        The long table of `probes.evaluate_perturbations` with an answer_changed column.
    """
    scores = evaluate_perturbations(predict, examples, name_swaps(persons, seed))
    return scores.assign(answer_changed=answer_changed(scores, examples, persons, seed))
