"""Pruning: zeroed weights (global magnitude) and removed attention heads (Michel importance).

Zeros alone do not make dense kernels faster (`sparse_matmul_timing` shows it); removing
heads shrinks the matrices themselves. Every function returns a new model.
"""

from __future__ import annotations

import copy
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils import prune
from transformers.pytorch_utils import prune_linear_layer

from qa_utils.core.data import subset
from qa_utils.core.features import build_train_features
from qa_utils.project.config import InferenceSettings

IMPORTANCE_QUESTIONS = 128
"""Training questions whose windows measure head importance, in notebook 05 and in
benchmarks/optimize.py alike, so both remove the same heads from the same model."""

IMPORTANCE_BATCHES = 8
"""Batches of 16 windows that head importance is measured on."""


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
    sparsities: list[float], tokens: int, size: int = 1024, repeats: int = 10, seed: int = 0
) -> pd.DataFrame:
    """Time one Linear-sized product with dense and CSR kernels as more weights become zero.

    `tokens` is the number of positions multiplied at once (a window's length).

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


def importance_batches(
    train: Any,
    tokenizer: Any,
    settings: InferenceSettings,
    seed: int,
    questions: int = IMPORTANCE_QUESTIONS,
    batches: int = IMPORTANCE_BATCHES,
) -> list[dict[str, torch.Tensor]]:
    """The labelled batches of `head_importance`: `questions` drawn from `train` (seed + 2).

    Pass the whole training split: a different pool draws different questions.
    """
    draw = subset(train, questions, seed + 2)
    windows = build_train_features(draw, tokenizer, settings.max_length, settings.doc_stride)
    return labelled_batches(windows, 16, batches)
