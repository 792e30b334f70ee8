"""The headline table: the chapter's claim and the cited scores beside our measured one; one
question's candidates across its windows."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from datasets import Dataset

from qa_utils.chapter.reference import (
    PUBLISHED,
    Reference,
    candidates_table,
    claim_sentence,
    estimate_sentence,
    full_run_estimate,
    headline_table,
    headline_view,
    measured_sentence,
    model_name,
    window_ranges,
)
from qa_utils.core.features import build_eval_features
from qa_utils.core.model import load_tokenizer
from qa_utils.plots.concepts import plot_against_published
from qa_utils.project.config import InferenceSettings


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
    assert table["bert_base"].tolist() == [True, True, True, False, False, False]


def test_headline_view_has_one_interval_column_blank_for_citations(records):
    view = headline_view(headline_table(records, "ours", n_resamples=200))
    assert list(view.columns) == ["system", "kind", "EM", "F1", "F1 95% CI"]
    assert (view["F1 95% CI"].iloc[:-1] == "").all()
    low, high = view["F1 95% CI"].iloc[-1].split("–")
    assert float(low) <= 62.5 <= float(high)
    assert not view.isna().any().any()


def test_measured_sentence_states_the_gap_to_the_best_bert_base(records):
    table = headline_table(records, "ours", n_resamples=200)
    sentence = measured_sentence(table)
    assert sentence.startswith("Our model measures EM 50.0 / F1 62.5 (95% bootstrap interval ")
    assert sentence.endswith("26.0 F1 points below the best published BERT-base F1, 88.5.")
    strong = table.assign(f1=table["f1"].where(table["kind"] != "measured", 90.0))
    assert "1.5 F1 points above" in measured_sentence(strong)


def test_model_name_is_readable():
    assert model_name("embedded") == "embedded MiniLM-L6-H384"
    assert model_name("distilbert/distilbert-base-uncased") == "distilbert-base-uncased"


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


CONTEXT = " ".join(f"Sentence {i} says that the river number {i} flows north." for i in range(12))


def test_window_ranges_are_the_evaluation_windows_and_overlap():
    tokenizer = load_tokenizer("embedded")
    settings = InferenceSettings(48, 16, 5, 8, 4)
    ranges = window_ranges("Which river flows north?", CONTEXT, tokenizer, settings)
    example = {"id": ["q"], "question": ["Which river flows north?"], "context": [CONTEXT]}
    windows = build_eval_features(Dataset.from_dict(example), tokenizer, 48, 16)
    assert len(ranges) == len(windows) > 2
    assert ranges[0][0] == 0 and ranges[-1][1] == len(CONTEXT)
    assert all(b[0] < a[1] < b[1] for a, b in zip(ranges, ranges[1:], strict=False))


def test_candidates_table_names_the_windows_holding_each_span():
    nbest = [
        {"text": "x", "start": 4, "end": 5, "score": 3.0, "probability": 0.5},
        {"text": "y", "start": 8, "end": 9, "score": 2.0, "probability": 0.3},
        {"text": "z", "start": 0, "end": 1, "score": 1.0, "probability": 0.2},
    ]
    table = candidates_table(nbest, [(0, 6), (3, 10)], n=2)
    assert table["text"].tolist() == ["x", "y"]
    assert table["windows"].tolist() == ["0, 1", "1"]
    assert table["score"].tolist() == [3.0, 2.0]


def test_published_plot_draws_our_interval_and_keeps_the_legend_off_the_bars(records):
    table = headline_table(records, "ours", n_resamples=200)
    fig = plot_against_published(table)
    ax = fig.axes[0]
    f1_bars = next(c for c in ax.containers if c.get_label() == "F1")
    segments = f1_bars.errorbar.lines[2][0].get_segments()
    ours = table.iloc[-1]
    assert segments[-1][:, 0].tolist() == pytest.approx([ours["f1_low"], ours["f1_high"]])
    assert all(s[0, 0] == s[1, 0] for s in segments[:-1])  # cited rows: no interval
    assert ax.get_legend() is None and len(fig.legends) == 1
    fig.canvas.draw()
    legend = fig.legends[0].get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())
    plt.close(fig)
