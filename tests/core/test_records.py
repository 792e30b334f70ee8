"""Tests for qa_utils.core.records: the per-example table of v1.1 and SQuAD 2.0 predictions."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_utils.core.data import load_squad
from qa_utils.core.metrics import V2_COLUMNS
from qa_utils.core.records import RECORD_COLUMNS, build_records

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def mini():
    return load_squad(FIXTURES / "mini_squad.json")


@pytest.fixture(scope="module")
def mini_v2():
    return load_squad(FIXTURES / "mini_squad_v2.json")


def _spans_or_empty(dataset) -> dict[str, str]:
    """A gold answer for answerable questions, a span of the context for unanswerable ones."""
    return {r["id"]: (r["answers"]["text"] or [r["context"][4:20]])[0] for r in dataset}


def test_v1_table_keeps_its_columns(mini):
    table = build_records(mini, _spans_or_empty(mini)).table
    assert list(table.columns) == list(RECORD_COLUMNS)


def test_v2_table_adds_the_v2_columns_in_dataset_order(mini_v2):
    scored = build_records(mini_v2, _spans_or_empty(mini_v2))
    table = scored.table
    assert list(table.columns) == [*RECORD_COLUMNS, *V2_COLUMNS]
    assert table["id"].tolist() == mini_v2["id"]
    assert table["is_impossible"].tolist() == mini_v2["is_impossible"]
    # Answering an unanswerable question with a span scores 0; the gold answers score 100.
    assert (table.loc[table["is_impossible"], "f1"] == 0).all()
    assert table["f1"].mean() == pytest.approx(scored.report.summary()["f1"], abs=1e-9)


def test_v2_threshold_turns_answers_into_abstentions(mini_v2):
    predictions = _spans_or_empty(mini_v2)
    na_probs = {
        qid: 0.9 if impossible else 0.1
        for qid, impossible in zip(mini_v2["id"], mini_v2["is_impossible"], strict=True)
    }
    scored = build_records(mini_v2, predictions, na_probs=na_probs, na_prob_thresh=0.5)
    table = scored.table
    assert table["abstained"].tolist() == [
        impossible or qid == "v2-1-2-4"  # its gold "The" is no answer once normalised
        for qid, impossible in zip(table["id"], table["is_impossible"], strict=True)
    ]
    assert scored.report.summary()["f1"] == 100.0
    assert (table.loc[table["is_impossible"], "answer_f1"] == 0).all()
    assert table["na_prob"].tolist() == [na_probs[qid] for qid in table["id"]]
