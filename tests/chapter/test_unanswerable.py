"""Tests for qa_utils.chapter.unanswerable: the SQuAD 2.0 dev split, way rows, the reference."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from qa_utils.chapter.unanswerable import (
    REFERENCE,
    decided_table,
    dev_splits,
    reference_comparison,
    versus_text,
    way_rows,
)
from qa_utils.core.data import load_squad
from qa_utils.core.postprocess import Prediction

MINI_V2 = Path(__file__).parents[1] / "fixtures" / "mini_squad_v2.json"


@pytest.fixture(scope="module")
def mini_v2():
    return load_squad(MINI_V2)


def test_dev_splits_keep_the_report_articles_apart(mini_v2):
    sets = dev_splits(mini_v2, seed=0)
    report_titles = set(sets["report"]["title"])
    assert report_titles and sum(len(part) for part in sets.values()) == len(mini_v2)
    assert report_titles.isdisjoint([*sets["train_b"]["title"], *sets["validation"]["title"]])
    assert set(sets["train_b"]["context"]).isdisjoint(sets["validation"]["context"])


def test_dev_splits_draw_at_most_the_sizes_asked(mini_v2):
    sets = dev_splits(mini_v2, questions=2, train_questions=1, seed=0)
    assert len(sets["train_b"]) <= 1 and len(sets["report"]) <= 2


def _prediction(span: str, start: int, null_diff: float) -> Prediction:
    """A SQuAD 2.0 prediction whose best span is `span` (nbest: the span, then the null one)."""
    nbest = [
        {"text": span, "start": start, "end": start + len(span), "score": 1.0, "probability": 0.6},
        {"text": "", "start": -1, "end": -1, "score": 0.0, "probability": 0.4},
    ]
    return Prediction(span, start, start + len(span), 0.6, nbest, null_diff)


def _gold_spans(dataset) -> dict[str, Prediction]:
    """The gold span of answerable questions (null_diff -1), a wrong word elsewhere (+1)."""
    predictions = {}
    for row in dataset:
        if row["is_impossible"]:
            predictions[row["id"]] = _prediction("xyzzy", 0, 1.0)
        else:
            text, start = row["answers"]["text"][0], row["answers"]["answer_start"][0]
            predictions[row["id"]] = _prediction(text, start, -1.0)
    return predictions


def test_way_rows_at_a_threshold_between_the_scores_is_perfect(mini_v2):
    table = decided_table(mini_v2, _gold_spans(mini_v2), 0.0)
    rows = way_rows("tuned", table, 0.0, n_resamples=20).set_index("group")
    assert rows.loc["all", "f1"] == 100.0 and rows.loc["NoAns", "abstained"] == 1.0
    # One answerable question's gold answer is "The", which normalizes to "": like the
    # official script, answering it counts as abstaining (and scores 100).
    assert rows.loc["HasAns", "abstained"] == pytest.approx(0.1) and set(rows["way"]) == {"tuned"}


def test_way_rows_never_abstaining_scores_zero_on_unanswerable(mini_v2):
    table = decided_table(mini_v2, _gold_spans(mini_v2), math.inf)
    rows = way_rows("never", table, math.inf, n_resamples=20).set_index("group")
    share = mini_v2["is_impossible"].count(True) / len(mini_v2)
    assert rows.loc["NoAns", "f1"] == 0.0 and rows.loc["NoAns", "abstained"] == 0.0
    assert rows.loc["all", "f1"] == pytest.approx(100.0 * (1 - share))


def test_reference_comparison_reads_the_committed_table_or_none(tmp_path):
    assert reference_comparison(tmp_path) is None
    pd.DataFrame({"way": ["route (a)"], "f1": [50.0]}).to_csv(tmp_path / REFERENCE, index=False)
    assert reference_comparison(tmp_path)["way"].tolist() == ["route (a)"]


def test_versus_text_orders_two_ways_only_when_their_intervals_do_not_overlap():
    rows = pd.DataFrame({
        "way": ["tuned", "route", "worse"], "group": ["all"] * 3, "f1": [54.3, 54.5, 45.0],
        "f1_low": [52.0, 52.3, 43.0], "f1_high": [56.6, 56.8, 47.0],
    })  # fmt: skip
    assert "cannot be told apart from tuned" in versus_text(rows, "route", "tuned")
    assert "is below tuned" in versus_text(rows, "worse", "tuned")
    assert "is above worse" in versus_text(rows, "tuned", "worse")
