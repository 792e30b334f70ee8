"""Training with unanswerable questions without a SQuAD 2.0 training set (route (a)).

No SQuAD 2.0 training set is available offline, so `pair_unanswerable` makes unanswerable
questions from SQuAD v1.1: a question asked about another paragraph of its own article, one
that does not contain any of its answers. Such a paragraph is on the same subject, so the
question looks answerable there, which is what SQuAD 2.0's crowd-written unanswerable
questions are like; unlike them, a few may still be answered in other words (only the exact
answer texts are screened out), and none is a near-miss rewrite of an answerable question.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from datasets import Dataset

from qa_utils.core.data import FEATURES_V2
from qa_utils.core.metrics import is_squad_v2
from qa_utils.core.records import dataset_columns

UNANSWERABLE_PER_QUESTION = 0.5
"""Unanswerable questions made per answerable one: SQuAD 2.0's training set has 43,498 of them
beside 86,821 answerable ones, about one for every two."""

SUFFIX = "-unanswerable"


def article_paragraphs(pool: Dataset) -> dict[str, list[str]]:
    """The distinct contexts of each article (by title), in file order."""
    columns = dataset_columns(pool, ["title", "context"])
    paragraphs: dict[str, dict[str, None]] = defaultdict(dict)
    for title, context in zip(columns["title"], columns["context"], strict=True):
        paragraphs[title][context] = None
    return {title: list(contexts) for title, contexts in paragraphs.items()}


def other_paragraph(
    row: dict, paragraphs: dict[str, list[str]], rng: np.random.Generator
) -> str | None:
    """A paragraph of the row's article other than its own that contains none of its answers."""
    answers = [text.lower() for text in row["answers"]["text"]]
    candidates = [
        context
        for context in paragraphs.get(row["title"], [])
        if context != row["context"] and not any(a in context.lower() for a in answers)
    ]
    return candidates[rng.integers(len(candidates))] if candidates else None


def pair_unanswerable(
    examples: Dataset,
    pool: Dataset | None = None,
    per_question: float = UNANSWERABLE_PER_QUESTION,
    seed: int = 0,
) -> Dataset:
    """SQuAD v1.1 examples plus unanswerable ones made from a seeded share of them.

    Args:
        examples: the v1.1 training questions.
        pool: where the other paragraphs come from (default: `examples`); pass the whole
            training set when `examples` is a subset, so that articles have paragraphs.
        per_question: unanswerable questions made per question (at most 1).
        seed: seed of the choice of questions and paragraphs.

    Returns:
        The examples (is_impossible False) followed by the unanswerable questions (id with
        the suffix "-unanswerable", empty answers), with `FEATURES_V2`. Questions whose
        article has no suitable other paragraph are skipped.
    """
    if not 0 <= per_question <= 1:
        raise ValueError(f"per_question must be between 0 and 1, got {per_question}")
    rng = np.random.default_rng(seed)
    paragraphs = article_paragraphs(pool if pool is not None else examples)
    chosen = rng.choice(len(examples), size=round(per_question * len(examples)), replace=False)
    rows = [{**row, "is_impossible": False} for row in examples.to_list()]
    made = []
    for index in np.sort(chosen):
        context = other_paragraph(rows[index], paragraphs, rng)
        if context is not None:
            row = rows[index]
            made.append(
                {**row, "id": row["id"] + SUFFIX, "context": context, "is_impossible": True}
                | {"answers": {"text": [], "answer_start": []}}
            )
    return Dataset.from_list(rows + made, features=FEATURES_V2)


def training_examples(examples: Dataset, pool: Dataset, squad_v2: bool, seed: int = 0) -> Dataset:
    """What to train on: the examples, plus route (a)'s unanswerable questions when `squad_v2`
    asks for them and the examples have none of their own (SQuAD 2.0 data trains as it is)."""
    if not squad_v2 or is_squad_v2(examples):
        return examples
    return pair_unanswerable(examples, pool, seed=seed)
