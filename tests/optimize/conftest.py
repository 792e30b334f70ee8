"""Shared helpers of the optimization tests: a padded input batch and a model's start logits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch


def make_batch(batch: int = 2, length: int = 24) -> dict[str, torch.Tensor]:
    """Random token ids with one half-padded row, so masking is exercised."""
    ids = torch.randint(1000, 2000, (batch, length), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, length // 2 :] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def start_logits(model: Any, batch: dict[str, torch.Tensor]) -> np.ndarray:
    """The start logits of a PyTorch model or an OrtQAModel on `batch`."""
    with torch.inference_mode():
        return model(**batch).start_logits.numpy()


@pytest.fixture
def inputs() -> Callable[..., dict[str, torch.Tensor]]:
    """`make_batch`: a padded batch of the given size and length."""
    return make_batch


@pytest.fixture
def logits() -> Callable[[Any, dict[str, torch.Tensor]], np.ndarray]:
    """`start_logits`: a model's start logits on a batch."""
    return start_logits
