"""Evaluate a model on SQuAD examples and write every result file of the run, atomically.

examples -> features -> logits -> predictions -> per-example records -> metrics
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset

from qa_utils.core.features import build_eval_features
from qa_utils.core.inference import predict_logits
from qa_utils.core.metrics import score_predictions
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.core.postprocess import postprocess_predictions
from qa_utils.core.records import build_records, count_windows
from qa_utils.project.config import Profile, profile_dict
from qa_utils.project.io import atomic_write_json, atomic_write_table
from qa_utils.project.system import hardware_info, versions

PREDICTIONS = "predictions.json"


NBEST = "nbest.json"


METRICS = "metrics.json"


RECORDS = "records.parquet"


def evaluate(
    model: str | Path,
    examples: Dataset,
    out_dir: str | Path,
    profile: Profile,
    autocast_dtype: torch.dtype | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Predict, score and write predictions.json, nbest.json, records.parquet and metrics.json.

    Returns:
        The contents of metrics.json (EM/F1 in percent, counts, wall times, hardware, versions).
    """
    if profile.threads:
        torch.set_num_threads(profile.threads)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    tokenizer, net = load_tokenizer(model), load_qa_model(model)
    features = build_eval_features(examples, tokenizer, profile.max_length, profile.doc_stride)
    timings["features_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    start, end = predict_logits(net, features, profile.eval_batch_size, autocast_dtype, progress)
    timings["predict_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    predictions = postprocess_predictions(
        examples, features, start, end, profile.n_best_size, profile.max_answer_length
    )
    timings["postprocess_s"] = time.perf_counter() - clock
    clock = time.perf_counter()
    report = score_predictions(examples, {k: p.text for k, p in predictions.items()})
    timings["score_s"] = time.perf_counter() - clock
    records = build_records(examples, predictions, report.per_example, count_windows(features))
    metrics = {
        "exact_match": report.exact_match,
        "f1": report.f1,
        "total": report.total,
        "missing": len(report.missing_ids),
        "unknown": len(report.unknown_ids),
        "windows": len(features),
        "model": str(model),
        "profile": profile_dict(profile),
        "autocast": str(autocast_dtype) if autocast_dtype else None,
        "questions_per_second": len(examples) / max(timings["predict_s"], 1e-9),
        "wall_times": timings,
        "hardware": hardware_info(),
        "versions": versions(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_results(out_dir, predictions, records, metrics)
    return metrics


def write_results(out_dir: str | Path, predictions: dict, records: Any, metrics: dict) -> None:
    """Write the four result files; each appears whole or not at all."""
    out = Path(out_dir)
    atomic_write_json(out / PREDICTIONS, {k: p.text for k, p in predictions.items()})
    atomic_write_json(out / NBEST, {k: p.nbest for k, p in predictions.items()}, indent=None)
    atomic_write_table(out / RECORDS, records)
    atomic_write_json(out / METRICS, metrics)
