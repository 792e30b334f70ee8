"""Make a span-prediction model smaller or faster: int8 quantization, ONNX Runtime, pruning.

Every function returns a new model and leaves its input alone, so one run can compare the
variants side by side. Anything returned here works with `qa_utils.predict.predict_logits`.

Quantization path: ONNX Runtime's dynamic int8 quantization is the maintained one and the
fastest on CPUs without AMX, once `optimize_onnx` has fused the graph. Quantizing every Linear
layer costs the fine-tuned MiniLM 1-2 F1 points, nearly all of it from a few feed-forward
layers whose inputs have outliers; `int8_sensitivity` finds them on calibration windows and
`most_sensitive` keeps them in fp32 within a weight budget. PyTorch's `quantize_dynamic`
(fbgemm kernels) is kept as the eager-PyTorch reference; it still works on torch 2.13 but
warns that quantized tensors are deprecated. torchao's int8 dynamic quantization was measured
too: without `torch.compile` its eager kernels ran slower than fp32 here, and compiling costs
minutes on two cores.
"""

from __future__ import annotations

import copy
import io
import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils import prune
from transformers import PreTrainedModel
from transformers.modeling_outputs import QuestionAnsweringModelOutput

from qa_utils.postprocess import PAD_LOGIT

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


def quantize_int8(model: nn.Module, keep_fp32: Sequence[str] = ()) -> nn.Module:
    """A copy with its Linear layers dynamically quantized to int8 (PyTorch eager, fbgemm).

    Weights get one scale per output channel: with one scale per tensor the fine-tuned MiniLM
    lost about 6 F1 points, per channel about 3. fbgemm also quantizes activations to 7 bits
    (`reduce_range`), one reason ONNX Runtime's int8 (8-bit activations) loses less.

    Args:
        model: the model to quantize (left unchanged).
        keep_fp32: names of Linear modules to leave in fp32 (see `int8_sensitivity`).
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

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
    from onnxruntime.transformers import optimizer

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
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

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
    import onnx
    from onnx import numpy_helper

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
    # Fused attention: input 1 is the packed query/key/value weight, 2 its bias, then scales.
    fused = ("Attention", "QAttention")
    names |= {n for node in graph.node if node.op_type in fused for n in node.input[1:]}
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


def calibration_batch(
    examples: Any, tokenizer: Any, max_length: int = 384, doc_stride: int = 128
) -> dict[str, torch.Tensor]:
    """One padded batch of the training windows of `examples`, for `int8_sensitivity`.

    Pass training questions, never the ones you will score; the batch holds at most one
    window per question.
    """
    from qa_utils.features import build_train_features

    windows = build_train_features(examples, tokenizer, max_length, doc_stride)
    return labelled_batches(windows, len(examples), 1)[0]


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
