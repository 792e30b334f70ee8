"""Measure model variants side by side on the same questions: speed, size, memory, EM/F1.

Batch-1 latency is one question's windows through the model (`predict_logits` on that
question alone); tokenization and post-processing are the same for every variant and are left
out. Requests are interleaved across variants in small blocks, so a load spike from another
process on a shared machine hits every variant alike instead of whichever ran at that moment.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import torch
from datasets import Dataset
from transformers.tokenization_utils_base import PreTrainedTokenizerBase

from qa_utils.core import backends
from qa_utils.core.features import build_eval_features
from qa_utils.core.inference import infer, predict_logits
from qa_utils.optimize import onnx as onnx_tools
from qa_utils.optimize import prune, quantize
from qa_utils.project.config import Profile
from qa_utils.project.io import atomic_write_json, atomic_write_table, atomic_write_text
from qa_utils.project.paths import project_root
from qa_utils.project.system import hardware_info, versions

MB = 1024 * 1024


@dataclass
class Variant:
    """One model to measure: something `predict_logits` accepts, plus its static costs."""

    name: str
    model: Any
    size_mb: float
    linear_mb: float
    parameters: int
    nonzero_parameters: int


def torch_variant(name: str, model: torch.nn.Module) -> Variant:
    """Describe a PyTorch model (size = its serialized state dict)."""
    total, nonzero = quantize.count_parameters(model)
    return Variant(
        name,
        model.eval(),
        quantize.serialized_bytes(model) / MB,
        quantize.linear_bytes(model) / MB,
        total,
        nonzero,
    )


def onnx_variant(name: str, path: str | Path, config: Any, threads: int = 0) -> Variant:
    """Describe an ONNX model run by ONNX Runtime (size = the .onnx file)."""
    total, nonzero = onnx_tools.onnx_parameters(path)
    return Variant(
        name,
        backends.OrtQAModel(path, config, threads),
        Path(path).stat().st_size / MB,
        onnx_tools.onnx_linear_bytes(path) / MB,
        total,
        nonzero,
    )


@dataclass
class Workload:
    """The questions every variant answers: all windows, and one request per question."""

    examples: Dataset
    features: Dataset
    requests: list[Dataset]


def make_workload(
    examples: Dataset, tokenizer: PreTrainedTokenizerBase, profile: Profile, n_requests: int
) -> Workload:
    """Build the windows once and split the first `n_requests` questions into batch-1 requests."""
    features = build_eval_features(examples, tokenizer, profile.max_length, profile.doc_stride)
    owners = np.array(features["example_id"])
    ids = examples["id"][: min(n_requests, len(examples))]
    requests = [features.select(np.flatnonzero(owners == i)) for i in ids]
    return Workload(examples, features, requests)


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    """p50/p95/p99 of request times, in milliseconds.

    >>> percentiles_ms([0.001] * 99 + [0.101])["p50_ms"]
    1.0
    """
    values = np.asarray(seconds) * 1000
    return {f"p{q}_ms": float(np.percentile(values, q)) for q in (50, 95, 99)}


def interleaved_latencies(
    variants: list[Variant],
    requests: list[Dataset],
    n_requests: int,
    warmup: int = 10,
    block: int = 10,
) -> dict[str, list[float]]:
    """Batch-1 request times per variant, `block` requests at a time, round robin.

    Returns:
        Seconds per request for each variant name (warm-up requests excluded).
    """
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    for variant in variants:
        for i in range(warmup):
            request = requests[i % len(requests)]
            predict_logits(variant.model, request, batch_size=len(request), progress=False)
    for first in range(0, n_requests, block):
        for variant in variants:
            for i in range(first, min(first + block, n_requests)):
                request = requests[i % len(requests)]
                started = time.perf_counter()
                predict_logits(variant.model, request, batch_size=len(request), progress=False)
                times[variant.name].append(time.perf_counter() - started)
    return times


def peak_rss_mb(fn: Callable[[], Any], interval: float = 0.01) -> tuple[Any, float]:
    """Run `fn`; return its result and the peak growth of resident memory (MB) while it ran.

    Growth above the resident size before the call: activations and workspaces, not the
    weights already loaded (large tensors are mmap-backed, so freed ones leave the RSS).
    """
    process = psutil.Process()
    before = process.memory_info().rss
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(interval):
            peak[0] = max(peak[0], process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    return result, (max(peak[0], process.memory_info().rss) - before) / MB


def batched_run(variant: Variant, workload: Workload, profile: Profile) -> dict[str, Any]:
    """Answer every question in batches (`infer`): throughput, peak memory, EM/F1, answers.

    Throughput counts the model stage alone (the windows are built once for every variant).
    """
    result, peak = peak_rss_mb(
        lambda: infer(
            variant.model, None, workload.examples, profile.inference, features=workload.features
        )
    )
    report = result.records().report
    return {
        "questions_per_s": len(workload.examples) / result.seconds["predict_s"],
        "peak_extra_mb": peak,
        "exact_match": report.exact_match,
        "f1": report.f1,
        "answers": result.answers,
    }


def f1_scorer(workload: Workload, profile: Profile) -> Callable[[str, torch.nn.Module], float]:
    """A function giving the F1 of a named PyTorch model on `workload` (batched, as `batched_run`).

    `qa_utils.training.distill.repeated_comparison` takes one to score its students.
    """

    def f1(name: str, model: torch.nn.Module) -> float:
        return batched_run(torch_variant(name, model), workload, profile)["f1"]

    return f1


def benchmark(
    variants: list[Variant],
    workload: Workload,
    profile: Profile,
    n_requests: int = 200,
    warmup: int = 10,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """Measure every variant on the same workload; the first variant is the baseline.

    Returns:
        The results table (one row per variant) and each variant's answers by question id.
    """
    latencies = interleaved_latencies(variants, workload.requests, n_requests, warmup)
    rows, answers = [], {}
    for variant in variants:
        run = batched_run(variant, workload, profile)
        answers[variant.name] = run.pop("answers")
        static = {
            f.name: getattr(variant, f.name)
            for f in fields(variant)
            if f.name not in ("name", "model")
        }
        rows.append(
            {
                "variant": variant.name,
                **percentiles_ms(latencies[variant.name]),
                # From the median request: one load spike on a shared machine moves a mean.
                "batch1_qps": 1.0 / float(np.median(latencies[variant.name])),
                **run,
                **static,
            }
        )
    table = pd.DataFrame(rows)
    base = table.iloc[0]
    table["batch1_speedup"] = table["batch1_qps"] / base["batch1_qps"]
    table["batched_speedup"] = table["questions_per_s"] / base["questions_per_s"]
    table["f1_drop"] = base["f1"] - table["f1"]
    table["agreement_pct"] = [
        agreement(answers[variants[0].name], answers[v.name]) for v in variants
    ]
    return table, answers


def agreement(reference: dict[str, str], other: dict[str, str]) -> float:
    """Percentage of questions answered with exactly the same text.

    >>> agreement({"a": "x", "b": "y"}, {"a": "x", "b": "z"})
    50.0
    """
    same = sum(other.get(k) == v for k, v in reference.items())
    return 100.0 * same / max(len(reference), 1)


def bench_metadata(profile: Profile, n_questions: int, n_requests: int) -> dict[str, Any]:
    """What the numbers were measured on: hardware, threads, versions, workload."""
    return {
        "hardware": hardware_info(),
        "versions": versions(),
        "torch_threads": torch.get_num_threads(),
        "profile": profile.name,
        "questions": n_questions,
        "latency_requests": n_requests,
        "batch_size": profile.eval_batch_size,
        "load_average": list(psutil.getloadavg()),
    }


def results_markdown(table: pd.DataFrame, digits: int = 2) -> str:
    """The results table as Markdown, one row per variant."""
    return table.round(digits).to_markdown(index=False)


DIGITS = {
    "p50_ms": 1,
    "p95_ms": 1,
    "p99_ms": 1,
    "questions_per_s": 1,
    "size_mb": 1,
    "linear_mb": 1,
    "peak_extra_mb": 1,
    "exact_match": 1,
    "f1": 1,
    "agreement_pct": 1,
    "distilled_f1": 1,
    "gold_only_f1": 1,
    "distilled_s": 0,
    "gold_only_s": 0,
}
"""Decimals shown for each measured column; others (speed-ups, F1 changes) get two."""

READABLE = (
    "variant",
    "p50_ms",
    "p95_ms",
    "batch1_speedup",
    "questions_per_s",
    "batched_speedup",
    "peak_extra_mb",
    "size_mb",
    "exact_match",
    "f1",
    "f1_drop",
    "agreement_pct",
)
"""The columns of a results table a reader compares (the CSV keeps all of them)."""


def readable(table: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """`columns` of `table`, each rounded as `DIGITS` says.

    By default the columns of `READABLE` that `table` has, or all of them if it has none.

    >>> readable(pd.DataFrame({"variant": ["a"], "f1": [71.9714], "f1_drop": [0.123456]}))
      variant    f1  f1_drop
    0       a  72.0     0.12
    >>> readable(pd.DataFrame({"gain": [3.21289], "distilled_s": [79.1396]}))
       gain  distilled_s
    0  3.21         79.0
    """
    columns = columns or [c for c in READABLE if c in table.columns] or list(table.columns)
    shown = table[list(columns)].copy()
    for name in shown.columns:
        if pd.api.types.is_float_dtype(shown[name]):
            shown[name] = shown[name].round(DIGITS.get(name, 2))
    return shown


def write_bench(
    table: pd.DataFrame, out_dir: str | Path, metadata: dict[str, Any], stem: str = "bench"
) -> dict[str, Path]:
    """Write `<stem>.csv`, `<stem>.md` and `<stem>_meta.json` atomically."""
    out = Path(out_dir)
    return {
        "csv": atomic_write_table(out / f"{stem}.csv", table),
        "md": atomic_write_text(out / f"{stem}.md", results_markdown(table) + "\n"),
        "meta": atomic_write_json(out / f"{stem}_meta.json", metadata),
    }


def reference_results(
    stem: str = "optimize", folder: str | Path | None = None
) -> pd.DataFrame | None:
    """The committed table of a reference benchmark run (`benchmarks/reference/<stem>.csv`).

    Returns None when there is none (for example in a trimmed copy of the project).
    """
    path = Path(folder or project_root() / "benchmarks" / "reference") / f"{stem}.csv"
    return pd.read_csv(path) if path.is_file() else None


def reference_metadata(
    stem: str = "optimize", folder: str | Path | None = None
) -> dict[str, Any] | None:
    """The committed `<stem>_meta.json` of a reference run (machine, load, model), or None."""
    path = Path(folder or project_root() / "benchmarks" / "reference") / f"{stem}_meta.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def reference_checks(stem: str = "optimize", folder: str | Path | None = None) -> list[str] | None:
    """The PASS/FAIL lines of a reference run's committed `<stem>_checks.txt`, or None."""
    path = Path(folder or project_root() / "benchmarks" / "reference") / f"{stem}_checks.txt"
    if not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.startswith(("PASS", "FAIL"))]


