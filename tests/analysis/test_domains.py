"""What breaks under shift: side-by-side slices, calibration per set, the slice-drop test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_utils.analysis import domains


def synthetic(n: int, f1_by_word: dict[str, float], seed: int) -> pd.DataFrame:
    """A featured table: question words in equal shares, F1 0/100 at each word's rate."""
    rng = np.random.default_rng(seed)
    words = np.resize(list(f1_by_word), n)
    f1 = np.where(rng.random(n) < np.array([f1_by_word[w] for w in words]) / 100, 100.0, 0.0)
    return pd.DataFrame(
        {
            "question_word": pd.Categorical(words, categories=list(f1_by_word)),
            "f1": f1,
            "em": f1,
            "confidence": np.full(n, 0.9),
        }
    )


@pytest.fixture(scope="module")
def featured() -> dict[str, pd.DataFrame]:
    """SQuAD at 80 F1 everywhere; a shift that costs 10 points, but 40 on 'why' questions."""
    return {
        "squad/dev": synthetic(3000, {"what": 80, "who": 80, "why": 80}, 0),
        "shifted": synthetic(3000, {"what": 70, "who": 70, "why": 40}, 1),
    }


def test_the_slice_that_drops_more_is_found_and_the_others_are_not(featured):
    tests = domains.slice_drop_tests(featured, columns=["question_word"], n_resamples=400)
    by_value = tests.set_index("value")
    assert by_value.loc["why", "differs"] and by_value.loc["why", "excess"] > 15
    assert by_value.loc["why", "excess_low"] > 0
    assert not by_value.loc["what", "differs"] or by_value.loc["what", "excess"] < 0
    assert (tests["p_holm"] >= tests["p_value"]).all()
    assert tests["set"].unique().tolist() == ["shifted"]


def test_no_slice_differs_when_the_shift_costs_the_same_everywhere():
    same = {
        "squad/dev": synthetic(2000, {"what": 80, "who": 80}, 2),
        "shifted": synthetic(2000, {"what": 70, "who": 70}, 3),
    }
    tests = domains.slice_drop_tests(same, columns=["question_word"], n_resamples=400)
    assert not tests["differs"].any()


def test_small_slices_are_left_out(featured):
    tests = domains.slice_drop_tests(featured, columns=["question_word"], min_size=5000)
    assert tests.empty


def test_calibration_per_set_compares_confidence_with_exact_match(featured):
    table = domains.domain_calibration(featured).set_index("set")
    assert table.loc["squad/dev", "confidence"] == pytest.approx(90)
    shifted = table.loc["shifted"]
    assert shifted["overconfidence"] == pytest.approx(90 - shifted["exact_match"])
    assert shifted["ece"] == pytest.approx(shifted["overconfidence"])  # one confidence bin


def test_side_by_side_has_one_column_per_set_and_their_shares(featured):
    long = domains.domain_slices(featured, columns=["question_word"], n_resamples=100)
    wide = domains.side_by_side(long)
    assert list(wide.columns) == ["squad/dev", "shifted", "squad/dev share", "shifted share",
                                  "squad/dev n", "shifted n"]  # fmt: skip
    assert wide.loc[("question_word", "why"), "shifted n"] == 1000
    assert wide.loc[("question_word", "why"), "shifted"] == pytest.approx(
        featured["shifted"].query("question_word == 'why'")["f1"].mean()
    )
