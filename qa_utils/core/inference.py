"""Examples -> answers: the one inference path, used by everything that answers questions.

    examples --features--> windows --predict_logits--> logits --postprocess--> predictions
             --build_records--> the per-example table (scored when the examples have answers)

`infer` composes these stages with one `InferenceSettings`; evaluation, `QAModel.answer`, the
service, the robustness probes, the optimization benchmarks and benchmarks/eval_throughput.py
all call it. The model is a PyTorch module or an ONNX Runtime session
(`qa_utils.core.backends.OrtQAModel`): both take the same padded batches.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from datasets import Dataset
from tokenizers import Tokenizer
from tqdm.auto import tqdm
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from qa_utils.core.features import build_eval_features
from qa_utils.core.metrics import is_squad_v2
from qa_utils.core.model import (
    check_positions,
    load_inference_settings,
    load_qa_model,
    load_tokenizer,
)
from qa_utils.core.postprocess import PAD_LOGIT, Prediction, postprocess_predictions
from qa_utils.core.records import ScoredTable, build_records, count_windows
from qa_utils.project.config import InferenceSettings

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def length_sorted_batches(lengths: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Indices of windows in batches of similar length (longest first), so padding is small."""
    order = np.argsort(-lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def _pad_batch(
    columns: dict[str, list[list[int]]], rows: np.ndarray, pad_id: int
) -> dict[str, torch.Tensor]:
    """Right-pad the selected windows to the longest one in the batch."""
    width = max(len(columns["input_ids"][i]) for i in rows)
    batch = {}
    for name, values in columns.items():
        fill = pad_id if name == "input_ids" else 0
        array = np.full((len(rows), width), fill, dtype=np.int64)
        for j, i in enumerate(rows):
            array[j, : len(values[i])] = values[i]
        batch[name] = torch.from_numpy(array)
    return batch


def predict_logits(
    model: Any,
    features: Dataset,
    batch_size: int,
    autocast_dtype: torch.dtype | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Start and end logits for every window, in the order of `features`.

    Returns two float32 arrays of shape (n_windows, longest window), padded with -1e4.
    """
    names = [n for n in MODEL_INPUTS if n in features.column_names]
    columns = {n: features[n][:] for n in names}  # plain lists: Column indexing is slow
    lengths = np.array([len(ids) for ids in columns["input_ids"]])
    start = np.full((len(lengths), lengths.max(initial=1)), PAD_LOGIT, dtype=np.float32)
    end = start.copy()
    pad_id = model.config.pad_token_id or 0
    model.eval()
    cast = (
        torch.autocast(model.device.type, dtype=autocast_dtype)
        if autocast_dtype
        else contextlib.nullcontext()
    )
    batches = list(length_sorted_batches(lengths, batch_size))
    with torch.inference_mode(), cast:
        for rows in tqdm(batches, desc="Predicting", unit="batch", disable=not progress):
            inputs = {k: v.to(model.device) for k, v in _pad_batch(columns, rows, pad_id).items()}
            out = model(**inputs)
            width = inputs["input_ids"].shape[1]
            start[rows, :width] = out.start_logits.float().cpu().numpy()
            end[rows, :width] = out.end_logits.float().cpu().numpy()
    # Padding positions got real logits from the model; hide them again.
    mask = np.arange(start.shape[1])[None, :] >= lengths[:, None]
    start[mask] = PAD_LOGIT
    end[mask] = PAD_LOGIT
    return start, end


@dataclass
class Inference:
    """What `infer` returns: the windows, the chosen answers and what each stage took.

    Attributes:
        examples: the answered examples.
        features: their windows (`build_eval_features`).
        predictions: the chosen answer of every example, by id, with its n-best list.
        seconds: wall time of each stage: features_s, predict_s, postprocess_s.
    """

    examples: Dataset
    features: Dataset
    predictions: dict[str, Prediction]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def answers(self) -> dict[str, str]:
        """The answer texts by id (the official prediction-file format)."""
        return {k: p.text for k, p in self.predictions.items()}

    def records(self) -> ScoredTable:
        """The per-example table of these predictions, scored against the examples' answers."""
        return build_records(self.examples, self.predictions, count_windows(self.features))


def null_threshold(settings: InferenceSettings, examples: Any) -> float | None:
    """The post-processing threshold: the settings', else math.inf for SQuAD 2.0 examples.

    math.inf scores the null candidate without ever abstaining; None keeps SQuAD v1.1 decoding.
    """
    if settings.null_threshold is not None:
        return settings.null_threshold
    return math.inf if is_squad_v2(examples) else None


def infer(
    model: Any,
    tokenizer: PreTrainedTokenizerBase | None,
    examples: Dataset,
    settings: InferenceSettings,
    features: Dataset | None = None,
    autocast_dtype: torch.dtype | None = None,
    progress: bool = False,
) -> Inference:
    """Answer every example: windows, batched logits, the best span over each example's windows.

    With `settings.null_threshold` set, or on SQuAD 2.0 examples (then with no threshold: it
    never abstains unless told to), every prediction also gets its no-answer score.

    Args:
        model: a span-prediction model (PyTorch) or an `OrtQAModel`.
        tokenizer: its fast tokenizer (unused when `features` are given).
        examples: SQuAD-format examples (id, question, context; answers to score).
        settings: windows, decoding, batch size and threads.
        features: the examples' windows when already built with the same settings (benchmarks
            build them once for several models).
        autocast_dtype: run the model under autocast in this dtype (bf16 on CPUs with AMX).
        progress: show a progress bar over batches.
    """
    name = getattr(model.config, "_name_or_path", "") or type(model).__name__
    check_positions(model.config, settings.max_length, name)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    if features is None:
        if tokenizer is None:
            raise ValueError("infer needs a tokenizer or prebuilt features")
        features = build_eval_features(
            examples, tokenizer, settings.max_length, settings.doc_stride
        )
    seconds["features_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    start, end = predict_logits(model, features, settings.batch_size, autocast_dtype, progress)
    seconds["predict_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    predictions = postprocess_predictions(
        examples,
        features,
        start,
        end,
        settings.n_best_size,
        settings.max_answer_length,
        null_threshold(settings, examples),
    )
    seconds["postprocess_s"] = time.perf_counter() - clock
    return Inference(examples, features, predictions, seconds)


NBEST_SHOWN = 5
"""Candidates `QAModel.answer` returns with its answer (the service's `nbest`, the demo page)."""


@dataclass(frozen=True)
class Candidate:
    """One of the n-best spans: text, character span (end exclusive) and probability."""

    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Answer:
    """One answer: its text, character span in the context (end exclusive) and confidence.

    `nbest` holds the best candidates, best first (the answer itself is the first); the score
    of each is its probability among the n-best, the same scale as the answer's `score`. A model
    with a `null_threshold` can answer "no answer": text "", start = end = -1, and `score` the
    probability of no answer among its candidates; `na_prob` is then set.
    """

    text: str
    start: int
    end: int
    score: float
    nbest: tuple[Candidate, ...] = ()
    na_prob: float | None = None

    @property
    def answered(self) -> bool:
        """Whether this is an answer rather than "no answer"."""
        return bool(self.text)


def top_candidates(prediction: Prediction, n: int = NBEST_SHOWN) -> tuple[Candidate, ...]:
    """The first `n` entries of a prediction's n-best list as `Candidate`s."""
    return tuple(
        Candidate(c["text"], int(c["start"]), int(c["end"]), float(c["probability"]))
        for c in prediction.nbest[:n]
    )


class QAModel:
    """A loaded model and tokenizer that answer questions, one at a time or in bulk."""

    def __init__(self, model: Any, tokenizer: PreTrainedTokenizerBase, settings: InferenceSettings):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.settings = settings
        # A fast tokenizer is not safe to share between threads (its truncation settings change
        # per call): counting, which a service does beside answering, gets a copy of its own.
        self._counter = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self._counter.no_truncation()
        self._counter.no_padding()

    @classmethod
    def load(cls, name_or_path: str | Path, settings: InferenceSettings | None = None) -> QAModel:
        """Load from a model folder, 'embedded', or a Hub id (when online).

        Args:
            settings: how to answer; default: the settings saved beside the model (else the
                default profile's).
        """
        chosen = settings or load_inference_settings(name_or_path)
        return cls(load_qa_model(name_or_path), load_tokenizer(name_or_path), chosen)

    def answer(self, question: str, context: str) -> Answer:
        """Answer one question about one context, with its best `NBEST_SHOWN` candidates."""
        examples = Dataset.from_dict({"id": ["q"], "question": [question], "context": [context]})
        best = infer(self.model, self.tokenizer, examples, self.settings).predictions["q"]
        return Answer(
            best.text, best.start, best.end, best.confidence, top_candidates(best), best.na_prob
        )

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` on its own; safe to call while another thread answers."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def answer_all(self, examples: Dataset) -> Inference:
        """Answer many questions in batches."""
        return infer(self.model, self.tokenizer, examples, self.settings)
