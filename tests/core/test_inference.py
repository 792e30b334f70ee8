"""Batched prediction: order, padding, equivalence with unbatched inference, and `answer()`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from datasets import Dataset

from qa_utils.core.features import build_eval_features
from qa_utils.core.inference import QAModel, length_sorted_batches, predict_logits
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.core.postprocess import PAD_LOGIT


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)  # the QA head of the plain encoder is new: make it repeatable
    return load_qa_model("embedded")


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer("embedded")


@pytest.fixture(scope="module")
def features(tokenizer):
    examples = Dataset.from_dict(
        {
            "id": ["a", "b", "c"],
            "title": ["t"] * 3,
            "question": ["Who built it?", "When?", "Where does the long river flow to the sea?"],
            "context": ["Gustave Eiffel built it.", "In 1889 " * 40, "The river flows north. " * 5],
            "answers": [{"text": ["x"], "answer_start": [0]}] * 3,
        }
    )
    return build_eval_features(examples, tokenizer, max_length=64, doc_stride=16)


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


def test_answer_returns_a_span_of_the_context(model, tokenizer):
    qa = QAModel(model, tokenizer, max_length=64, doc_stride=16)
    context = "The Eiffel Tower stands in Paris. It was finished in 1889 for the World's Fair. " * 3
    answer = qa.answer("When was the tower finished?", context)
    assert context[answer.start : answer.end] == answer.text
    assert answer.text and 0.0 < answer.score <= 1.0


def test_load_rejects_a_missing_model_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        QAModel.load(tmp_path / "nowhere")
