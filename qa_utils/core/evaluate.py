"""Evaluate a model on SQuAD examples and write every result file of the run, atomically.

examples -> features -> logits -> predictions -> per-example records -> metrics

On SQuAD 2.0 examples (or with a `null_threshold`) the predictions carry no-answer
probabilities: they go to na_probs.json beside predictions.json (the official script's
`--na-prob-file`), and metrics.json adds the official v2.0 scores under "squad_v2".

The result folder is replaced as a whole (`qa_utils.project.io.atomic_dir`): it holds one
run's files, never files of two runs side by side.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from datasets import Dataset

from qa_utils.core.features import check_settings
from qa_utils.core.inference import infer
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.core.records import own_na_probs
from qa_utils.project.config import Profile, profile_dict
from qa_utils.project.io import atomic_dir, atomic_write_json, atomic_write_table, check_output_dir
from qa_utils.project.system import hardware_info, versions

PREDICTIONS = "predictions.json"
NBEST = "nbest.json"
METRICS = "metrics.json"
RECORDS = "records.parquet"
NA_PROBS = "na_probs.json"
RESULT_FILES = (PREDICTIONS, NBEST, RECORDS, METRICS, NA_PROBS)


def check_results_dir(out_dir: str | Path, what: str = "--output") -> Path:
    """Refuse a result folder that cannot be written or holds anything but earlier results."""
    return check_output_dir(out_dir, what, owned=RESULT_FILES)


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
    check_results_dir(out_dir, "out_dir")
    check_settings(profile.max_length, profile.doc_stride)
    tokenizer, net = load_tokenizer(model), load_qa_model(model)
    result = infer(
        net,
        tokenizer,
        examples,
        profile.inference,
        autocast_dtype=autocast_dtype,
        progress=progress,
    )
    clock = time.perf_counter()
    scored = result.records()
    report = scored.report
    metrics = {
        "exact_match": report.exact_match,
        "f1": report.f1,
        **({"squad_v2": report.official} if report.official is not None else {}),
        "total": report.total,
        "missing": len(report.missing_ids),
        "unknown": len(report.unknown_ids),
        "windows": len(result.features),
        "model": str(model),
        "profile": profile_dict(profile),
        "autocast": str(autocast_dtype) if autocast_dtype else None,
        "questions_per_second": len(examples) / max(result.seconds["predict_s"], 1e-9),
        "wall_times": {**result.seconds, "score_s": time.perf_counter() - clock},
        "hardware": hardware_info(),
        "versions": versions(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_results(out_dir, result.predictions, scored.table, metrics)
    return metrics


def write_results(out_dir: str | Path, predictions: dict, records: Any, metrics: dict) -> None:
    """Write the result files (and na_probs.json in SQuAD 2.0 mode); they replace an earlier
    run's together or not at all."""
    with atomic_dir(out_dir) as out:
        atomic_write_json(out / PREDICTIONS, {k: p.text for k, p in predictions.items()})
        na_probs = own_na_probs(predictions)
        if na_probs is not None:
            atomic_write_json(out / NA_PROBS, na_probs)
        atomic_write_json(out / NBEST, {k: p.nbest for k, p in predictions.items()}, indent=None)
        atomic_write_table(out / RECORDS, records)
        atomic_write_json(out / METRICS, metrics)
