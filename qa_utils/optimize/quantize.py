"""Int8 quantization of a span-prediction model, and which layers to keep in fp32.

Quantizing every Linear layer costs the fine-tuned MiniLM 1-2 F1 points, nearly all of it from
a few feed-forward layers whose inputs have outliers; `int8_sensitivity` finds them on
calibration windows and `most_sensitive` keeps them in fp32 within a weight budget. PyTorch's
`quantize_dynamic` (fbgemm kernels) is kept as the eager-PyTorch reference; it still works on
torch 2.13 but warns that quantized tensors are deprecated. torchao's int8 dynamic quantization
was measured too: without `torch.compile` its eager kernels ran slower than fp32 here, and
compiling costs minutes on two cores. Every function returns a new model and leaves its input
alone, so one run can compare the variants side by side.
"""

from __future__ import annotations

import copy
import io
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
from transformers.modeling_outputs import QuestionAnsweringModelOutput

from qa_utils.core.backends import ONNX_INPUTS
from qa_utils.core.data import subset
from qa_utils.core.features import build_train_features
from qa_utils.core.postprocess import PAD_LOGIT
from qa_utils.optimize.prune import labelled_batches
from qa_utils.project.config import InferenceSettings

QUANTIZED_LINEAR = torch.ao.nn.quantized.dynamic.Linear


def is_linear(module: nn.Module) -> bool:
    """True for float and dynamically quantized Linear layers."""
    return isinstance(module, nn.Linear | QUANTIZED_LINEAR)


def module_weights(module: nn.Module) -> list[torch.Tensor]:
    """A module's own weight tensors, unpacking quantized Linear layers."""
    if isinstance(module, QUANTIZED_LINEAR):
        bias = module.bias()
        return [module.weight().dequantize()] + ([bias] if bias is not None else [])
    return list(module.parameters(recurse=False))


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """Total and non-zero parameters (quantized Linear weights included).

    Returns:
        (total, nonzero).
    """
    tensors = [t for m in model.modules() for t in module_weights(m)]
    total = sum(t.numel() for t in tensors)
    nonzero = sum(int(torch.count_nonzero(t)) for t in tensors)
    return total, nonzero


def serialized_bytes(obj: Any) -> int:
    """Bytes that `torch.save` writes for a module's state dict (or any object)."""
    buffer = io.BytesIO()
    torch.save(obj.state_dict() if isinstance(obj, nn.Module) else obj, buffer)
    return buffer.getbuffer().nbytes


def linear_bytes(model: nn.Module) -> int:
    """Bytes on disk of the Linear layers alone (weights, biases, quantization scales)."""
    return sum(serialized_bytes(m) for m in model.modules() if is_linear(m))


def quantize_int8(model: nn.Module, keep_fp32: Sequence[str] = ()) -> nn.Module:
    """A copy with its Linear layers dynamically quantized to int8 (PyTorch eager, fbgemm).

    Weights get one scale per output channel: with one scale per tensor the fine-tuned MiniLM
    lost about 6 F1 points, per channel about 3. fbgemm also quantizes activations to 7 bits
    (`reduce_range`) where ONNX Runtime keeps 8 bits; which backend loses less F1 varies between
    runs (notebook 05 compares them on its own run and on the committed reference).

    Args:
        model: the model to quantize (left unchanged).
        keep_fp32: names of Linear modules to leave in fp32 (see `int8_sensitivity`).
    """
    quantized = copy.deepcopy(model).eval()
    spec = {name: per_channel_dynamic_qconfig for name in linear_names(model, keep_fp32)}
    with warnings.catch_warnings():
        # torch >= 2.10 deprecates quantized tensors in favour of torchao; see the module docstring.
        warnings.simplefilter("ignore")
        return quantize_dynamic(quantized, spec)


