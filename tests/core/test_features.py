"""Features: windows, offsets, labels, and the round trip gold span -> logits -> EM 100."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset

from qa_utils.core import features
from qa_utils.core.data import load_squad
from qa_utils.core.features import (
    build_eval_features,
    build_train_features,
    prepare_eval_features,
    truncate_questions,
)
from qa_utils.core.metrics import score_predictions
from qa_utils.core.model import load_tokenizer
from qa_utils.core.postprocess import PAD_LOGIT, postprocess_predictions

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("embedded")


@pytest.fixture(scope="module")
def examples():
    return load_squad(FIXTURES / "mini_squad.json")


def test_long_contexts_get_several_overlapping_windows(examples, tokenizer):
    features = build_eval_features(examples, tokenizer, max_length=128, doc_stride=32)
    per_example = {i: features["example_id"].count(i) for i in set(features["example_id"])}
    assert len(per_example) == len(examples)
    assert max(per_example.values()) >= 3
    assert all(len(ids) <= 128 for ids in features["input_ids"])


def test_offsets_are_none_outside_the_context(examples, tokenizer):
    features = build_eval_features(examples.select(range(3)), tokenizer, 128, 32)
    for ids, offsets, types in zip(
        features["input_ids"], features["offset_mapping"], features["token_type_ids"], strict=True
    ):
        assert offsets[0] is None and offsets[-1] is None  # [CLS] ... [SEP]
        for token, offset, token_type in zip(ids, offsets, types, strict=True):
            is_context = token_type == 1 and token != tokenizer.sep_token_id
            assert (offset is not None) == is_context


def test_train_labels_point_at_the_answer_or_cls(examples, tokenizer):
    features = build_train_features(examples, tokenizer, max_length=128, doc_stride=32)
    eval_features = build_eval_features(examples, tokenizer, max_length=128, doc_stride=32)
    contexts = dict(zip(examples["id"], examples["context"], strict=True))
    firsts = {e["id"]: e["answers"]["text"][0] for e in examples}
    found = 0
    for i, (start, end) in enumerate(
        zip(features["start_positions"], features["end_positions"], strict=True)
    ):
        if start == 0:
            assert end == 0
            continue
        offsets = eval_features[i]["offset_mapping"]
        example_id = eval_features[i]["example_id"]
        text = contexts[example_id][offsets[start][0] : offsets[end][1]]
        assert text == firsts[example_id]
        found += 1
    assert found >= len(examples)  # every answer sits whole in at least one window


def test_round_trip_gold_logits_score_em_100(examples, tokenizer):
    features = build_eval_features(examples, tokenizer, max_length=128, doc_stride=32)
    labels = build_train_features(examples, tokenizer, max_length=128, doc_stride=32)
    width = max(len(ids) for ids in features["input_ids"])
    start = np.full((len(features), width), PAD_LOGIT, dtype=np.float32)
    end = start.copy()
    for i, ids in enumerate(features["input_ids"]):
        start[i, : len(ids)] = end[i, : len(ids)] = 0.0
        if labels[i]["start_positions"]:
            start[i, labels[i]["start_positions"]] = 10.0
            end[i, labels[i]["end_positions"]] = 10.0
    predictions = postprocess_predictions(examples, features, start, end)
    report = score_predictions(examples, {k: p.text for k, p in predictions.items()})
    assert report.exact_match == 100.0
    assert report.f1 == 100.0


def test_long_questions_are_truncated_not_rejected(tokenizer):
    long_question = "  why " + "very " * 200 + "long?"
    (cut,) = truncate_questions([long_question], tokenizer, max_question_tokens=16)
    assert cut.startswith("why very")
    assert len(tokenizer(cut, add_special_tokens=False)["input_ids"]) == 16
    examples = Dataset.from_dict(
        {
            "id": ["q"],
            "title": ["t"],
            "context": ["short context " * 20],
            "question": [long_question],
            "answers": [{"text": ["short"], "answer_start": [0]}],
        }
    )
    features = build_eval_features(
        examples, tokenizer, max_length=64, doc_stride=16, max_question_tokens=16
    )
    assert len(features) >= 1


def test_window_that_cannot_hold_context_is_a_clear_error(examples, tokenizer):
    with pytest.raises(ValueError, match="no room for context"):
        build_eval_features(
            examples, tokenizer, max_length=60, doc_stride=16, max_question_tokens=64
        )
    with pytest.raises(ValueError, match="doc_stride"):
        build_eval_features(examples, tokenizer, max_length=384, doc_stride=400)


def test_slow_tokenizer_is_rejected(examples, tokenizer):
    class Slow:
        is_fast = False

    with pytest.raises(ValueError, match="not a fast tokenizer"):
        build_eval_features(examples, Slow(), 384, 128)


def test_left_padding_tokenizers_put_the_context_first(examples, tokenizer):
    from copy import deepcopy

    left = deepcopy(tokenizer)
    left.padding_side = "left"
    features = build_eval_features(examples.select(range(2)), left, 128, 32)
    first = features[0]
    context_positions = [i for i, o in enumerate(first["offset_mapping"]) if o is not None]
    assert context_positions[0] == 1  # right after [CLS]


def test_unanswerable_questions_are_labelled_cls_in_every_window(fixtures_dir):
    tokenizer = load_tokenizer("embedded")
    examples = load_squad(fixtures_dir / "mini_squad_v2.json")
    features = build_train_features(examples, tokenizer, max_length=64, doc_stride=16)
    windows = prepare_eval_features(examples[:], tokenizer, 64, 16)["example_id"]
    impossible = dict(zip(examples["id"], examples["is_impossible"], strict=True))
    labels = list(zip(features["start_positions"], features["end_positions"], strict=True))
    assert len(labels) == len(windows) > len(examples)  # the long context has many windows
    for example_id, label in zip(windows, labels, strict=True):
        if impossible[example_id]:
            assert label == (0, 0), example_id
    answerable = examples.filter(lambda r: not r["is_impossible"]).remove_columns("is_impossible")
    v1 = build_train_features(answerable, tokenizer, max_length=64, doc_stride=16)
    kept = [label for eid, label in zip(windows, labels, strict=True) if not impossible[eid]]
    assert kept == list(zip(v1["start_positions"], v1["end_positions"], strict=True))
    assert any(label != (0, 0) for label in kept)


def test_long_contexts_make_smaller_tokenizer_batches_with_the_same_windows(
    examples, tokenizer, monkeypatch
):
    longest = max(len(c) for c in examples["context"]) + max(
        len(q.strip()) for q in examples["question"]
    )
    assert features.map_batch_size(examples) == 2_000_000 // longest == 566
    one_call = build_eval_features(examples, tokenizer, 128, 32)
    # a budget of two of the longest examples per call: batches of 2, through Dataset.map
    monkeypatch.setattr(features, "CHARS_PER_BATCH", 2 * longest)
    assert features.map_batch_size(examples) == 2
    batched = build_eval_features(examples, tokenizer, 128, 32)
    assert batched.to_dict() == one_call.to_dict()
    huge = Dataset.from_dict({"id": ["a"], "question": ["q"], "context": ["x" * 10 * longest]})
    assert features.map_batch_size(huge) == 1
