"""Examples -> model features: sliding windows over the context, with offsets and span labels.

Works with any BERT-family fast tokenizer. Questions are left-stripped (leading spaces waste
tokens and break some tokenizers' offsets) and capped at `max_question_tokens` tokens (default:
64, as BERT's original `run_squad.py` `max_query_length`, or half the window if that is less):
a longer question is truncated so that every window keeps room for context.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow.compute as pc
from datasets import Dataset
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

MAX_QUESTION_TOKENS = 64
MAP_BATCH = 1000
"""Examples per batch of `Dataset.map` (its default): smaller inputs are built in one call."""
CHARS_PER_BATCH = 2_000_000
"""Most characters (contexts, questions) tokenized in one call: windows take about 220 bytes
a character as Python lists (measured: a 1M-character context, 981 windows of 384, 223 MB), so
one batch stays under about 500 MB however long the texts are."""


def check_fast_tokenizer(tokenizer: PreTrainedTokenizerBase) -> None:
    """Raise a clear error for tokenizers that cannot return offset mappings."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"tokenizer {type(tokenizer).__name__} is not a fast tokenizer; question answering "
            "features need offset mappings, which only fast (Rust-backed) tokenizers provide"
        )


def question_budget(max_length: int, max_question_tokens: int | None = None) -> int:
    """The most question tokens a window may hold (default: 64, at most half the window)."""
    return max_question_tokens or min(MAX_QUESTION_TOKENS, max_length // 2)


def check_window(max_length: int, doc_stride: int, max_question_tokens: int) -> None:
    """Reject window settings that leave no room for context or make windows overlap fully."""
    room = max_length - max_question_tokens - 3  # [CLS] question [SEP] context [SEP]
    if room <= 0:
        raise ValueError(
            f"max_length={max_length} leaves no room for context after a question of up to "
            f"{max_question_tokens} tokens; raise max_length or lower max_question_tokens"
        )
    if not 0 < doc_stride < room:
        raise ValueError(
            f"doc_stride={doc_stride} must be positive and smaller than the context room "
            f"of a window ({room} tokens for max_length={max_length})"
        )


def check_settings(max_length: int, doc_stride: int) -> None:
    """Refuse windows that cannot be built (`check_window` with the default question budget)."""
    check_window(max_length, doc_stride, question_budget(max_length))


def truncate_questions(
    questions: list[str], tokenizer: PreTrainedTokenizerBase, max_question_tokens: int
) -> list[str]:
    """Left-strip questions and cut those longer than `max_question_tokens` tokens."""
    stripped = [q.lstrip() for q in questions]
    encoded = tokenizer(stripped, add_special_tokens=False, return_offsets_mapping=True)
    result = []
    for text, offsets in zip(stripped, encoded["offset_mapping"], strict=True):
        result.append(
            text
            if len(offsets) <= max_question_tokens
            else text[: offsets[max_question_tokens - 1][1]]
        )
    return result


def _tokenize(
    batch: dict[str, list[Any]],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    doc_stride: int,
    max_question_tokens: int | None,
) -> tuple[Any, int]:
    """Tokenize question/context pairs into overlapping windows; return them and the context id."""
    budget = question_budget(max_length, max_question_tokens)
    questions = truncate_questions(batch["question"], tokenizer, budget)
    question_first = tokenizer.padding_side == "right"
    first, second = (
        (questions, batch["context"]) if question_first else (batch["context"], questions)
    )
    encoded = tokenizer(
        first,
        second,
        truncation="only_second" if question_first else "only_first",
        max_length=max_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    return encoded, 1 if question_first else 0


def _context_span(sequence_ids: list[int | None], context_id: int) -> tuple[int, int]:
    """First and last token index of the context inside one window."""
    start = sequence_ids.index(context_id)
    end = len(sequence_ids) - 1 - sequence_ids[::-1].index(context_id)
    return start, end


def _label_window(
    offsets: list[tuple[int, int]], span: tuple[int, int], answer: tuple[int, int]
) -> tuple[int, int]:
    """Token positions of the answer in a window, or (0, 0) (the CLS token) if it is not inside."""
    ctx_start, ctx_end = span
    start_char, end_char = answer
    if offsets[ctx_start][0] > start_char or offsets[ctx_end][1] < end_char:
        return 0, 0
    start_token = ctx_start
    while start_token <= ctx_end and offsets[start_token][0] <= start_char:
        start_token += 1
    end_token = ctx_end
    while end_token >= ctx_start and offsets[end_token][1] >= end_char:
        end_token -= 1
    return start_token - 1, end_token + 1


def prepare_train_features(
    batch: dict[str, list[Any]],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    doc_stride: int,
    max_question_tokens: int | None = None,
) -> dict[str, list[Any]]:
    """`Dataset.map(batched=True)` function: windows labelled with the first answer's tokens.

    A window without the answer, and every window of an unanswerable (SQuAD 2.0) question,
    is labelled (0, 0): the [CLS] token.
    """
    encoded, context_id = _tokenize(batch, tokenizer, max_length, doc_stride, max_question_tokens)
    starts, ends = [], []
    for i, offsets in enumerate(encoded.pop("offset_mapping")):
        answers = batch["answers"][encoded["overflow_to_sample_mapping"][i]]
        if not answers["text"]:
            starts.append(0)
            ends.append(0)
            continue
        answer_start = answers["answer_start"][0]
        answer = (answer_start, answer_start + len(answers["text"][0]))
        span = _context_span(encoded.sequence_ids(i), context_id)
        start, end = _label_window(offsets, span, answer)
        starts.append(start)
        ends.append(end)
    encoded.pop("overflow_to_sample_mapping")
    encoded["start_positions"] = starts
    encoded["end_positions"] = ends
    encoded["length"] = [len(ids) for ids in encoded["input_ids"]]
    return dict(encoded)


def prepare_eval_features(
    batch: dict[str, list[Any]],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    doc_stride: int,
    max_question_tokens: int | None = None,
) -> dict[str, list[Any]]:
    """`Dataset.map(batched=True)` function: windows with context-only offsets and example ids."""
    encoded, context_id = _tokenize(batch, tokenizer, max_length, doc_stride, max_question_tokens)
    example_ids, offset_mapping = [], []
    for i, offsets in enumerate(encoded["offset_mapping"]):
        sequence_ids = encoded.sequence_ids(i)
        offset_mapping.append(
            [
                list(o) if s == context_id else None
                for o, s in zip(offsets, sequence_ids, strict=True)
            ]
        )
        example_ids.append(batch["id"][encoded["overflow_to_sample_mapping"][i]])
    encoded.pop("overflow_to_sample_mapping")
    encoded["offset_mapping"] = offset_mapping
    encoded["example_id"] = example_ids
    return dict(encoded)


def map_batch_size(examples: Dataset) -> int:
    """Examples per tokenizer call: `MAP_BATCH`, fewer when texts are long (memory bound)."""
    if not len(examples):
        return MAP_BATCH
    # Over the whole table (a selection's rows included): an upper bound. Questions are
    # tokenized whole before they are cut to their budget, so they count too, without the
    # whitespace around them (it makes no tokens; SQuAD's training set has a question padded
    # to 25,651 characters that would otherwise shrink every batch).
    table = examples.data
    longest = pc.max(pc.utf8_length(table.column("context"))).as_py() or 0
    if "question" in table.column_names:
        questions = pc.utf8_length(pc.utf8_trim_whitespace(table.column("question")))
        longest += pc.max(questions).as_py() or 0
    return max(1, min(MAP_BATCH, CHARS_PER_BATCH // max(longest, 1)))


def _build(
    examples: Dataset, function: Any, tokenizer: PreTrainedTokenizerBase, **kwargs: Any
) -> Dataset:
    check_fast_tokenizer(tokenizer)
    budget = question_budget(kwargs["max_length"], kwargs["max_question_tokens"])
    check_window(kwargs["max_length"], kwargs["doc_stride"], budget)
    batch_size = map_batch_size(examples)
    if len(examples) <= batch_size:
        # One batch, as `map` would make it, without map's fixed cost (milliseconds matter for
        # one question at a time in the service).
        return Dataset.from_dict(function(examples[:], tokenizer=tokenizer, **kwargs))
    return examples.map(
        function,
        batched=True,
        batch_size=batch_size,
        remove_columns=examples.column_names,
        fn_kwargs={"tokenizer": tokenizer, **kwargs},
        desc="Tokenizing",
        load_from_cache_file=False,
    )


def build_train_features(
    examples: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    doc_stride: int,
    max_question_tokens: int | None = None,
) -> Dataset:
    """Training windows with `start_positions`/`end_positions` (0 = no answer in this window)."""
    return _build(
        examples,
        prepare_train_features,
        tokenizer,
        max_length=max_length,
        doc_stride=doc_stride,
        max_question_tokens=max_question_tokens,
    )


def build_eval_features(
    examples: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    doc_stride: int,
    max_question_tokens: int | None = None,
) -> Dataset:
    """Evaluation windows with `offset_mapping` (None outside the context) and `example_id`."""
    return _build(
        examples,
        prepare_eval_features,
        tokenizer,
        max_length=max_length,
        doc_stride=doc_stride,
        max_question_tokens=max_question_tokens,
    )


def describe_windows(
    example: dict[str, Any],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    doc_stride: int,
) -> pd.DataFrame:
    """One row per window of one example: the context it covers and its answer label."""
    check_window(max_length, doc_stride, question_budget(max_length))
    batch = {key: [value] for key, value in example.items()}
    labels = prepare_train_features(batch, tokenizer, max_length, doc_stride)
    windows = prepare_eval_features(batch, tokenizer, max_length, doc_stride)
    rows = []
    for i, ids in enumerate(labels["input_ids"]):
        spans = [o for o in windows["offset_mapping"][i] if o is not None]
        start, end = labels["start_positions"][i], labels["end_positions"][i]
        rows.append(
            {
                "window": i,
                "tokens": len(ids),
                "context": example["context"][spans[0][0] : spans[-1][1]],
                "label": (start, end),
                "label_text": "[CLS]" if start == 0 else tokenizer.decode(ids[start : end + 1]),
            }
        )
    return pd.DataFrame(rows)
