"""The headline table: the chapter's claim and the cited scores beside our measured one."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from qa_utils.chapter.reference import (
    PUBLISHED,
    Reference,
    claim_sentence,
    estimate_sentence,
    full_run_estimate,
    headline_table,
)


@pytest.fixture
def records() -> pd.DataFrame:
    return pd.DataFrame({"em": [100.0, 0.0, 100.0, 0.0], "f1": [100.0, 50.0, 100.0, 0.0]})


def test_headline_table_cites_and_measures(records):
    table = headline_table(records, "ours", n_resamples=200)
    assert list(table["kind"]) == ["claim"] + ["published"] * len(PUBLISHED) + ["measured"]
    assert table.iloc[0][["exact_match", "f1"]].tolist() == [83.1, 89.4]
    ours = table.iloc[-1]
    assert (ours["system"], ours["exact_match"], ours["f1"]) == ("ours", 50.0, 62.5)
    assert ours["f1_low"] <= 62.5 <= ours["f1_high"]
    # Cited scores carry no interval: we never measured them.
    assert table.loc[table["kind"] != "measured", ["f1_low", "f1_high"]].isna().all().all()
    assert table["source"].str.len().gt(0).all()


def test_published_bert_base_scores_are_the_cited_ones():
    base = {(r.exact_match, r.f1) for r in PUBLISHED if r.bert_base}
    assert base == {(80.8, 88.5), (81.2, 88.5)}


def test_claim_sentence_says_above_or_not():
    assert "is above every published bert-base result" in claim_sentence()
    modest = Reference("claim", 80.0, 88.0, "nowhere", bert_base=True)
    assert "is not above every published" in claim_sentence(modest)


def test_full_run_estimate_counts_steps_and_minutes():
    estimate = full_run_estimate(1_000, 3, 16, windows_per_second=10.0, gpu="some GPU")
    assert estimate.steps == 63 * 3
    assert math.isclose(estimate.minutes, 3_000 / 10 / 60)
    assert full_run_estimate(1_000, 0.5, 16, 10.0).steps == 32


def test_estimate_sentence_says_it_is_an_estimate():
    sentence = estimate_sentence(full_run_estimate(88_524, 3, 16))
    assert sentence.startswith("Estimate, not a measurement")
    assert "16,599 steps of 16" in sentence and "V100" in sentence
