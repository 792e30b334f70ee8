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


def build_tiny_bert(seed: int = 0, max_positions: int = 128) -> BertForQuestionAnswering:
    """A 2-layer, 4-head BERT with the embedded tokenizer's vocabulary, built in milliseconds."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=256,
        max_position_embeddings=max_positions,
    )
    return BertForQuestionAnswering(config).eval()


@pytest.fixture(scope="session")
def tiny_bert() -> Callable[..., BertForQuestionAnswering]:
    """`build_tiny_bert`, for tests that need fresh tiny models (seed as argument)."""
    return build_tiny_bert


@pytest.fixture(scope="module")
def model(tiny_bert: Callable[..., BertForQuestionAnswering]) -> BertForQuestionAnswering:
    """One tiny BERT per test module (seed 0)."""
    return tiny_bert()


@pytest.fixture(scope="session")
def train_features():
    """Training windows of the mini fixture, 96 tokens with stride 32."""
    from qa_utils.core.data import load_squad
    from qa_utils.core.features import build_train_features
    from qa_utils.core.model import load_tokenizer

    examples = load_squad(FIXTURES / "mini_squad.json")
    return build_train_features(examples, load_tokenizer("embedded"), max_length=96, doc_stride=32)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tag nbval's notebook cells with the `notebooks` marker (they carry none of their own)."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebooks)
