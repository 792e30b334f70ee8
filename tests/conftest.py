"""Shared test setup: offline, headless, small fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
matplotlib.use("Agg")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """The folder of small data files we wrote for the tests."""
    return FIXTURES