def pruning_row(
    method: str, amount: float, model: torch.nn.Module, workload: Workload, profile: Profile
) -> dict[str, Any]:
    """F1 and batched speed of one pruned model."""
    variant = torch_variant(f"{method} {amount}", model)
    run = batched_run(variant, workload, profile)
    return {
        "method": method,
        "amount": amount,
        "weight_sparsity": prune.weight_sparsity(model),
        "parameters": variant.parameters,
        "nonzero_parameters": variant.nonzero_parameters,
        "questions_per_s": run["questions_per_s"],
        "exact_match": run["exact_match"],
        "f1": run["f1"],
    }


def pruning_curve(
    model: torch.nn.Module,
    workload: Workload,
    profile: Profile,
    labelled: list[dict[str, torch.Tensor]],
    sparsities: list[float],
    head_fractions: list[float],
) -> pd.DataFrame:
    """F1 as more weights (global magnitude) or more heads (Michel importance) are removed.

    Args:
        labelled: padded training batches (`prune.labelled_batches`) for head importance.
    """
    rows = [pruning_row("none", 0.0, model, workload, profile)]
    for sparsity in sparsities:
        pruned = prune.magnitude_prune(model, sparsity)
        rows.append(pruning_row("magnitude", sparsity, pruned, workload, profile))
    importance = prune.head_importance(model, labelled) if head_fractions else None
    for fraction in head_fractions:
        pruned = prune.prune_heads(model, prune.heads_to_prune(importance, fraction))
        rows.append(pruning_row("heads", fraction, pruned, workload, profile))
    return pd.DataFrame(rows)
