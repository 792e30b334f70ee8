"""qa_utils: helpers for evaluating extractive question answering models on SQuAD v1.1."""

__version__ = "0.1.0"
