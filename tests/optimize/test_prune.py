"""Pruning: magnitude sparsity on a copy, head importance and removal, sparse kernel timing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qa_utils.optimize import prune, quantize


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


def test_pruning_a_head_equals_gating_it_to_zero(model, inputs, logits):
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


def test_importance_batches_are_labelled_windows_of_the_draw():
    from qa_utils.core.data import load_squad
    from qa_utils.core.model import load_tokenizer
    from qa_utils.project.config import get_profile

    train = load_squad("tests/fixtures/mini_squad.json")
    settings = get_profile("smoke").inference
    batches = prune.importance_batches(train, load_tokenizer("embedded"), settings, 0, 3, 1)
    assert len(batches) == 1
    assert {"input_ids", "start_positions", "end_positions"} <= set(batches[0])
    assert batches[0]["input_ids"].shape[1] <= settings.max_length
