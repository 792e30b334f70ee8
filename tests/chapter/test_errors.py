"""Notebook 04's sentence helpers: confusion cells, labeller counts, slice verdicts, tables."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from qa_utils.analysis.stats import SpreadTest
from qa_utils.chapter import errors


def test_off_diagonal_ranks_by_row_share_and_skips_small_rows():
    counts = pd.DataFrame(
        [[90, 10, 0], [40, 60, 0], [1, 1, 0]], index=list("ABC"), columns=list("ABC")
    )
    cells = errors.off_diagonal(counts, min_questions=30, n=5)
    assert cells[["gold", "predicted"]].values.tolist()[:2] == [["B", "A"], ["A", "B"]]
    assert cells["share"].iloc[0] == pytest.approx(0.4) and "C" not in set(cells["gold"])
    assert errors.off_diagonal(counts, min_questions=1000).empty


def test_labeller_counts_cover_every_type():
    table = errors.labeller_counts(["Person", "Date", "Date"], ["Person", "Person", "Date"])
    assert table.loc["Person"].tolist() == [1, 2] and table.loc["Date"].tolist() == [2, 1]
    assert table.loc["Clause"].tolist() == [0, 0] and len(table) == 10


def test_slice_verdict_sees_a_hard_slice_and_a_null_one():
    f1 = np.tile([100.0, 100.0, 0.0, 100.0, 0.0], 400)
    mask = pd.Series(np.arange(2000) < 300)
    hard = f1.copy()
    hard[:300] = np.tile([100.0, 0.0, 0.0], 100)
    assert errors.slice_verdict(pd.DataFrame({"f1": hard}), mask, 500).verdict == "harder"
    null = errors.slice_verdict(pd.DataFrame({"f1": f1}), mask, 500)
    assert null.low < 0 < null.high and null.verdict == "no clear difference"
    assert np.isnan(errors.slice_verdict(pd.DataFrame({"f1": f1}), mask & False).f1)


def test_beside_puts_run_and_benchmark_side_by_side(tmp_path):
    ours = pd.DataFrame({"g": ["a", "b"], "n": [5, 6], "f1": [1.0, 2.0], "lo": [0.5, np.nan],
                         "hi": [1.5, np.nan]})  # fmt: skip
    table = errors.beside(ours, ours, "g", {"F1": ("f1", "lo", "hi"), "plain": "lo"})
    assert table.loc["a", ("benchmark", "F1")] == "1.00 [0.50, 1.50]"
    assert table.loc["a", ("this run", "plain")] == "0.50"
    assert table.loc["b", ("this run", "F1")] == "2.00"
    assert errors.reference_output("missing.csv", tmp_path) is None


def test_labeller_disagreement_is_relative_to_each_type():
    rule = ["Date"] * 90 + ["Other"] * 10 + ["Person"] * 2
    spacy = ["Date"] * 80 + ["Person"] * 20 + ["Person"] * 2
    table = errors.labeller_disagreement(rule, spacy)
    assert table.index.tolist() == ["Other", "Person", "Date"]
    assert table.loc["Person"].tolist() == [22, 20, pytest.approx(20 / 22)]
    assert table.loc["Date", "share"] == pytest.approx(10 / 90)
    text = errors.labeller_sentence(rule, spacy, "spaCy x", top=2)
    assert "agree on 80%" in text and "Other (100% of the 10 answers either calls Other)" in text
    assert "Person (91% of 22)" in text and "finds 10 Other and 2 Person" in text
    assert "spaCy x finds 0 and 22" in text
    assert errors.labeller_sentence(rule, rule, "same").endswith("agree on 100%.")


def test_rare_word_masks_count_both_on_each_side():
    table = pd.DataFrame({"rare_words": ["none", "question only", "answer only", "both"]})
    masks = errors.rare_word_masks(table)
    question, answer = masks.values()
    assert question.tolist() == [False, True, False, True]
    assert answer.tolist() == [False, False, True, True]
    verdict = errors.SliceVerdict(30, 60.0, 70.0, -10.0, -15.0, -5.0)
    assert errors.verdict_line("x", verdict) == (
        "- x (30 questions): F1 60.0 against 70.0 for the rest, difference -10.0 "
        "[-15.0, -5.0]: **harder**."
    )


def test_blanking_sentence_quotes_both_costs_and_the_floor():
    comparison = pd.DataFrame({"metric": ["em", "f1"], "difference": [6.0, 7.5],
                               "ci_low": [5.0, 6.5], "ci_high": [7.0, 8.5],
                               "p_value": [1 / 1001, 0.02]})  # fmt: skip
    text = errors.blanking_sentence(comparison, 1000)
    assert text.startswith(
        "The figure shows the paired differences (ours minus the blanked copy) in EM and in F1, "
        "each with its 95% paired-bootstrap interval:"
    )
    assert "both versions" not in text
    assert "costs 6.00 EM [5.00, 7.00] and 7.50 F1 [6.50, 8.50]" in text
    assert "p ≤ 0.001 (the smallest 1,000 resamples can give) for EM and p = 0.020 for F1" in text
    assert "F1 loses 1.50 points more than EM" in text
    level = comparison.assign(difference=[6.0, 6.0])
    assert "none of the blanked answers was a partial overlap" in errors.blanking_sentence(
        level, 1000
    )


def test_calibration_sentence_reads_every_bin():
    reliability = pd.DataFrame({"lower": [0.0, 0.3, 0.5, 0.9], "upper": [0.1, 0.4, 0.6, 1.0],
                                "n": [40, 500, 0, 800], "confidence": [0.08, 0.35, np.nan, 0.95],
                                "accuracy": [0.05, 0.52, np.nan, 0.97]})  # fmt: skip
    text = errors.calibration_sentence(reliability, 0.1)
    assert (
        "under-confident (right more often than it says) in 2 and over-confident in 1 of the 3"
        in text
    )
    assert "the 0.3-0.4 bin (500 answers): it says 0.35 and is right 0.52" in text
    under = reliability.assign(accuracy=reliability["confidence"] + 0.01)
    assert "under-confident (right more often than it says) in all of the 3" in (
        errors.calibration_sentence(under, 0.01)
    )
    one = reliability.assign(n=[0, 0, 0, 800], accuracy=0.9)
    assert "over-confident in the one bin that holds answers" in errors.calibration_sentence(one, 0)
    small = reliability.assign(n=[40, 5, 0, 800])  # the 0.3 bin is too small to be named
    assert "the 0.0-0.1 bin (40 answers)" in errors.calibration_sentence(small, 0.1)


CONTRASTS = pd.DataFrame({
    "contrast": ["EA - AA", "EA - AA (male names)", "EA - AA (female names)", "male - female"],
    "n": [600] * 4, "difference": [-0.9, -2.2, 0.4, 0.4], "low": [-2.7, -4.2, -2.1, -1.2],
    "high": [0.9, -0.2, 2.9, 2.0], "p_value": [0.367, 0.040, 0.728, 0.653],
})  # fmt: skip
GROUPS = pd.DataFrame({"condition": ["clean", "EA male", "AA male"], "changed": [0, 5, 7.5]})


def test_name_swap_sentence_names_every_contrast_that_excludes_zero():
    text = errors.name_swap_sentence(CONTRASTS, GROUPS, "Here")
    assert (
        "on 600 questions" in text and "-0.90 [-2.70, +0.90] (paired sign-flip p = 0.367)" in text
    )
    assert "excludes 0 for EA - AA (male names): -2.20 [-4.20, -0.20], p = 0.040." in text
    assert "not corrected for testing 4 contrasts" in text
    assert "EA - AA (male names) p = 0.160: it is not below 0.05" in text
    assert "no difference" not in text and "5.0-7.5%" in text
    strong = CONTRASTS.assign(p_value=[0.367, 0.001, 0.728, 0.653])
    assert "p = 0.004: it stays below 0.05" in errors.name_swap_sentence(strong, GROUPS, "Here")


def test_name_swap_sentence_without_an_excluding_interval():
    none = CONTRASTS.assign(high=[0.9, 0.5, 2.9, 2.0], p_value=[1 / 1001, 0.2, 0.7, 0.6])
    text = errors.name_swap_sentence(none, GROUPS, "Here", n_resamples=1000)
    assert "p ≤ 0.001 (the smallest 1,000 resamples can give)" in text
    assert "None of the 4 contrasts" in text and "no difference between the groups" in text
    # the widest interval (EA - AA (female names), [-2.10, +2.90]) and the furthest end (2.90)
    assert "the widest interval, EA - AA (female names) [-2.10, +2.90], spans 5.00 points" in text
    assert "differences of up to 4.20 points lie inside the intervals" in text
    assert "cannot be ruled out on 600 questions" in text


def test_membership_sentence_quotes_the_table():
    memorised = pd.DataFrame({"group": ["trained", "unseen, same articles", "unseen articles"],
                              "gap": [0, 12.0, 15.0], "gap_low": [np.nan, 9.0, 11.0],
                              "gap_high": [np.nan, 15.0, 19.0],
                              "auc_confidence": [0.5, 0.61, 0.66]})  # fmt: skip
    text = errors.membership_sentence(memorised, "Here")
    assert "+12.00 [+9.00, +15.00], and" in text and "AUC of 0.61" in text
    assert "a weak signal" in text and "includes 0" not in text
    touching = memorised.assign(gap=[0, 7.07, 8.6], gap_low=[np.nan, -0.004, 1.3])
    text = errors.membership_sentence(touching, "Here")
    assert "+7.07 [0.00, +15.00] (the interval includes 0: this sample does not tell it" in text
    assert "-0.00" not in text and "+8.60 [+1.30, +19.00]." in text


def test_error_split_sentence_separates_categories_with_semicolons():
    split = pd.DataFrame({"category": ["exact match", "partial overlap",
                                       "wrong span, gold sentence", "wrong span, other sentence",
                                       "no answer"],
                          "share": [0.62, 0.22, 0.095, 0.065, 0.0]})  # fmt: skip
    assert errors.error_split_sentence(split) == (
        "The bars show how the answers split: exact match 62.0%; partial overlap 22.0%; wrong "
        "span, gold sentence 9.5%; wrong span, other sentence 6.5%."
    )


def test_parity_table_says_the_p_value_floor_is_a_bound():
    spread = SpreadTest(6.56743, 2.93, 2.29, 3.61, 1 / 1001, 48, 10570)
    reference = pd.DataFrame([{**vars(spread), "p_value": 0.35}])
    table = errors.parity_table(spread, reference, 1000)
    assert table.index.tolist() == ["this run", "benchmark"]
    assert table["p_value"].tolist() == ["≤ 0.001", "0.350"]
    assert table.loc["this run", "observed"] == 6.57 and table.loc["benchmark", "groups"] == 48
    alone = errors.parity_table(replace(spread, p_value=2 / 201), None, 200)
    assert alone.index.tolist() == ["this run"] and alone["p_value"].tolist() == ["0.010"]
