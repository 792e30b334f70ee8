"""ONNX export, graph fusion and int8 quantization for ONNX Runtime.

ONNX Runtime's dynamic int8 quantization is the maintained path and the fastest on CPUs
without AMX, once `optimize_onnx` has fused the graph; `mixed_int8_onnx` keeps the layers
`qa_utils.optimize.quantize` finds sensitive in fp32. The files written here run through the
one inference path with `qa_utils.core.backends.OrtQAModel`.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers import optimizer
from torch import nn
from transformers import PreTrainedModel

from qa_utils.core.backends import ONNX_INPUTS, ONNX_OUTPUTS
from qa_utils.optimize.quantize import int8_sensitivity, most_sensitive


def export_onnx(model: PreTrainedModel, path: str | Path, opset: int = 17) -> Path:
    """Export a span-prediction model to ONNX with dynamic batch and sequence axes.

    Exports a copy that uses eager attention with the TorchScript exporter. That graph is the
    one ONNX Runtime's transformer optimizer (`optimize_onnx`) knows how to fuse into its
    Attention kernels, which is where ONNX Runtime's speed on CPU comes from; the graph of the
    torch.export-based exporter (the default since torch 2.9) is left unfused. The test suite
    checks the exported logits against PyTorch's on padded batches of other shapes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    eager = copy.deepcopy(model).eval()
    eager.set_attn_implementation("eager")
    names = [n for n in ONNX_INPUTS if n != "token_type_ids" or model.config.type_vocab_size > 0]
    example = tuple(torch.ones((2, 16), dtype=torch.long) for _ in names)
    axes = {n: {0: "batch", 1: "sequence"} for n in (*names, *ONNX_OUTPUTS)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings and the legacy exporter's notice
        torch.onnx.export(
            _TupleOutputs(eager, names),
            example,
            str(path),
            input_names=names,
            output_names=list(ONNX_OUTPUTS),
            opset_version=opset,
            dynamic_axes=axes,
            dynamo=False,
        )
    return path


class _TupleOutputs(nn.Module):
    """Wraps a span-prediction model so that it takes positional inputs and returns a tuple."""

    def __init__(self, model: PreTrainedModel, names: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.names = list(names)

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(**dict(zip(self.names, inputs, strict=True)))
        return out.start_logits, out.end_logits


def optimize_onnx(source: str | Path, target: str | Path, config: Any) -> Path:
    """Fuse a BERT-style ONNX graph with ONNX Runtime's transformer optimizer.

    Embeddings + LayerNorm, attention, bias + GELU and residual + LayerNorm each become one
    kernel. Numerically the same model; the test suite compares the logits.
    """
    fused = optimizer.optimize_model(
        str(source),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
    )
    fused.save_model_to_file(str(target))
    return Path(target)


def quantize_onnx_int8(
    source: str | Path,
    target: str | Path,
    model: nn.Module | None = None,
    keep_fp32: Sequence[str] = (),
) -> Path:
    """Quantize an ONNX model's MatMul weights to int8 per channel; activations per call.

    Products with a constant weight are quantized, the fused query/key/value projection of
    `optimize_onnx` included; the attention products themselves stay fp32.

    Args:
        source: the fp32 ONNX file.
        target: where to write the int8 one.
        model: the PyTorch model `source` was exported from; needed with `keep_fp32`.
        keep_fp32: names of its Linear modules to leave in fp32 (see `int8_sensitivity`).
    """
    if keep_fp32 and model is None:
        raise ValueError("keep_fp32 names PyTorch modules: pass the model that was exported")
    excluded = onnx_nodes_of(source, model, keep_fp32) if keep_fp32 else []
    root = logging.getLogger()  # "consider pre-processing" advice for conv nets, every call
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,  # per tensor cost the fine-tuned MiniLM about 6 F1 points, this ~1
            op_types_to_quantize=["MatMul", "Gemm", "Attention"],
            nodes_to_exclude=excluded,
            # Fused ops (com.microsoft domain) defeat shape inference; their outputs are float.
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
    return Path(target)


def mixed_int8_onnx(
    model: nn.Module,
    source: str | Path,
    target: str | Path,
    calibration: dict[str, torch.Tensor],
    max_fp32_share: float = 0.25,
) -> tuple[Path, list[str]]:
    """ONNX int8 with the layers most sensitive to quantization left in fp32.

    Args:
        model: the PyTorch model `source` was exported from.
        source: its fp32 ONNX file (ideally fused by `optimize_onnx`).
        target: where to write the int8 model.
        calibration: a batch of training windows for `int8_sensitivity`.
        max_fp32_share: at most this share of the Linear weights stays fp32; 0.25 keeps the
            Linear weights under half their fp32 bytes (0.25 + 0.75 / 4 = 0.44).

    Returns:
        The int8 model's path and the Linear layers kept in fp32.
    """
    keep = most_sensitive(int8_sensitivity(model, calibration), model, max_fp32_share)
    return quantize_onnx_int8(source, target, model, keep), keep


def onnx_nodes_of(path: str | Path, model: nn.Module, names: Sequence[str]) -> list[str]:
    """The ONNX MatMul/Gemm nodes that compute the given Linear modules of `model`.

    The exporter renames weights (`val_60`), so nodes are matched by content: the node whose
    constant weight equals the module's weight (transposed, as MatMul stores it).
    """
    graph = onnx.load(str(path)).graph
    weights = {t.name: t for t in graph.initializer}
    modules = dict(model.named_modules())
    nodes = []
    for name in names:
        weight = modules[name].weight.detach().numpy()
        found = [
            node.name
            for node in graph.node
            if node.op_type in ("MatMul", "Gemm")
            and node.input[1] in weights
            and tuple(weights[node.input[1]].dims) in (weight.shape, weight.T.shape)
            and _same_weight(numpy_helper.to_array(weights[node.input[1]]), weight)
        ]
        if len(found) != 1:
            raise ValueError(f"{name}: expected one ONNX node with its weight, found {found}")
        nodes += found
    return nodes


def _same_weight(stored: np.ndarray, weight: np.ndarray) -> bool:
    """Whether an ONNX initializer holds `weight` (as is or transposed)."""
    return any(stored.shape == w.shape and np.array_equal(stored, w) for w in (weight, weight.T))


def onnx_parameters(path: str | Path) -> tuple[int, int]:
    """Total and non-zero elements of an ONNX model's weight initializers."""
    arrays = [numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer]
    arrays = [a for a in arrays if a.size > 1]  # scales, zero points and shape constants
    return sum(a.size for a in arrays), sum(int(np.count_nonzero(a)) for a in arrays)


def onnx_linear_bytes(path: str | Path) -> int:
    """Bytes of the ONNX initializers that feed matrix multiplications (the Linear weights)."""
    graph = onnx.load(str(path)).graph
    sizes = {t.name: len(t.raw_data) or t.ByteSize() for t in graph.initializer}
    ops = ("MatMul", "Gemm", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat")
    names = {n for node in graph.node if node.op_type in ops for n in node.input}
    # Fused attention: input 1 is the packed query/key/value weight, 2 its bias, then scales.
    fused = ("Attention", "QAttention")
    names |= {n for node in graph.node if node.op_type in fused for n in node.input[1:]}
    names |= {n for node in graph.node if node.op_type == "DequantizeLinear" for n in node.input}
    return sum(sizes[n] for n in names if n in sizes)
