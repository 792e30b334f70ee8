"""The one inference path: batching, padding, `infer` against its stages, settings, `answer()`."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from datasets import Dataset

from qa_utils.core.data import load_squad
from qa_utils.core.features import build_eval_features
from qa_utils.core.inference import (
    NBEST_SHOWN,
    QAModel,
    infer,
    length_sorted_batches,
    predict_logits,
)
from qa_utils.core.metrics import score_predictions
from qa_utils.core.model import load_qa_model, load_tokenizer, save_inference_settings
from qa_utils.core.postprocess import PAD_LOGIT, postprocess_predictions
from qa_utils.core.records import tune_null_threshold
from qa_utils.project.config import InferenceSettings

SETTINGS = InferenceSettings(
    max_length=64, doc_stride=16, n_best_size=5, max_answer_length=10, batch_size=3
)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)  # the QA head of the plain encoder is new: make it repeatable
    return load_qa_model("embedded")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("embedded")


@pytest.fixture(scope="module")
def examples():
    return Dataset.from_dict(
        {
            "id": ["a", "b", "c"],
            "title": ["t"] * 3,
            "question": ["Who built it?", "When?", "Where does the long river flow to the sea?"],
            "context": ["Gustave Eiffel built it.", "In 1889 " * 40, "The river flows north. " * 5],
            "answers": [{"text": ["x"], "answer_start": [0]}] * 3,
        }
    )


@pytest.fixture(scope="module")
def features(examples, tokenizer):
    return build_eval_features(examples, tokenizer, SETTINGS.max_length, SETTINGS.doc_stride)


def test_batches_cover_every_window_once_longest_first():
    lengths = np.array([5, 9, 3, 9, 7])
    batches = list(length_sorted_batches(lengths, batch_size=2))
    assert sorted(np.concatenate(batches).tolist()) == [0, 1, 2, 3, 4]
    assert [lengths[b].max() for b in batches] == [9, 7, 3]


def test_batched_logits_equal_one_at_a_time(model, features):
    start, end = predict_logits(model, features, batch_size=3, progress=False)
    for i in range(len(features)):
        ids = torch.tensor([features[i]["input_ids"]])
        with torch.inference_mode():
            out = model(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                token_type_ids=torch.tensor([features[i]["token_type_ids"]]),
            )
        width = ids.shape[1]
        np.testing.assert_allclose(start[i, :width], out.start_logits[0].numpy(), atol=1e-4)
        np.testing.assert_allclose(end[i, :width], out.end_logits[0].numpy(), atol=1e-4)
        assert (start[i, width:] == PAD_LOGIT).all()


def test_infer_is_its_stages_composed_with_the_settings(model, tokenizer, examples, features):
    start, end = predict_logits(model, features, SETTINGS.batch_size, progress=False)
    expected = postprocess_predictions(examples, features, start, end, 5, 10)
    result = infer(model, tokenizer, examples, SETTINGS)
    assert result.predictions == expected
    assert result.features.to_dict() == features.to_dict()
    assert set(result.seconds) == {"features_s", "predict_s", "postprocess_s"}
    again = infer(model, None, examples, SETTINGS, features=features)
    assert again.predictions == expected


def test_infer_records_are_the_scored_per_example_table(model, tokenizer, examples):
    scored = infer(model, tokenizer, examples, SETTINGS).records()
    assert scored.table["id"].tolist() == ["a", "b", "c"]
    assert scored.table["n_windows"].tolist()[1] > 1  # the long context needs several windows
    assert scored.report.total == 3 and not scored.missing_ids


def test_infer_without_tokenizer_or_features_is_refused(model, examples):
    with pytest.raises(ValueError, match="needs a tokenizer or prebuilt features"):
        infer(model, None, examples, SETTINGS)


def test_load_answers_with_the_settings_saved_beside_the_model(tmp_path):
    load_qa_model("embedded").save_pretrained(tmp_path)
    load_tokenizer("embedded").save_pretrained(tmp_path)
    save_inference_settings(SETTINGS, tmp_path)
    assert QAModel.load(tmp_path).settings == SETTINGS
    other = InferenceSettings(128, 32, 20, 30, 8)
    assert QAModel.load(tmp_path, other).settings == other


def test_answer_returns_a_span_of_the_context(model, tokenizer):
    qa = QAModel(model, tokenizer, SETTINGS)
    context = "The Eiffel Tower stands in Paris. It was finished in 1889 for the World's Fair. " * 3
    answer = qa.answer("When was the tower finished?", context)
    assert context[answer.start : answer.end] == answer.text
    assert answer.text and 0.0 < answer.score <= 1.0


def test_answer_carries_its_nbest_best_first_starting_with_the_answer(model, tokenizer):
    qa = QAModel(model, tokenizer, SETTINGS)
    context = "The ferry to Velmora leaves twice a day from the old harbour in summer."
    answer = qa.answer("How often does the ferry leave?", context)
    assert len(answer.nbest) == NBEST_SHOWN
    first = answer.nbest[0]
    assert (first.text, first.start, first.end, first.score) == (
        answer.text,
        answer.start,
        answer.end,
        answer.score,
    )
    assert all(context[c.start : c.end] == c.text for c in answer.nbest)
    scores = [c.score for c in answer.nbest]
    assert scores == sorted(scores, reverse=True) and sum(scores) <= 1.0 + 1e-6


def test_load_rejects_a_missing_model_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        QAModel.load(tmp_path / "nowhere")


# --- SQuAD 2.0 ---------------------------------------------------------------------------------


V2_SETTINGS = dataclasses.replace(SETTINGS, batch_size=64)  # the long context has 40 windows


@pytest.fixture(scope="module")
def tiny(tiny_bert):
    """A tiny random BERT: SQuAD 2.0 decoding needs logits, not a good model."""
    return tiny_bert(seed=1)


@pytest.fixture(scope="module")
def examples_v2():
    return load_squad(Path(__file__).parents[1] / "fixtures" / "mini_squad_v2.json")


def test_v2_examples_get_no_answer_scores_but_never_abstain_by_default(
    tiny, tokenizer, examples_v2
):
    v2 = infer(tiny, tokenizer, examples_v2, V2_SETTINGS)
    v1 = infer(tiny, tokenizer, examples_v2.remove_columns("is_impossible"), V2_SETTINGS)
    assert all(p.null_diff is not None for p in v2.predictions.values())
    assert all(p.null_diff is None for p in v1.predictions.values())
    assert v2.answers == v1.answers and all(v2.answers.values())
    table = v2.records().table
    assert table["na_prob"].tolist() == [v2.predictions[i].na_prob for i in table["id"]]


def test_a_threshold_makes_it_abstain(tiny, tokenizer, examples_v2):
    everywhere = dataclasses.replace(V2_SETTINGS, null_threshold=-1e9)
    result = infer(tiny, tokenizer, examples_v2, everywhere)
    assert set(result.answers.values()) == {""}
    summary = result.records().report.summary()
    # One answerable question's only gold answer, "The", is "" once normalised: it scores too.
    assert (summary["NoAns_f1"], summary["HasAns_f1"]) == (100.0, 10.0)


def test_tuned_threshold_is_the_best_of_every_threshold(tiny, tokenizer, examples_v2):
    predictions = infer(tiny, tokenizer, examples_v2, V2_SETTINGS).predictions
    best_f1, threshold = tune_null_threshold(examples_v2, predictions)
    diffs = sorted({p.null_diff for p in predictions.values()})

    def f1_at(t: float) -> float:
        texts = {
            k: "" if p.null_diff > t else p.best_span()["text"] for k, p in predictions.items()
        }
        return score_predictions(examples_v2, texts).f1

    assert best_f1 == pytest.approx(max(f1_at(t) for t in [-math.inf, *diffs]), abs=1e-9)
    assert f1_at(threshold) == pytest.approx(best_f1, abs=1e-9)
    with pytest.raises(ValueError, match="SQuAD 2.0 examples"):
        tune_null_threshold(examples_v2.remove_columns("is_impossible"), predictions)


def test_answer_can_be_no_answer_with_its_score(tiny, tokenizer):
    context = "The Eiffel Tower stands in Paris. It was finished in 1889 for the World's Fair."
    qa = QAModel(tiny, tokenizer, dataclasses.replace(SETTINGS, null_threshold=-1e9))
    answer = qa.answer("Who painted the tower?", context)
    assert (answer.text, answer.start, answer.end, answer.answered) == ("", -1, -1, False)
    assert 0.0 < answer.score <= 1.0 and 0.0 <= answer.na_prob <= 1.0
    plain = QAModel(tiny, tokenizer, SETTINGS).answer("Who painted the tower?", context)
    assert plain.answered and plain.na_prob is None


def test_windows_longer_than_the_model_takes_are_refused_before_any_work(tiny_bert, examples):
    short = tiny_bert(max_positions=128)
    too_long = InferenceSettings(192, 64, 5, 10, 4)
    with pytest.raises(ValueError, match=r"max_length=192 is longer than model .* \(128 positions"):
        infer(short, None, examples, too_long)  # refused before it needs a tokenizer


def test_count_tokens_counts_what_the_model_tokenizer_makes(model, tokenizer):
    qa = QAModel(model, tokenizer, SETTINGS)
    for text in ("The Eiffel Tower stands in Paris.", "光の喫茶 " * 50, "x" * 5000):
        assert qa.count_tokens(text) == len(tokenizer(text, add_special_tokens=False).input_ids)
    assert qa.count_tokens("巴黎铁塔") == 4  # one token a CJK character: why tokens, not chars
