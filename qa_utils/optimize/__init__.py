"""Smaller and faster models: int8 quantization (quantize), ONNX Runtime (onnx), pruning (prune),
and side-by-side measurement of speed, size and accuracy (bench)."""
