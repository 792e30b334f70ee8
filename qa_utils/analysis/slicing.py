"""Slicing features of the per-example table: what each question, answer and context is like.

`add_features` adds one categorical column per slice in `SLICES` (each example falls in
exactly one value of each), the gold and predicted answer types, and the error category
(exact, partial overlap, wrong span in the gold answer's sentence or in another one).
Sentences come from a regular-expression splitter (after . ! ? before a capital, skipping
common abbreviations and initials), which is fast and good enough to place a span.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from qa_utils.analysis.answer_types import ANSWER_TYPES, classify_answers
from qa_utils.core.records import locate_prediction

if TYPE_CHECKING:
    from spacy.language import Language


QUESTION_WORDS = ("what", "which", "who", "when", "where", "why", "how", "other")

QUESTION_WORD_ALIASES = {"whom": "who", "whose": "who"}

ERROR_CATEGORIES = (
    "exact match",
    "partial overlap",
    "wrong span, gold sentence",
    "wrong span, other sentence",
    "not in context",
    "no answer",
)

SLICES = {
    "gold_type": "Gold answer type",
    "question_word": "Question word",
    "answer_length": "Gold answer length (words)",
    "context_length": "Context length (words)",
    "windows": "Windows per context",
    "rare_words": "Contains a rare word",
    "overlap": "Question words in answer sentence",
    "position": "Answer position in context",
}
"""Slicing column -> readable name; every example falls in exactly one value of each."""


# Inner edges of half-open bins [edge_i, edge_i+1); `binned` adds -inf and +inf around them so
# that every value, even an odd one (0 windows, an answer start past the context), gets a bin.
ANSWER_LENGTH_BINS = ([2, 3, 4, 6, 11], ["1", "2", "3", "4-5", "6-10", ">10"])

CONTEXT_LENGTH_BINS = ([100, 150, 200, 300], ["<100", "100-149", "150-199", "200-299", ">=300"])

WINDOW_BINS = ([2, 3], ["1", "2", "3+"])

OVERLAP_BINS = ([0.25, 0.5, 0.75], ["<25%", "25-50%", "50-75%", ">=75%"])

POSITION_BINS = ([0.2, 0.4, 0.6, 0.8], ["0-20%", "20-40%", "40-60%", "60-80%", "80-100%"])

RARE_VALUES = ["none", "question only", "answer only", "both"]

WORD_RE = re.compile(r"[^\W\d_]+")

SENTENCE_END_RE = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")

ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "vs", "no", "jr", "sr", "gen", "col", "lt", "prof"}

STOPWORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
    "but", "is", "are", "was", "were", "be", "been", "being", "do", "does", "did", "has",
    "have", "had", "what", "which", "who", "whom", "whose", "when", "where", "why", "how",
    "that", "this", "these", "those", "it", "its", "as", "into", "than", "then", "there",
    "their", "they", "he", "she", "his", "her", "him", "i", "you", "we", "our", "not", "no",
    "can", "could", "would", "should", "will", "may", "might", "one", "s",
})  # fmt: skip


def words(text: str) -> list[str]:
    """Lower-cased alphabetic words of `text` (digits and punctuation dropped).

    >>> words("In 1902, the breakwater's stones...")
    ['in', 'the', 'breakwater', 's', 'stones']
    """
    return WORD_RE.findall(text.lower())


def question_word(question: str) -> str:
    """The first wh-word of a question (whom/whose count as who), or "other".

    >>> questions = ["In what year?", "Whose boat won?", "Name the town.", "How many?"]
    >>> [question_word(q) for q in questions]
    ['what', 'who', 'other', 'how']
    """
    for word in words(question):
        word = QUESTION_WORD_ALIASES.get(word, word)
        if word in QUESTION_WORDS:
            return word
    return "other"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, split after . ! ? that precede a capital.

    A split is skipped after common abbreviations and initials ("Dr.", "J.", "U.S.").

    >>> text = "Dr. Brandt came in 1921. The U.S. Navy left! Then it rained."
    >>> [text[s:e] for s, e in sentence_spans(text)]
    ['Dr. Brandt came in 1921. ', 'The U.S. Navy left! ', 'Then it rained.']
    """
    spans, start = [], 0
    for match in SENTENCE_END_RE.finditer(text):
        last = text[start : match.start()].rsplit(maxsplit=1)[-1:] or [""]
        token = last[0].strip("\"'([")
        if token.lower() in ABBREVIATIONS or re.fullmatch(r"(?:[A-Za-z]\.)*[A-Za-z]", token):
            continue
        spans.append((start, match.end()))
        start = match.end()
    if start < len(text) or not spans:
        spans.append((start, len(text)))
    return spans


def sentence_index(spans: Sequence[tuple[int, int]], char: int) -> int:
    """Index of the sentence holding character offset `char` (-1 when `char` is negative)."""
    if char < 0:
        return -1
    return max(0, bisect_right([s for s, _ in spans], char) - 1)


def lexical_overlap(question: str, sentence: str) -> float:
    """Share of the question's content words (stopwords removed) that occur in `sentence`.

    >>> lexical_overlap("When was the stone breakwater added?", "A breakwater was added in 1902.")
    0.6666666666666666
    >>> lexical_overlap("What?", "Anything.")
    0.0
    """
    asked = set(words(question)) - STOPWORDS
    return len(asked & set(words(sentence))) / len(asked) if asked else 0.0


def train_word_counts(contexts: Iterable[str], questions: Iterable[str]) -> Counter[str]:
    """Word frequencies over the unique training contexts and all training questions."""
    counts: Counter[str] = Counter()
    for text in dict.fromkeys(contexts):
        counts.update(words(text))
    for text in questions:
        counts.update(words(text))
    return counts


