"""Smaller and faster models: int8 quantization (quantize), ONNX Runtime (onnx), pruning (prune),
side-by-side measurement of speed, size and accuracy (bench), and the same evaluation on a GPU in
fp32, fp16 and bf16 at larger batches (gpu)."""
