"""The two model backends of the one inference path: a PyTorch module, or ONNX Runtime.

`qa_utils.core.inference.predict_logits` feeds both the same padded batches; `OrtQAModel` wraps
an ONNX Runtime session so that it takes and returns what a transformers span-prediction model
does (`input_ids`, `attention_mask`, `token_type_ids` -> start and end logits).
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
        # onnxruntime is optional for everything but this backend (and slow to import).
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