def linear_names(model: nn.Module, exclude: Sequence[str] = ()) -> list[str]:
    """Names of the float Linear modules of `model`, minus `exclude` (unknown names rejected)."""
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    unknown = set(exclude) - set(names)
    if unknown:
        raise ValueError(f"not Linear modules of this model: {sorted(unknown)}")
    return [n for n in names if n not in set(exclude)]


def span_divergence(
    reference: QuestionAnsweringModelOutput,
    other: QuestionAnsweringModelOutput,
    mask: torch.Tensor,
) -> float:
    """Mean KL divergence of `other`'s start and end distributions from `reference`'s.

    Args:
        reference: fp32 outputs.
        other: outputs of the modified model on the same inputs.
        mask: the batch's attention mask; padding positions take no part.
    """
    pairs = ((reference.start_logits, other.start_logits), (reference.end_logits, other.end_logits))
    total = 0.0
    for ref, new in pairs:
        log_ref = ref.float().masked_fill(mask == 0, PAD_LOGIT).log_softmax(-1)
        log_new = new.float().masked_fill(mask == 0, PAD_LOGIT).log_softmax(-1)
        total += float((log_ref.exp() * (log_ref - log_new)).sum(-1).mean()) / 2
    return max(total, 0.0)  # float rounding can leave a tiny negative number


def int8_sensitivity(model: nn.Module, batch: dict[str, torch.Tensor]) -> pd.Series:
    """How much quantizing each Linear layer alone moves the span distributions.

    Each Linear is quantized on its own (`quantize_int8` keeping all others fp32) and the
    start/end distributions on `batch` are compared with fp32 (`span_divergence`). Use
    calibration windows from the training set, never the questions you will score.

    Returns:
        KL divergence per Linear module name, largest (most sensitive) first.
    """
    names = linear_names(model)
    inputs = {k: v for k, v in batch.items() if k in ONNX_INPUTS}
    with torch.inference_mode():
        reference = model.eval()(**inputs)
        scores = {
            name: span_divergence(
                reference,
                quantize_int8(model, [n for n in names if n != name])(**inputs),
                inputs["attention_mask"],
            )
            for name in names
        }
    return pd.Series(scores, name="kl_divergence").sort_values(ascending=False)


def most_sensitive(sensitivity: pd.Series, model: nn.Module, max_fp32_share: float) -> list[str]:
    """The most sensitive Linear layers that fit in `max_fp32_share` of the Linear weights.

    Walks `sensitivity` from the top, keeping layers while the fp32 ones hold at most
    `max_fp32_share` of all Linear weights (so int8 still shrinks them as promised).
    """
    sizes = {n: m.weight.numel() for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    budget = max_fp32_share * sum(sizes.values())
    chosen: list[str] = []
    for name in sensitivity.index:
        if sizes[name] > budget:
            break
        budget -= sizes[name]
        chosen.append(name)
    return chosen


def has_amx() -> bool:
    """Whether the CPU has AMX tiles, the only CPU feature that makes bf16 autocast pay off."""
    try:
        return "amx_bf16" in Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False


CALIBRATION_QUESTIONS = 32
"""Training questions whose windows calibrate `int8_sensitivity`, in notebook 05 and in
benchmarks/optimize.py alike, so both keep the same layers in fp32 for the same model."""


def calibration_questions(train: Any, seed: int, n: int = CALIBRATION_QUESTIONS) -> Any:
    """The `n` training questions of the int8 scan: drawn from the whole training split (seed + 3).

    Pass the full training split: a different pool draws different questions.
    """
    return subset(train, n, seed + 3)


def calibration_batch(
    examples: Any, tokenizer: Any, settings: InferenceSettings
) -> dict[str, torch.Tensor]:
    """One padded batch of the training windows of `examples`, for `int8_sensitivity`.

    Pass training questions, never the ones you will score; the batch holds at most one
    window per question, cut like the model's evaluation windows (`settings`).
    """
    windows = build_train_features(examples, tokenizer, settings.max_length, settings.doc_stride)
    return labelled_batches(windows, len(examples), 1)[0]
