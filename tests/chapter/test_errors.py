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
