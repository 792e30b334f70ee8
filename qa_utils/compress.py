"""Make a span-prediction model smaller or faster: int8 quantization, ONNX Runtime, pruning.

Every function returns a new model and leaves its input alone, so one run can compare the
variants side by side. Anything returned here works with `qa_utils.predict.predict_logits`.

Quantization path: ONNX Runtime's dynamic int8 quantization is the maintained one and the
fastest on CPUs without AMX. PyTorch's `quantize_dynamic` (fbgemm kernels) is kept as the
eager-PyTorch reference; it still works on torch 2.13 but warns that quantized tensors are
deprecated. torchao's int8 dynamic quantization was measured too: without `torch.compile` its
eager kernels ran slower than fp32 here, and compiling costs minutes on two cores.
"""

from __future__ import annotations

import copy
import io
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils import prune
from transformers import PreTrainedModel
from transformers.modeling_outputs import QuestionAnsweringModelOutput

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OUTPUTS = ("start_logits", "end_logits")


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


def quantize_int8(model: nn.Module) -> nn.Module:
    """A copy with every Linear layer dynamically quantized to int8 (PyTorch eager, fbgemm).

    Weights get one scale per output channel: with one scale per tensor the fine-tuned MiniLM
    lost about 6 F1 points, per channel about 3. fbgemm also quantizes activations to 7 bits
    (`reduce_range`), one reason ONNX Runtime's int8 (8-bit activations) loses less.
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    quantized = copy.deepcopy(model).eval()
    with warnings.catch_warnings():
        # torch >= 2.10 deprecates quantized tensors in favour of torchao; see the module docstring.
        warnings.simplefilter("ignore")
        return quantize_dynamic(quantized, {nn.Linear: per_channel_dynamic_qconfig})


def has_amx() -> bool:
    """Whether the CPU has AMX tiles, the only CPU feature that makes bf16 autocast pay off."""
    try:
        return "amx_bf16" in Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return False


def export_onnx(model: PreTrainedModel, path: str | Path, opset: int = 18) -> Path:
    """Export a span-prediction model to ONNX with dynamic batch and sequence axes.

    Uses the torch.export-based exporter (the default since torch 2.9): the legacy TorchScript
    exporter traces the attention-mask branches as constants and warns that results may be wrong.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch")
    seq = torch.export.Dim("seq", max=model.config.max_position_embeddings)
    names = [n for n in ONNX_INPUTS if n != "token_type_ids" or model.config.type_vocab_size > 0]
    # One tensor per input: a tensor shared by all three is traced as one aliased input.
    example = {n: torch.ones((2, 16), dtype=torch.long) for n in names}
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)  # "torchvision is not installed" notices, irrelevant here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model.eval(),
                (),
                str(path),
                kwargs=example,
                input_names=names,
                output_names=list(ONNX_OUTPUTS),
                opset_version=opset,
                dynamic_shapes={n: {0: batch, 1: seq} for n in names},
                dynamo=True,
                verbose=False,
                external_data=False,
            )
    finally:
        onnx_log.setLevel(level)
    return path


def quantize_onnx_int8(source: str | Path, target: str | Path) -> Path:
    """Quantize an ONNX model's MatMul weights to int8 per channel; activations per call.

    Only products with a constant weight are quantized (the attention products stay fp32).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=True,  # per tensor cost the fine-tuned MiniLM about 6 F1 points, this ~1
        op_types_to_quantize=["MatMul", "Gemm"],
    )
    return Path(target)


class OrtQAModel:
    """An ONNX Runtime session that looks enough like a PreTrainedModel for `predict_logits`."""

    def __init__(self, path: str | Path, config: Any, threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle worker threads would otherwise busy-wait, stealing the cores that PyTorch and
        # other processes need; on a shared machine that distorts every measurement.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = Path(path)
        self.config = config
        self.device = torch.device("cpu")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def eval(self) -> OrtQAModel:
        """No-op, for interface parity with torch modules."""
        return self

    def __call__(self, **inputs: torch.Tensor) -> QuestionAnsweringModelOutput:
        """Run the session on torch tensors and return torch logits."""
        feed = {n: inputs[n].cpu().numpy() for n in self.input_names}
        start, end = self.session.run(list(ONNX_OUTPUTS), feed)
        return QuestionAnsweringModelOutput(
            start_logits=torch.from_numpy(start), end_logits=torch.from_numpy(end)
        )


def onnx_parameters(path: str | Path) -> tuple[int, int]:
    """Total and non-zero elements of an ONNX model's weight initializers."""
    import onnx
    from onnx import numpy_helper

    arrays = [numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer]
    arrays = [a for a in arrays if a.size > 1]  # scales, zero points and shape constants
    return sum(a.size for a in arrays), sum(int(np.count_nonzero(a)) for a in arrays)


