"""ONNX Runtime: export, fusion and int8 files agree with PyTorch through OrtQAModel."""

from __future__ import annotations

import numpy as np
import pytest

from qa_utils.core import backends
from qa_utils.optimize import onnx as onnx_tools
from qa_utils.optimize import quantize


def test_onnx_fp32_matches_torch_and_int8_is_smaller(model, tmp_path, inputs, logits):
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


def test_fused_onnx_matches_torch_on_padded_batches_of_other_shapes(
    model, tmp_path, inputs, logits
):
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
