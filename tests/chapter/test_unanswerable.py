"""Tests for qa_utils.chapter.unanswerable: the SQuAD 2.0 dev split, way rows, the reference."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_utils.analysis.stats import calibration_table
from qa_utils.analysis.unanswerable import best_row
from qa_utils.chapter.unanswerable import (
    BASE_START,
    REFERENCE,
    calibration_text,
    coverage_text,
    decided_table,
    dev_splits,
    reference_comparison,
    route_a_text,
    route_b_text,
    threshold_text,
    training_table,
    versus_text,
    way_rows,
)
from qa_utils.core.data import load_squad
from qa_utils.core.postprocess import Prediction, sigmoid

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
    assert "overlap, so this comparison does not order them" in versus_text(rows, "route", "tuned")
    assert "is below tuned" in versus_text(rows, "worse", "tuned")
    assert "is above worse" in versus_text(rows, "tuned", "worse")


def test_training_table_reads_the_v1_rows_as_started_from_the_base_encoder(tmp_path):
    rows = pd.DataFrame({
        "way": ["v1.1 model, tuned threshold", "route (a)"], "group": ["all", "all"],
        "start": ["", "v1.1 model"], "train_questions": [16000, 1500],
        "train_unanswerable": [0, 500],
    })  # fmt: skip
    rows.to_csv(tmp_path / REFERENCE, index=False)
    table = training_table(reference_comparison(tmp_path))
    assert table["start"].tolist() == [BASE_START, "v1.1 model"]
    assert table.loc["route (a)", "train_unanswerable"] == 500


def _sizes(b_questions: int = 1500) -> pd.DataFrame:
    return pd.DataFrame(
        {"train_questions": [1500, b_questions], "train_unanswerable": [500, 722],
         "start": ["v1.1 model"] * 2},
        index=["route (a)", "route (b)"],
    )  # fmt: skip


def test_route_b_text_says_it_is_a_draw_of_the_training_half():
    assert "a draw of 1,500 of the training half's 4,400 real" in route_b_text(_sizes(), 4400)
    assert "(722 unanswerable; as many questions as route (a);" in route_b_text(_sizes(), 4400)
    assert "all 1,500 of the training half's real" in route_b_text(_sizes(), 1500)
    unknown = route_b_text(_sizes(900))
    assert "a draw of 900 of the training half's real" in unknown and "route (a)" not in unknown
    assert route_a_text(_sizes()).startswith("1,500 SQuAD v1.1 questions of which 500 made")


def test_threshold_text_gives_the_gap_of_the_rounded_scores():
    curve = pd.DataFrame({
        "threshold": [-math.inf, sigmoid(-13.38), sigmoid(-13.17)], "score": [51.1, 56.04, 56.66],
        "answered": [0.0, 0.2, 0.21],
    })  # fmt: skip
    text = threshold_text(curve, -13.376, best_row(curve))
    assert "T = -13.38, the report half scores F1 56.0" in text
    assert "T = -13.17, would give 56.7, 0.7 points more" in text  # not 0.6, as 56.66 - 56.04


def test_coverage_text_sets_the_area_against_a_chance_ranking_and_names_the_lowest_risk():
    coverage = pd.DataFrame({"coverage": np.arange(1, 101) / 100})
    coverage["risk"] = np.r_[0.0, np.linspace(0.5, 0.3, 9), np.linspace(0.3, 0.65, 90)]
    text = coverage_text(coverage, 0.52, 100, min_questions=5)
    assert "AURC) is 0.520, against 0.650 for a ranking no better than chance" in text
    assert "lowers the mean risk by 0.130" in text
    # The first question alone has risk 0: too few to quote, so the lowest is at 10%.
    assert "it is lowest, 0.30, answering the surest 10% (10 questions;" in text
    worse = coverage_text(coverage, 0.7, 100, min_questions=5)
    assert "does no better than chance" in worse


def test_calibration_text_counts_the_bins_too_small_to_read():
    table = calibration_table(np.r_[np.zeros(993), [0.15] * 3, [0.25, 0.45, 0.55, 0.95]],
                              np.r_[np.arange(993) % 2, [1, 1, 0], [0, 1, 1, 1]])  # fmt: skip
    text = calibration_text(table, 20)
    assert text.startswith("993 of the 1,000 questions lie in na_prob 0.0-0.1, 50% of them")
    assert text.endswith(
        "the other 7 lie in 5 bins of fewer than 20 questions (hatched), too few to read."
    )
