"""Int8 quantization: sizes, closeness to fp32, sensitive layers kept in fp32."""

from __future__ import annotations

import numpy as np
import torch

from qa_utils.optimize import quantize


def test_parameter_counts_match_torch_and_survive_quantization(model):
    total, nonzero = quantize.count_parameters(model)
    assert total == sum(p.numel() for p in model.parameters())
    assert nonzero <= total
    assert quantize.count_parameters(quantize.quantize_int8(model))[0] == total


def test_int8_linear_weights_take_under_half_the_bytes_and_stay_close(model, inputs, logits):
    quantized = quantize.quantize_int8(model)
    assert quantize.linear_bytes(quantized) < 0.5 * quantize.linear_bytes(model)
    assert np.abs(logits(quantized, inputs()) - logits(model, inputs())).max() < 0.1
    assert isinstance(model.bert.encoder.layer[0].output.dense, torch.nn.Linear)  # input untouched


def test_sensitivity_ranks_every_linear_and_kept_layers_stay_fp32(model, tmp_path, inputs):
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


def test_calibration_draw_is_the_benchmarks_draw():
    from qa_utils.core.data import load_squad, subset

    train = load_squad("tests/fixtures/mini_squad.json")
    drawn = quantize.calibration_questions(train, seed=0, n=3)
    assert drawn["id"] == subset(train, 3, 3)["id"]
    assert len(quantize.calibration_questions(train, seed=0)) == min(
        quantize.CALIBRATION_QUESTIONS, len(train)
    )
