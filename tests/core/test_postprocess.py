"""Tests for qa_utils.core.postprocess: logits -> best span per example over all of its windows."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyarrow as pa
import pytest
from datasets import Dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from qa_utils.core.postprocess import (
    PAD_LOGIT,
    Prediction,
    at_threshold,
    context_offsets,
    offsets_to_array,
    pad_logits,
    postprocess_predictions,
)

CONTEXT = "The cat sat on the mat."
# [CLS] where is it [SEP] The cat sat on the mat . [SEP]
WINDOW = [None, None, None, None, None, [0, 3], [4, 7], [8, 11], [12, 14], [15, 18], [19, 22]]
WINDOW += [[22, 23], None]
THE, MAT = 9, 10  # token positions of "the" and "mat"


def features_of(windows: list[tuple[str, list]]) -> Dataset:
    """A features dataset from (example_id, offset_mapping) pairs."""
    return Dataset.from_dict(
        {
            "example_id": [example_id for example_id, _ in windows],
            "offset_mapping": [offsets for _, offsets in windows],
        }
    )


def peaked(length: int, peaks: dict[int, float], width: int | None = None) -> np.ndarray:
    """Logits (1, width) of one window: zeros with the given peaks, then PAD_LOGIT padding."""
    row = np.full((1, width or length), PAD_LOGIT, dtype=np.float32)
    row[0, :length] = 0.0
    row[0, list(peaks)] = list(peaks.values())
    return row


def test_hand_built_example_picks_the_peaked_span():
    start, end = peaked(len(WINDOW), {THE: 5.0}), peaked(len(WINDOW), {MAT: 4.0})
    (prediction,) = postprocess_predictions(
        [{"id": "q", "context": CONTEXT}], features_of([("q", WINDOW)]), start, end
    ).values()
    assert (prediction.text, prediction.start, prediction.end) == ("the mat", 15, 22)
    best = prediction.nbest[0]
    assert [best[key] for key in ("text", "start", "end", "score")] == ["the mat", 15, 22, 9.0]
    assert prediction.confidence == best["probability"]
    scores = [candidate["score"] for candidate in prediction.nbest]
    assert scores == sorted(scores, reverse=True)
    assert len(prediction.nbest) == 20


def test_result_is_a_frozen_prediction_per_example_in_example_order():
    examples = [{"id": "b", "context": CONTEXT}, {"id": "a", "context": CONTEXT}]
    features = features_of([("a", WINDOW), ("b", WINDOW)])
    logits = np.zeros((2, len(WINDOW)), dtype=np.float32)
    predictions = postprocess_predictions(examples, features, logits, logits)
    assert list(predictions) == ["b", "a"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        predictions["a"].text = "changed"


def test_question_and_special_tokens_are_never_chosen():
    # The highest logits sit on [CLS] and the question; the answer must still be context.
    start = peaked(len(WINDOW), {0: 50.0, 2: 40.0, 12: 45.0, 7: 1.0})
    end = peaked(len(WINDOW), {0: 50.0, 3: 40.0, 12: 45.0, 8: 1.0})
    prediction = postprocess_predictions(
        [{"id": "q", "context": CONTEXT}], features_of([("q", WINDOW)]), start, end
    )["q"]
    assert prediction.text == "sat on"
    context_spans = {tuple(pair) for pair in WINDOW if pair is not None}
    for candidate in prediction.nbest:
        assert any(candidate["start"] == s for s, _ in context_spans)
        assert any(candidate["end"] == e for _, e in context_spans)


def test_max_answer_length_is_respected():
    # The strongest span, "The ... mat" (6 tokens), is too long for max_answer_length=3.
    start = peaked(len(WINDOW), {5: 9.0, THE: 1.0})
    end = peaked(len(WINDOW), {MAT: 9.0})
    examples, features = [{"id": "q", "context": CONTEXT}], features_of([("q", WINDOW)])
    longest = postprocess_predictions(examples, features, start, end)["q"]
    assert longest.text == "The cat sat on the mat"
    short = postprocess_predictions(examples, features, start, end, max_answer_length=3)["q"]
    assert short.text == "the mat"
    token_of_start = {pair[0]: i for i, pair in enumerate(WINDOW) if pair is not None}
    token_of_end = {pair[1]: i for i, pair in enumerate(WINDOW) if pair is not None}
    for candidate in short.nbest:
        assert token_of_end[candidate["end"]] - token_of_start[candidate["start"]] + 1 <= 3


def test_the_best_span_over_all_windows_wins():
    # Two windows of one example; the second one scores higher (raw scores are compared).
    first_window = WINDOW[:9] + [None]  # ... "sat on" [SEP]
    second_window = [None, None, None, None, None, [15, 18], [19, 22], [22, 23], None]
    features = features_of([("q", first_window), ("q", second_window), ("other", WINDOW)])
    start = np.concatenate(
        [
            peaked(10, {7: 6.0}, len(WINDOW)),
            peaked(9, {5: 7.0}, len(WINDOW)),
            peaked(len(WINDOW), {}),
        ]
    )
    end = np.concatenate(
        [
            peaked(10, {8: 6.0}, len(WINDOW)),
            peaked(9, {6: 7.0}, len(WINDOW)),
            peaked(len(WINDOW), {}),
        ]
    )
    examples = [{"id": "q", "context": CONTEXT}, {"id": "other", "context": CONTEXT}]
    prediction = postprocess_predictions(examples, features, start, end)["q"]
    assert (prediction.text, prediction.nbest[0]["score"]) == ("the mat", 14.0)
    assert prediction.nbest[1]["text"] == "sat on"


def test_nbest_probabilities_are_a_softmax_of_the_scores():
    rng = np.random.default_rng(0)
    start, end = (rng.normal(size=(1, len(WINDOW))).astype(np.float32) for _ in range(2))
    prediction = postprocess_predictions(
        [{"id": "q", "context": CONTEXT}], features_of([("q", WINDOW)]), start, end
    )["q"]
    probabilities = [candidate["probability"] for candidate in prediction.nbest]
    scores = np.array([candidate["score"] for candidate in prediction.nbest])
    assert math.isclose(sum(probabilities), 1.0)
    np.testing.assert_allclose(probabilities, np.exp(scores) / np.exp(scores).sum())
    assert prediction.confidence == max(probabilities)


def test_example_without_a_valid_span_gets_the_empty_answer():
    ids = ["no-context", "no-windows", "fine"]
    examples = [{"id": example_id, "context": CONTEXT} for example_id in ids]
    features = features_of([("no-context", [None] * 6), ("fine", WINDOW)])
    logits = pad_logits([np.ones(6), np.ones(len(WINDOW))])
    predictions = postprocess_predictions(examples, features, logits, logits)
    empty = Prediction(text="", start=0, end=0, confidence=0.0, nbest=[])
    assert predictions["no-context"] == predictions["no-windows"] == empty
    assert predictions["fine"].text
    first = logits[:1, :6]
    only_question = postprocess_predictions(examples[:1], features.select([0]), first, first)
    assert only_question == {"no-context": empty}


def test_no_features_at_all_gives_empty_answers():
    examples = [{"id": "q", "context": CONTEXT}]
    features = features_of([("q", WINDOW)]).select([])
    logits = pad_logits([])
    assert postprocess_predictions(examples, features, logits, logits)["q"].text == ""


def test_dataset_and_list_inputs_agree_and_selected_rows_are_respected():
    rng = np.random.default_rng(1)
    examples = [{"id": "a", "context": CONTEXT}, {"id": "b", "context": CONTEXT}]
    shuffled = features_of([("x", [None]), ("b", WINDOW), ("a", WINDOW[:8])]).select([2, 1])
    start, end = (pad_logits([rng.normal(size=8), rng.normal(size=13)]) for _ in range(2))
    from_datasets = postprocess_predictions(Dataset.from_list(examples), shuffled, start, end)
    from_lists = postprocess_predictions(examples, list(shuffled), start, end)
    assert from_datasets == from_lists
    assert from_datasets["a"].end <= 11  # only the first three words are in a's window


def reference_nbest(examples, windows, start_logits, end_logits, n_best=20, max_length=30):
    """The straightforward loop (top-n starts x top-n ends per window): id -> n-best."""
    result = {}
    for example in examples:
        candidates = []
        for i, (example_id, offsets) in enumerate(windows):
            if example_id != example["id"]:
                continue
            for s in np.argsort(start_logits[i])[-1 : -n_best - 1 : -1]:
                for e in np.argsort(end_logits[i])[-1 : -n_best - 1 : -1]:
                    if s >= len(offsets) or e >= len(offsets) or None in (offsets[s], offsets[e]):
                        continue
                    if s <= e < s + max_length:
                        score = start_logits[i][s] + end_logits[i][e]
                        candidates.append((float(score), offsets[s][0], offsets[e][1]))
        result[example["id"]] = sorted(candidates, key=lambda c: c[0], reverse=True)[:n_best]
    return result


def random_case(rng: np.random.Generator, n_examples: int = 6):
    """Examples of 40 words with 1-3 windows each, and continuous random logits."""
    words = [f"w{i}" for i in range(40)]
    context, spans, position = " ".join(words), [], 0
    for word in words:
        spans.append([position, position + len(word)])
        position += len(word) + 1
    examples, windows = [], []
    for k in range(n_examples):
        examples.append({"id": f"q{k}", "context": context})
        for _ in range(rng.integers(1, 4)):
            first, count = int(rng.integers(0, 30)), int(rng.integers(1, 25))
            question = int(rng.integers(1, 6))
            windows.append((f"q{k}", [None] * question + spans[first : first + count] + [None]))
    starts, ends = ([rng.normal(0, 3, len(w)) for _, w in windows] for _ in range(2))
    return examples, windows, pad_logits(starts), pad_logits(ends)


@pytest.mark.parametrize("n_best_size, max_answer_length", [(20, 30), (5, 4), (1, 1)])
def test_agrees_with_a_straightforward_reference_loop(n_best_size, max_answer_length):
    rng = np.random.default_rng(n_best_size)
    for _ in range(20):
        examples, windows, start, end = random_case(rng)
        ours = postprocess_predictions(
            examples, features_of(windows), start, end, n_best_size, max_answer_length
        )
        reference = reference_nbest(examples, windows, start, end, n_best_size, max_answer_length)
        for example_id, nbest in reference.items():
            got = [(c["score"], c["start"], c["end"]) for c in ours[example_id].nbest]
            assert got == nbest


@st.composite
def windows_and_logits(draw):
    """Up to three examples sharing up to five windows of random extent, and any logits."""
    context = draw(st.text(alphabet="ab ", min_size=1, max_size=30))
    cuts = sorted(draw(st.lists(st.integers(0, len(context)), min_size=2, max_size=12)))
    spans = [[a, b] for a, b in zip(cuts, cuts[1:], strict=False)] or [[0, len(context)]]
    n_examples = draw(st.integers(1, 3))
    windows = []
    for _ in range(draw(st.integers(0, 5))):
        # As a tokenizer lays a window out: question (None), a run of context tokens, [SEP].
        first = draw(st.integers(0, len(spans) - 1))
        run = spans[first : first + draw(st.integers(0, len(spans)))]
        layout = [None] * draw(st.integers(1, 4)) + run + [None] * draw(st.integers(0, 1))
        windows.append((f"q{draw(st.integers(0, n_examples - 1))}", layout))
    values = st.floats(-1e3, 1e3, width=32)
    logits = [
        pad_logits(
            [
                np.array(draw(st.lists(values, min_size=len(w), max_size=len(w))), np.float32)
                for _, w in windows
            ]
        )
        for _ in range(2)
    ]
    examples = [{"id": f"q{k}", "context": context} for k in range(n_examples)]
    return examples, windows, *logits, draw(st.integers(1, 4))


@settings(max_examples=60, deadline=None)
@given(windows_and_logits())
def test_spans_never_leave_the_context_and_respect_the_length(case):
    examples, windows, start, end, max_answer_length = case
    predictions = postprocess_predictions(
        examples, features_of(windows), start, end, max_answer_length=max_answer_length
    )
    assert set(predictions) == {example["id"] for example in examples}
    starts = {pair[0] for _, layout in windows for pair in layout if pair is not None}
    ends = {pair[1] for _, layout in windows for pair in layout if pair is not None}
    for example in examples:
        prediction = predictions[example["id"]]
        context = example["context"]
        assert 0 <= prediction.start <= prediction.end <= len(context)
        assert prediction.text == context[prediction.start : prediction.end]
        assert 0.0 <= prediction.confidence <= 1.0
        for candidate in prediction.nbest:
            assert candidate["start"] in starts and candidate["end"] in ends
        if prediction.nbest:
            assert math.isclose(sum(c["probability"] for c in prediction.nbest), 1.0)


def test_offsets_to_array_from_lists_and_from_arrow_agree():
    layouts = [[None, [0, 3], [4, 7], None], [None, [2, 5]], [], [[1, 2]]]
    expected = [
        [[-1, -1], [0, 3], [4, 7], [-1, -1]],
        [[-1, -1], [2, 5], [-1, -1], [-1, -1]],
        [[-1, -1]] * 4,
        [[1, 2], [-1, -1], [-1, -1], [-1, -1]],
    ]
    assert offsets_to_array(layouts).tolist() == expected
    # Several chunks, one of them sliced, as Dataset.map and select produce.
    chunked = pa.chunked_array([pa.array(layouts[:1]), pa.array(layouts).slice(1)])
    assert offsets_to_array(chunked).tolist() == expected
    mapped = Dataset.from_dict({"offset_mapping": layouts}).map(batched=True, batch_size=1)
    column = mapped.with_format("arrow")["offset_mapping"]
    assert column.num_chunks > 1
    assert offsets_to_array(column, seq_len=5)[:, :4].tolist() == expected
    assert offsets_to_array(column, seq_len=5)[:, 4].tolist() == [[-1, -1]] * 4


def test_context_offsets_lists_the_spans_of_context_tokens_in_order():
    offsets = context_offsets([[None, [0, 3], [4, 7]], [[2, 5], None]])
    assert offsets.is_context.tolist() == [[False, True, True], [True, False, False]]
    assert offsets.spans.tolist() == [[0, 3], [4, 7], [2, 5]]


def test_pad_logits_pads_on_the_right():
    padded = pad_logits([np.ones(3), np.ones(1)])
    assert padded.dtype == np.float32
    assert padded.tolist() == [[1, 1, 1], [1, PAD_LOGIT, PAD_LOGIT]]
    assert pad_logits([]).shape == (0, 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end_logits": np.zeros((1, 5), np.float32)}, "same shape"),
        ({"start_logits": np.zeros((2, 13)), "end_logits": np.zeros((2, 13))}, "2 rows"),
        ({"start_logits": np.zeros((1, 5)), "end_logits": np.zeros((1, 5))}, "13 tokens"),
        ({"examples": [{"id": "other", "context": CONTEXT}]}, "example_id 'q'"),
        ({"n_best_size": 0}, "n_best_size"),
        ({"end_logits": np.full((1, len(WINDOW)), np.nan, np.float32)}, "end_logits has NaN"),
        ({"start_logits": peaked(len(WINDOW), {2: np.nan, THE: 1.0})}, "start_logits has NaN"),
    ],
)
def test_errors_name_the_problem(change, message):
    arguments = {
        "examples": [{"id": "q", "context": CONTEXT}],
        "features": features_of([("q", WINDOW)]),
        "start_logits": np.zeros((1, len(WINDOW)), np.float32),
        "end_logits": np.zeros((1, len(WINDOW)), np.float32),
        **change,
    }
    with pytest.raises(ValueError, match=message):
        postprocess_predictions(**arguments)


# --- SQuAD 2.0 mode: the null candidate --------------------------------------------------------


def _null_example(cls_start: float, cls_end: float) -> dict:
    """One window whose best span is "the mat" (score 9) with the given [CLS] logits."""
    start = peaked(len(WINDOW), {0: cls_start, THE: 5.0})
    end = peaked(len(WINDOW), {0: cls_end, MAT: 4.0})
    return {"start": start, "end": end}


def _predict(logits: dict, threshold: float | None, windows: int = 1) -> Prediction:
    features = features_of([("q", WINDOW)] * windows)
    start = np.repeat(logits["start"], windows, axis=0)
    end = np.repeat(logits["end"], windows, axis=0)
    examples = [{"id": "q", "context": CONTEXT}]
    return postprocess_predictions(examples, features, start, end, null_threshold=threshold)["q"]


def test_without_a_threshold_predictions_are_the_v1_ones():
    logits = _null_example(6.0, 6.0)
    v1 = _predict(logits, None)
    assert v1.null_diff is None and v1.na_prob is None
    assert all(c["start"] >= 0 for c in v1.nbest)


def test_null_wins_past_the_threshold_and_is_in_the_nbest():
    logits = _null_example(6.0, 6.0)  # null 12 against the best span's 9
    abstained = _predict(logits, 0.0)
    assert (abstained.text, abstained.start, abstained.end) == ("", -1, -1)
    assert abstained.null_diff == 3.0 and abstained.na_prob == pytest.approx(1 / (1 + math.exp(-3)))
    null = abstained.nbest[0]
    assert (null["text"], null["start"], null["score"]) == ("", -1, 12.0)
    assert abstained.confidence == null["probability"]
    assert sum(c["probability"] for c in abstained.nbest) == pytest.approx(1.0)
    assert len(abstained.nbest) == 21  # 20 spans and the null candidate
    assert abstained.best_span()["text"] == "the mat"


def test_threshold_is_strict_and_inf_never_abstains():
    logits = _null_example(6.0, 6.0)
    assert _predict(logits, 3.0).text == "the mat"  # a difference equal to it answers
    assert _predict(logits, 2.999).text == ""
    never = _predict(logits, math.inf)
    v1 = _predict(logits, None)
    assert (never.text, never.start, never.end) == (v1.text, v1.start, v1.end)
    assert never.null_diff == 3.0


def test_null_score_is_the_smallest_cls_score_over_windows():
    high, low = _null_example(6.0, 6.0), _null_example(1.0, 2.0)
    features = features_of([("q", WINDOW), ("q", WINDOW)])
    start = np.concatenate([high["start"], low["start"]])
    end = np.concatenate([high["end"], low["end"]])
    (prediction,) = postprocess_predictions(
        [{"id": "q", "context": CONTEXT}], features, start, end, null_threshold=0.0
    ).values()
    assert prediction.null_diff == 3.0 - 9.0 and prediction.text == "the mat"
    nulls = [c for c in prediction.nbest if c["start"] < 0]
    assert [c["score"] for c in nulls] == [3.0]


def test_at_threshold_decides_again_as_postprocessing_would():
    logits = _null_example(6.0, 6.0)
    scored = _predict(logits, math.inf)
    for threshold in (-10.0, 2.999, 3.0, 10.0):
        assert at_threshold(scored, threshold) == _predict(logits, threshold)
    with pytest.raises(ValueError, match="only SQuAD 2.0 predictions"):
        at_threshold(_predict(logits, None), 0.0)
