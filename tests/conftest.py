"""Shared test setup: offline, headless, small fixtures."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pytest
import torch
from transformers import BertConfig, BertForQuestionAnswering

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
matplotlib.use("Agg")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """The folder of small data files we wrote for the tests."""
    return FIXTURES


def build_tiny_bert(seed: int = 0) -> BertForQuestionAnswering:
    """A 2-layer, 4-head BERT with the embedded tokenizer's vocabulary, built in milliseconds."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=256,
        max_position_embeddings=128,
    )
    return BertForQuestionAnswering(config).eval()


@pytest.fixture(scope="session")
def tiny_bert() -> Callable[..., BertForQuestionAnswering]:
    """`build_tiny_bert`, for tests that need fresh tiny models (seed as argument)."""
    return build_tiny_bert
