"""Compression: int8 quantization, ONNX Runtime, magnitude and head pruning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qa_utils.core import backends
from qa_utils.optimize import onnx as onnx_tools
from qa_utils.optimize import prune, quantize


def inputs(batch: int = 2, length: int = 24) -> dict[str, torch.Tensor]:
    ids = torch.randint(1000, 2000, (batch, length), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, length // 2 :] = 0  # one padded row, so masking is exercised
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def logits(model, batch) -> np.ndarray:
    with torch.inference_mode():
        return model(**batch).start_logits.numpy()


def test_parameter_counts_match_torch_and_survive_quantization(model):
    total, nonzero = quantize.count_parameters(model)
    assert total == sum(p.numel() for p in model.parameters())
    assert nonzero <= total
    assert quantize.count_parameters(quantize.quantize_int8(model))[0] == total


def test_int8_linear_weights_take_under_half_the_bytes_and_stay_close(model):
    quantized = quantize.quantize_int8(model)
    assert quantize.linear_bytes(quantized) < 0.5 * quantize.linear_bytes(model)
    assert np.abs(logits(quantized, inputs()) - logits(model, inputs())).max() < 0.1
    assert isinstance(model.bert.encoder.layer[0].output.dense, torch.nn.Linear)  # input untouched


def test_onnx_fp32_matches_torch_and_int8_is_smaller(model, tmp_path):
    fp32 = onnx_tools.export_onnx(model, tmp_path / "model.onnx")
    int8 = onnx_tools.quantize_onnx_int8(fp32, tmp_path / "model.int8.onnx")
    batch = inputs(batch=3, length=40)  # other shape than the export example: dynamic axes
    session = backends.OrtQAModel(fp32, model.config, threads=1)
    np.testing.assert_allclose(logits(session, batch), logits(model, batch), atol=1e-4)
    assert onnx_tools.onnx_linear_bytes(int8) < 0.5 * onnx_tools.onnx_linear_bytes(fp32)
    assert (
        np.abs(logits(backends.OrtQAModel(int8, model.config), batch) - logits(model, batch)).max()
        < 0.2
    )
    assert onnx_tools.onnx_parameters(fp32)[0] == pytest.approx(
        quantize.count_parameters(model)[0], rel=0.01
    )


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9])
def test_magnitude_pruning_reaches_the_sparsity_on_a_copy(model, sparsity):
    pruned = prune.magnitude_prune(model, sparsity)
    assert prune.weight_sparsity(pruned) == pytest.approx(sparsity, abs=1e-3)
    assert prune.weight_sparsity(model) == 0.0
    assert not any("mask" in name for name, _ in pruned.named_buffers())  # masks baked in


def test_magnitude_pruning_rejects_a_full_sparsity(model):
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\), got 1.0"):
        prune.magnitude_prune(model, 1.0)


def test_sparse_timing_table_has_dense_and_csr_columns():
    table = prune.sparse_matmul_timing([0.0, 0.9], size=32, tokens=8, repeats=2)
    assert list(table.columns) == ["sparsity", "dense_ms", "sparse_csr_ms"]
    assert (table[["dense_ms", "sparse_csr_ms"]] > 0).all().all()


def test_pruning_a_head_equals_gating_it_to_zero(model):
    gates = torch.ones(2, 4)
    gates[0, 1] = gates[1, 3] = 0.0
    blocks = prune.attention_blocks(model)
    hooks = [b.self.register_forward_hook(prune._gate_hook(gates, i)) for i, b in enumerate(blocks)]
    try:
        gated = logits(model, inputs())
    finally:
        for hook in hooks:
            hook.remove()
    pruned = prune.prune_heads(model, {0: [1], 1: [3]})
    np.testing.assert_allclose(logits(pruned, inputs()), gated, atol=1e-5)
    assert quantize.count_parameters(pruned)[0] < quantize.count_parameters(model)[0]


def test_pruning_every_head_of_a_layer_is_refused(model):
    with pytest.raises(ValueError, match=r"layer 0: cannot prune every head"):
        prune.prune_heads(model, {0: [0, 1, 2, 3]})


def test_heads_to_prune_takes_the_least_important_and_keeps_one_per_layer():
    importance = np.array([[0.1, 0.2, 0.9, 0.8], [0.05, 0.06, 0.07, 0.08]])
    assert prune.heads_to_prune(importance, 0.25) == {1: [0, 1]}
    chosen = prune.heads_to_prune(importance, 1.0)
    assert all(len(heads) == 3 for heads in chosen.values())


def test_head_importance_is_per_layer_normalised(model, train_features):
    batches = prune.labelled_batches(train_features, batch_size=4, max_batches=1)
    assert batches[0]["input_ids"].shape[0] == 4
    importance = prune.head_importance(model, batches)
    assert importance.shape == (2, 4)
    np.testing.assert_allclose(np.linalg.norm(importance, axis=1), 1.0, rtol=1e-5)
    assert all(p.grad is None for p in model.parameters())


def test_fused_onnx_matches_torch_on_padded_batches_of_other_shapes(model, tmp_path):
    import onnx

    fp32 = onnx_tools.export_onnx(model, tmp_path / "model.onnx")
    fused = onnx_tools.optimize_onnx(fp32, tmp_path / "model.fused.onnx", model.config)
    ops = {node.op_type for node in onnx.load(str(fused)).graph.node}
    assert {"Attention", "SkipLayerNormalization"} <= ops  # the optimizer really fused it
    batch = inputs(batch=3, length=40)
    session = backends.OrtQAModel(fused, model.config, threads=1)
    np.testing.assert_allclose(logits(session, batch), logits(model, batch), atol=1e-4)
    int8 = onnx_tools.quantize_onnx_int8(fused, tmp_path / "model.int8.onnx")
    assert onnx_tools.onnx_linear_bytes(int8) < 0.5 * onnx_tools.onnx_linear_bytes(fused)
    assert "QAttention" in {node.op_type for node in onnx.load(str(int8)).graph.node}


def test_sensitivity_ranks_every_linear_and_kept_layers_stay_fp32(model, tmp_path):
    batch = inputs(batch=2, length=24)
    sensitivity = quantize.int8_sensitivity(model, batch)
    assert set(sensitivity.index) == set(quantize.linear_names(model))
    assert (sensitivity >= 0).all() and sensitivity.is_monotonic_decreasing
    keep = quantize.most_sensitive(sensitivity, model, max_fp32_share=0.3)
    assert keep == list(sensitivity.index[: len(keep)]) and keep
    sizes = {n: m.weight.numel() for n, m in model.named_modules() if n in keep}
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert sum(sizes.values()) <= 0.3 * linear
    quantized = quantize.quantize_int8(model, keep)
    modules = dict(quantized.named_modules())
    assert all(type(modules[n]) is torch.nn.Linear for n in keep)
    assert isinstance(modules["qa_outputs"], quantize.QUANTIZED_LINEAR) or "qa_outputs" in keep


def test_onnx_int8_leaves_the_named_linear_layers_in_fp32(model, tmp_path):
    import onnx

    fp32 = onnx_tools.export_onnx(model, tmp_path / "model.onnx")
    keep = ["bert.encoder.layer.0.output.dense"]
    int8 = onnx_tools.quantize_onnx_int8(fp32, tmp_path / "model.int8.onnx", model, keep)
    (node,) = onnx_tools.onnx_nodes_of(fp32, model, keep)
    kept = [n for n in onnx.load(str(int8)).graph.node if n.name == node]
    assert [n.op_type for n in kept] == ["MatMul"]
    with pytest.raises(ValueError, match="not Linear modules"):
        quantize.quantize_int8(model, ["bert.nope"])
    with pytest.raises(ValueError, match="pass the model"):
        onnx_tools.quantize_onnx_int8(fp32, tmp_path / "x.onnx", keep_fp32=keep)