def has_rare_word(text: str, counts: Counter[str], k: int) -> bool:
    """Whether `text` holds a word seen at most `k` times in training (unseen words count 0).

    >>> has_rare_word("the Grell Sea", Counter({"the": 90, "sea": 7, "grell": 2}), k=5)
    True
    """
    return any(counts.get(word, 0) <= k for word in words(text))


def error_category(
    em: float, f1: float, prediction: str, pred_sentence: int, gold_sentences: set[int]
) -> str:
    """Place one answer in `ERROR_CATEGORIES` (exact, partial, which sentence the wrong span is in).

    >>> error_category(0, 0.0, "1874", 0, {1}), error_category(0, 40.0, "in 1902", 1, {1})
    ('wrong span, other sentence', 'partial overlap')
    """
    if em >= 100:
        return "exact match"
    if not prediction.strip():
        return "no answer"
    if f1 > 0:
        return "partial overlap"
    if pred_sentence < 0:
        return "not in context"
    if pred_sentence in gold_sentences:
        return "wrong span, gold sentence"
    return "wrong span, other sentence"


def binned(values: Iterable[float], bins: tuple[list[float], list[str]]) -> pd.Categorical:
    """Cut numbers into labelled half-open bins, given the inner edges; every value gets one.

    >>> binned([0, 1, 2, 7], ([2, 3], ["1", "2", "3+"])).tolist()
    ['1', '1', '2', '3+']
    """
    inner, labels = bins
    edges = [-np.inf, *inner, np.inf]
    return pd.cut(pd.Series(values, dtype=float), edges, labels=labels, right=False).array


def ordered(values: Iterable[str], categories: Sequence[str]) -> pd.Categorical:
    """Values as an ordered categorical, so that tables and plots keep a meaningful order."""
    return pd.Categorical(list(values), categories=list(categories), ordered=True)


def rare_word_slice(table: pd.DataFrame, counts: Counter[str], k: int) -> pd.Categorical:
    """Which of question and first gold answer hold a word seen at most `k` times in training."""
    in_question = [has_rare_word(q, counts, k) for q in table["question"]]
    in_answer = [has_rare_word(a[0] if len(a) else "", counts, k) for a in table["gold_answers"]]
    names = {(False, False): "none", (True, False): "question only", (False, True): "answer only"}
    labels = [names.get(pair, "both") for pair in zip(in_question, in_answer, strict=True)]
    return ordered(labels, RARE_VALUES)


def sentence_features(table: pd.DataFrame) -> pd.DataFrame:
    """Sentence of the prediction and gold answers, overlap with the question, answer position."""
    spans = {c: sentence_spans(c) for c in table["context"].unique()}
    rows = []
    for context, question, starts, pred_start in zip(
        table["context"], table["question"], table["gold_starts"], table["pred_start"], strict=True
    ):
        sentences = spans[context]
        gold = [sentence_index(sentences, int(s)) for s in starts]
        first = sentences[gold[0]] if gold else (0, 0)
        rows.append(
            {
                "pred_sentence": sentence_index(sentences, int(pred_start)),
                "gold_sentences": sorted(set(gold)),
                "overlap_share": lexical_overlap(question, context[first[0] : first[1]]),
                "position_share": int(starts[0]) / max(len(context), 1) if len(starts) else 0.0,
            }
        )
    return pd.DataFrame(rows, index=table.index)


def add_features(
    table: pd.DataFrame,
    nlp: Language | None = None,
    word_counts: Counter[str] | None = None,
    rare_k: int = 5,
) -> pd.DataFrame:
    """Add answer types, slicing columns (`SLICES`) and the error category to the table.

    Args:
        table: The per-example table (see the module docstring).
        nlp: spaCy pipeline for answer typing (`answer_types.load_spacy`); None uses the
            rule-based fallback.
        word_counts: Training-set word frequencies (`train_word_counts`); None skips the
            rare-word slice.
        rare_k: A word is rare when seen at most `rare_k` times in training.

    Returns:
        A copy of `table` with the new columns.
    """
    out = table.copy()
    if "pred_start" not in out:
        out["pred_start"] = [
            locate_prediction(c, p) for c, p in zip(out["context"], out["prediction"], strict=True)
        ]
    out["pred_start"] = out["pred_start"].fillna(-1).astype(int)
    first_gold = [a[0] if len(a) else "" for a in out["gold_answers"]]
    types = classify_answers([*first_gold, *out["prediction"]], nlp)
    out["gold_type"] = ordered(types[: len(out)], ANSWER_TYPES)
    out["pred_type"] = ordered(types[len(out) :], ANSWER_TYPES)
    out["question_word"] = ordered(map(question_word, out["question"]), QUESTION_WORDS)
    out["answer_length"] = binned(out["answer_words"], ANSWER_LENGTH_BINS)
    out["context_length"] = binned(out["context_words"], CONTEXT_LENGTH_BINS)
    if "n_windows" in out and out["n_windows"].notna().all():
        out["windows"] = binned(out["n_windows"], WINDOW_BINS)
    if word_counts is not None:
        out["rare_words"] = rare_word_slice(out, word_counts, rare_k)
    sentences = sentence_features(out)
    out["overlap"] = binned(sentences["overlap_share"], OVERLAP_BINS)
    out["position"] = binned(sentences["position_share"], POSITION_BINS)
    categories = map(
        error_category,
        out["em"],
        out["f1"],
        out["prediction"],
        sentences["pred_sentence"],
        sentences["gold_sentences"],
    )
    out["error_category"] = ordered(categories, ERROR_CATEGORIES)
    return pd.concat([out, sentences[["overlap_share", "position_share"]]], axis=1)
