"""The data flow, one function per arrow:

SQuAD file -> examples (data) -> windows (features) -> logits and predictions (inference,
postprocess; model loads the weights, backends runs them in PyTorch or ONNX Runtime) ->
per-example table (records) -> EM/F1 (metrics); evaluate writes a run's result files.
"""
