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

from pathlib import Path
from typing import Any

import torch
from transformers.modeling_outputs import QuestionAnsweringModelOutput

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


ONNX_OUTPUTS = ("start_logits", "end_logits")


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
