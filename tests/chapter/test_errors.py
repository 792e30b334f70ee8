"""Notebook 04's sentence helpers: confusion cells, labeller counts, slice verdicts, tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
    table = errors.beside(ours, ours, "g", {"F1": ("f1", "lo", "hi")})
    assert table.loc["a", ("benchmark", "F1")] == "1.00 [0.50, 1.50]"
    assert table.loc["b", ("this run", "F1")] == "2.00"
    assert errors.reference_output("missing.csv", tmp_path) is None


def test_sentences_quote_the_tables():
    contrasts = pd.DataFrame({"contrast": ["EA - AA"], "n": [600], "difference": [-1.5],
                              "low": [-3.0], "high": [-0.1], "p_value": [0.04]})  # fmt: skip
    groups = pd.DataFrame({"condition": ["clean", "EA male", "AA male"], "changed": [0, 5, 7.5]})
    text = errors.name_swap_sentence(contrasts, groups, "Here")
    assert "on 600 questions" in text and "-1.50 [-3.00, -0.10]" in text
    assert "excludes 0" in text and "5.0-7.5%" in text
    memorised = pd.DataFrame({"group": ["trained", "unseen, same articles", "unseen articles"],
                              "gap": [0, 12.0, 15.0], "gap_low": [np.nan, 9.0, 11.0],
                              "gap_high": [np.nan, 15.0, 19.0],
                              "auc_confidence": [0.5, 0.61, 0.66]})  # fmt: skip
    text = errors.membership_sentence(memorised, "Here")
    assert "+12.0 [+9.0, +15.0]" in text and "AUC of 0.61" in text and "a weak signal" in text