def onnx_linear_bytes(path: str | Path) -> int:
    """Bytes of the ONNX initializers that feed matrix multiplications (the Linear weights)."""
    import onnx

    graph = onnx.load(str(path)).graph
    sizes = {t.name: len(t.raw_data) or t.ByteSize() for t in graph.initializer}
    ops = ("MatMul", "Gemm", "MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat")
    names = {n for node in graph.node if node.op_type in ops for n in node.input}
    names |= {n for node in graph.node if node.op_type == "DequantizeLinear" for n in node.input}
    return sum(sizes[n] for n in names if n in sizes)


def encoder_linears(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """(module, "weight") for every Linear inside the transformer layers (not the QA head)."""
    return [
        (m, "weight")
        for n, m in model.named_modules()
        if isinstance(m, nn.Linear) and ".layer." in n
    ]


def magnitude_prune(model: nn.Module, sparsity: float) -> nn.Module:
    """A copy whose smallest encoder Linear weights (globally, by |w|) are set to zero.

    Args:
        model: the model to prune (left unchanged).
        sparsity: fraction of encoder Linear weights to zero, in [0, 1).
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    pruned = copy.deepcopy(model)
    targets = encoder_linears(pruned)
    if sparsity > 0:
        prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
        for module, name in targets:
            prune.remove(module, name)  # bake the mask in: a plain dense weight with zeros
    return pruned


def weight_sparsity(model: nn.Module) -> float:
    """Fraction of zeros among the encoder Linear weights."""
    weights = [getattr(m, n) for m, n in encoder_linears(model)]
    total = sum(w.numel() for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / max(total, 1)


def _median_ms(fn: Any, repeats: int) -> float:
    """Median wall time of `fn()` in milliseconds, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def sparse_matmul_timing(
    sparsities: list[float], size: int = 1024, tokens: int = 384, repeats: int = 10, seed: int = 0
) -> pd.DataFrame:
    """Time one Linear-sized product with dense and CSR kernels as more weights become zero.

    Dense kernels multiply zeros like any other number, so their time does not move; sparse
    (CSR) kernels only win at very high sparsity, if at all.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(size, tokens, generator=generator)
    rows = []
    for sparsity in sparsities:
        w = torch.randn(size, size, generator=generator)
        w[torch.rand(size, size, generator=generator) < sparsity] = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sparse CSR support is in beta" on every call
            csr = w.to_sparse_csr()
        with torch.inference_mode():
            rows.append(
                {
                    "sparsity": sparsity,
                    "dense_ms": _median_ms(lambda w=w: w @ x, repeats),
                    "sparse_csr_ms": _median_ms(lambda c=csr: c @ x, repeats),
                }
            )
    return pd.DataFrame(rows)


def attention_blocks(model: nn.Module) -> list[nn.Module]:
    """The attention block (`.self` with query/key/value, `.output.dense`) of every layer."""
    blocks = [
        m
        for m in model.modules()
        if hasattr(m, "self")
        and hasattr(m, "output")
        and hasattr(m.self, "query")
        and hasattr(m.output, "dense")
    ]
    if not blocks:
        raise ValueError(f"{type(model).__name__}: no BERT-style attention blocks to prune")
    return blocks


def _gate_hook(gates: torch.Tensor, layer: int) -> Any:
    """Forward hook that scales each head's context vectors by its gate (1.0 = unchanged)."""

    def hook(module: nn.Module, args: Any, output: Any) -> Any:
        context = output[0]
        heads = context.view(*context.shape[:-1], gates.shape[1], -1) * gates[layer, :, None]
        return (heads.view_as(context), *output[1:])

    return hook


def head_importance(model: nn.Module, batches: list[dict[str, torch.Tensor]]) -> np.ndarray:
    """Michel et al. (2019) head importance: |d loss / d gate| summed over labelled batches.

    Args:
        model: a span-prediction model (dropout is switched off; weights are not changed).
        batches: padded training batches with start_positions/end_positions.

    Returns:
        Array (layers, heads), each layer normalised to unit L2 norm as in the paper.
    """
    blocks = attention_blocks(model)
    gates = torch.ones(len(blocks), blocks[0].self.num_attention_heads, requires_grad=True)
    hooks = [b.self.register_forward_hook(_gate_hook(gates, i)) for i, b in enumerate(blocks)]
    importance = torch.zeros_like(gates)
    model.eval()
    try:
        for batch in batches:
            model(**batch).loss.backward()
            importance += gates.grad.abs()
            gates.grad = None
    finally:
        for hook in hooks:
            hook.remove()
    model.zero_grad(set_to_none=True)
    importance = importance / importance.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return importance.numpy()


def heads_to_prune(importance: np.ndarray, fraction: float) -> dict[int, list[int]]:
    """The globally least important heads, `fraction` of all, keeping one head in every layer."""
    n_layers, n_heads = importance.shape
    budget = int(round(fraction * n_layers * n_heads))
    chosen: dict[int, list[int]] = {}
    for flat in np.argsort(importance, axis=None, kind="stable"):
        if budget == 0:
            break
        layer, head = divmod(int(flat), n_heads)
        if len(chosen.get(layer, [])) < n_heads - 1:
            chosen.setdefault(layer, []).append(head)
            budget -= 1
    return {layer: sorted(heads) for layer, heads in sorted(chosen.items())}


def prune_heads(model: nn.Module, heads: dict[int, list[int]]) -> nn.Module:
    """A copy with the given attention heads removed by slicing the q/k/v/output weights.

    transformers 5 dropped `PreTrainedModel.prune_heads`; BERT's attention reshapes with -1
    heads, so narrower q/k/v layers are all it needs. The pruned copy is for inference: its
    config still lists the original head count, so it cannot be saved and reloaded as is.
    """
    from transformers.pytorch_utils import prune_linear_layer

    pruned = copy.deepcopy(model)
    blocks = attention_blocks(pruned)
    for layer, drop in heads.items():
        attention = blocks[layer].self
        size = attention.attention_head_size
        keep = [h for h in range(attention.num_attention_heads) if h not in set(drop)]
        if not keep:
            raise ValueError(f"layer {layer}: cannot prune every head ({drop})")
        index = torch.cat([torch.arange(h * size, (h + 1) * size) for h in keep])
        for name in ("query", "key", "value"):
            setattr(attention, name, prune_linear_layer(getattr(attention, name), index))
        output = blocks[layer].output
        output.dense = prune_linear_layer(output.dense, index, dim=1)
        attention.num_attention_heads = len(keep)
        attention.all_head_size = size * len(keep)
    return pruned


def labelled_batches(
    features: Any, batch_size: int = 16, max_batches: int = 4
) -> list[dict[str, torch.Tensor]]:
    """Right-padded tensors from training features (`build_train_features`), for head importance."""
    keys = ("input_ids", "attention_mask", "token_type_ids")
    batches = []
    for first in range(0, min(len(features), batch_size * max_batches), batch_size):
        rows = features[first : first + batch_size]
        batch = {
            k: nn.utils.rnn.pad_sequence([torch.tensor(r) for r in rows[k]], batch_first=True)
            for k in keys
            if k in rows
        }
        batch |= {k: torch.tensor(rows[k]) for k in ("start_positions", "end_positions")}
        batches.append(batch)
    return batches
