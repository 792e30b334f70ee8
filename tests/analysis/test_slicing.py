"""Tests of the slicing features added to the per-example table."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from qa_utils.analysis.slicing import (
    ERROR_CATEGORIES,
    SLICES,
    add_features,
    error_category,
    has_rare_word,
    lexical_overlap,
    locate_prediction,
    question_word,
    sentence_index,
    sentence_spans,
    train_word_counts,
)

CONTEXT = (
    "Velmora is a fishing town on the Grell Sea. The harbour was dredged in 1874. "
    "A breakwater was added in 1902 by Dr. Brandt."
)


def make_table(rows: list[dict]) -> pd.DataFrame:
    """A per-example table over CONTEXT from (question, gold, prediction, em, f1) rows."""
    table = pd.DataFrame(rows)
    table["context"] = CONTEXT
    table["gold_answers"] = [[g] for g in table["gold"]]
    table["gold_starts"] = [[CONTEXT.index(g)] for g in table["gold"]]
    table["answer_words"] = table["gold"].str.split().str.len()
    table["question_words"] = table["question"].str.split().str.len()
    table["context_words"] = len(CONTEXT.split())
    return table.drop(columns="gold")


@pytest.fixture
def table() -> pd.DataFrame:
    return make_table(
        [
            dict(
                question="When was the breakwater added?",
                gold="1902",
                prediction="1902",
                em=100,
                f1=100,
            ),
            dict(
                question="Who added the breakwater?",
                gold="Dr. Brandt",
                prediction="Brandt",
                em=0,
                f1=67,
            ),
            dict(
                question="When was the harbour dredged?",
                gold="1874",
                prediction="The harbour",
                em=0,
                f1=0,
            ),
            dict(
                question="Which sea is Velmora on?",
                gold="the Grell Sea",
                prediction="1874",
                em=0,
                f1=0,
            ),
            dict(question="Name the town.", gold="Velmora", prediction="", em=0, f1=0),
            dict(question="What was added?", gold="A breakwater", prediction="a pier", em=0, f1=0),
        ]
    )


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is it?", "what"),
        ("In which year?", "which"),
        ("Whom did she marry?", "who"),
        ("WHEN did it open?", "when"),
        ("The river flows where?", "where"),
        ("Why?", "why"),
        ("How many?", "how"),
        ("Name the river.", "other"),
    ],
)
def test_question_word(question, expected):
    assert question_word(question) == expected


def test_sentence_spans_cover_the_text_and_skip_abbreviations():
    spans = sentence_spans(CONTEXT)
    assert [CONTEXT[s:e].strip() for s, e in spans] == [
        "Velmora is a fishing town on the Grell Sea.",
        "The harbour was dredged in 1874.",
        "A breakwater was added in 1902 by Dr. Brandt.",
    ]
    assert spans[0][0] == 0 and spans[-1][1] == len(CONTEXT)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    assert sentence_spans("") == [(0, 0)]


def test_sentence_index():
    spans = sentence_spans(CONTEXT)
    assert [sentence_index(spans, CONTEXT.index(w)) for w in ("Grell", "1874", "1902")] == [0, 1, 2]
    assert sentence_index(spans, -1) == -1


def test_locate_prediction_falls_back_to_case_insensitive_search():
    assert locate_prediction(CONTEXT, "the grell sea") == CONTEXT.index("the Grell Sea")
    assert locate_prediction(CONTEXT, "a steam engine") == -1


def test_lexical_overlap_ignores_stopwords_and_case():
    assert lexical_overlap("When was the Harbour dredged?", "The harbour was dredged.") == 1.0
    assert lexical_overlap("Who built the pier?", "The harbour was dredged.") == 0.0


def test_rare_words_count_unseen_words_as_zero():
    counts = train_word_counts(
        ["The harbour. The harbour.", "The harbour. The harbour."], ["The town?"]
    )
    assert counts == Counter({"the": 3, "harbour": 2, "town": 1})
    assert has_rare_word("the harbour", counts, k=1) is False
    assert has_rare_word("the harbour", counts, k=2) is True
    assert has_rare_word("Velmora", counts, k=0) is True


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((100, 100, "1902", 2, {2}), "exact match"),
        ((0, 50, "Brandt", 2, {2}), "partial overlap"),
        ((0, 0, "1874", 2, {2}), "wrong span, gold sentence"),
        ((0, 0, "1874", 1, {0, 2}), "wrong span, other sentence"),
        ((0, 0, "a pier", -1, {2}), "not in context"),
        ((0, 0, "  ", -1, {2}), "no answer"),
    ],
)
def test_error_category(args, expected):
    assert error_category(*args) == expected


def test_add_features_puts_every_example_in_one_value_of_each_slice(table):
    featured = add_features(table, word_counts=Counter({"the": 9}), rare_k=0)
    for column in [c for c in SLICES if c != "windows"]:
        assert featured[column].notna().all(), column
    assert "windows" not in featured  # no n_windows column in the table
    assert featured["error_category"].tolist() == [
        "exact match",
        "partial overlap",
        "wrong span, gold sentence",
        "wrong span, other sentence",
        "no answer",
        "not in context",
    ]
    assert set(featured["error_category"]) <= set(ERROR_CATEGORIES)


def test_add_features_reads_given_prediction_offsets_and_windows(table):
    table["pred_start"] = [CONTEXT.index("1902"), -1, -1, CONTEXT.index("1874"), -1, -1]
    table["n_windows"] = [1, 1, 2, 2, 3, 4]
    featured = add_features(table)
    assert featured["windows"].astype(str).tolist() == ["1", "1", "2", "2", "3+", "3+"]
    assert featured.loc[3, "error_category"] == "wrong span, other sentence"
    assert "rare_words" not in featured


def test_add_features_types_answers_with_rules_without_spacy(table):
    featured = add_features(table)
    assert featured["gold_type"].astype(str).tolist()[:3] == ["Date", "Person", "Date"]
    assert featured.loc[4, "pred_type"] == "Other"


def test_odd_values_still_fall_in_a_slice(table):
    table["n_windows"] = 0  # an example that produced no window
    table["answer_words"] = 0
    table["gold_starts"] = [[len(CONTEXT) + 5]] * len(table)  # a start past the context
    featured = add_features(table)
    assert (featured["windows"] == "1").all() and (featured["answer_length"] == "1").all()
    assert (featured["position"] == "80-100%").all()
