"""Tests for qa_utils.core.evaluate: the result files of a v1.1 and of a SQuAD 2.0 evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_utils.core.data import load_squad
from qa_utils.core.evaluate import NA_PROBS, NBEST, PREDICTIONS, evaluate
from qa_utils.core.metrics import read_na_probs, read_predictions, score_predictions
from qa_utils.core.model import load_tokenizer
from qa_utils.project.config import get_profile

FIXTURES = Path(__file__).parents[1] / "fixtures"
PROFILE = get_profile("smoke", max_length=96, doc_stride=32, eval_batch_size=8)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tiny_bert) -> Path:
    """A tiny BERT and the embedded tokenizer saved as a model folder."""
    folder = tmp_path_factory.mktemp("tiny")
    tiny_bert(max_positions=128).save_pretrained(folder)
    load_tokenizer("embedded").save_pretrained(folder)
    return folder


def test_v2_evaluation_writes_na_probs_and_the_official_scores(tiny_model, tmp_path):
    examples = load_squad(FIXTURES / "mini_squad_v2.json")
    metrics = evaluate(tiny_model, examples, tmp_path, PROFILE, progress=False)
    predictions = read_predictions(tmp_path / PREDICTIONS)
    na_probs = read_na_probs(tmp_path / NA_PROBS)
    assert list(na_probs) == list(predictions) == examples["id"]
    assert all(0.0 <= p <= 1.0 for p in na_probs.values())
    official = score_predictions(examples, predictions, na_probs).summary()
    assert metrics["squad_v2"] == official and "best_f1_thresh" in official
    nbest = json.loads((tmp_path / NBEST).read_text(encoding="utf-8"))
    assert all(sum(c["start"] == -1 for c in candidates) == 1 for candidates in nbest.values())


def test_v1_evaluation_writes_no_na_probs(tiny_model, tmp_path):
    examples = load_squad(FIXTURES / "mini_squad.json", limit=6)
    metrics = evaluate(tiny_model, examples, tmp_path, PROFILE, progress=False)
    assert not (tmp_path / NA_PROBS).exists() and "squad_v2" not in metrics
    nbest = json.loads((tmp_path / NBEST).read_text(encoding="utf-8"))
    assert all(c["start"] >= 0 for candidates in nbest.values() for c in candidates)
