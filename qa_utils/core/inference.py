"""Features -> logits, in length-sorted, per-batch-padded batches; and one-question answering."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from datasets import Dataset
from tqdm.auto import tqdm
from transformers import PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from qa_utils.core.features import prepare_eval_features
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.core.postprocess import PAD_LOGIT, postprocess_predictions

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
    model: PreTrainedModel,
    features: Dataset,
    batch_size: int = 64,
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


@dataclass(frozen=True)
class Answer:
    """One answer: its text, character span in the context (end exclusive) and confidence."""

    text: str
    start: int
    end: int
    score: float


class QAModel:
    """A loaded model and tokenizer that answer questions, one at a time or in bulk."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int = 384,
        doc_stride: int = 128,
        n_best_size: int = 20,
        max_answer_length: int = 30,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.doc_stride = doc_stride
        self.n_best_size = n_best_size
        self.max_answer_length = max_answer_length

    @classmethod
    def load(cls, name_or_path: str | Path, **settings: int) -> QAModel:
        """Load from a model folder, 'embedded', or a Hub id (when online)."""
        return cls(load_qa_model(name_or_path), load_tokenizer(name_or_path), **settings)

    def answer(self, question: str, context: str) -> Answer:
        """Answer one question about one context (the question-answering pipeline, offline)."""
        batch = {"id": ["q"], "question": [question], "context": [context]}
        features = Dataset.from_dict(
            prepare_eval_features(batch, self.tokenizer, self.max_length, self.doc_stride)
        )
        start, end = predict_logits(self.model, features, progress=False)
        best = postprocess_predictions(
            [{"id": "q", "context": context}],
            features,
            start,
            end,
            n_best_size=self.n_best_size,
            max_answer_length=self.max_answer_length,
        )["q"]
        return Answer(best.text, best.start, best.end, best.confidence)
