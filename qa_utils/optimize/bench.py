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
from qa_utils.training import distill

MB = 1024 * 1024

BASELINE = "pytorch fp32"
"""The variant every other is measured against (the first row of a results table)."""

RECOMMENDED = "onnxruntime int8, sensitive fp32"
"""The int8 variant this project recommends: ONNX Runtime, the most sensitive layers in fp32."""

MIN_RECOMMENDED_SPEEDUP = 1.5
MIN_BEST_ORT_SPEEDUP = 2.0
MAX_F1_DROP = 1.0
MAX_LINEAR_RATIO = 0.5
MIN_DISTILLATION_GAIN = 2.0
"""Thresholds of `acceptance` (issue 6): batch-1 speed-ups, F1 points, a bytes ratio, F1 points."""


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


def best_ort(table: pd.DataFrame) -> pd.Series:
    """The best ONNX Runtime row: the fastest within `MAX_F1_DROP` of fp32, else the fastest."""
    row = table.set_index("variant")
    ort = row.loc[[v for v in row.index if v.startswith("onnxruntime")]]
    usable = ort[ort["f1_drop"] <= MAX_F1_DROP]
    return (usable if len(usable) else ort).sort_values("batch1_speedup").iloc[-1]


def int8_checks(table: pd.DataFrame) -> list[tuple[str, bool, float]]:
    """The acceptance checks of the recommended int8 variant and of the best ONNX Runtime one.

    Returns:
        (what is checked, whether it holds, the measured value) per check.
    """
    row = table.set_index("variant")
    fp32, q8 = row.loc[BASELINE], row.loc[RECOMMENDED]
    ratio = q8["linear_mb"] / fp32["linear_mb"]
    best = best_ort(table)
    speedup, drop = q8["batch1_speedup"], q8["f1_drop"]
    return [
        (f"{RECOMMENDED}: batch-1 speedup >= {MIN_RECOMMENDED_SPEEDUP:g}",
         speedup >= MIN_RECOMMENDED_SPEEDUP, speedup),
        (f"{RECOMMENDED}: F1 drop <= {MAX_F1_DROP:.1f}", drop <= MAX_F1_DROP, drop),
        (f"{RECOMMENDED}: Linear bytes / fp32 <= {MAX_LINEAR_RATIO:g}",
         ratio <= MAX_LINEAR_RATIO, ratio),
        (f"best ORT ({best.name}): batch-1 speedup >= {MIN_BEST_ORT_SPEEDUP:g}",
         best["batch1_speedup"] >= MIN_BEST_ORT_SPEEDUP, best["batch1_speedup"]),
        (f"best ORT ({best.name}): F1 drop <= {MAX_F1_DROP:.1f}",
         best["f1_drop"] <= MAX_F1_DROP, best["f1_drop"]),
    ]  # fmt: skip


def distillation_checks(comparison: pd.DataFrame) -> list[tuple[str, bool, float]]:
    """The distillation gain check: on average over the pairs, and in every pair."""
    gain = distill.gain_summary(comparison)
    label = (
        f"distilled - gold-only student F1 >= {MIN_DISTILLATION_GAIN:g} "
        f"(mean of {gain['repeats']} pair{'' if gain['repeats'] == 1 else 's'})"
    )
    return [
        (label, gain["mean"] >= MIN_DISTILLATION_GAIN, gain["mean"]),
        (
            "... and in every pair (smallest gain)",
            gain["min"] >= MIN_DISTILLATION_GAIN,
            gain["min"],
        ),
    ]


def check_lines(checks: Sequence[tuple[str, bool, float]]) -> list[str]:
    """Checks as the lines `benchmarks/optimize.py` prints: PASS/FAIL, what, measured value.

    >>> check_lines([("speed-up >= 2", False, 1.9)])
    ['FAIL  speed-up >= 2: 1.90']
    """
    return [f"{'PASS' if ok else 'FAIL'}  {name}: {value:.2f}" for name, ok, value in checks]


def acceptance(table: pd.DataFrame, comparison: pd.DataFrame | None = None) -> list[str]:
    """The acceptance checks of issue 6, as lines of PASS/FAIL with the measured numbers.

    The recommended int8 variant (`RECOMMENDED`) must be fast enough, lose at most `MAX_F1_DROP`
    F1 and halve the Linear bytes; the best ONNX Runtime variant (`best_ort`) must be faster
    still within the same F1 loss; the PyTorch int8 rows are only printed for comparison. The
    distillation gain (when `comparison`, from `distill.repeated_comparison`, has rows) must hold
    on average and in every repetition.
    """
    checks = int8_checks(table)
    if comparison is not None and len(comparison):
        checks += distillation_checks(comparison)
    return check_lines(checks)


def linear_byte_parts(model: torch.nn.Module) -> dict[str, int]:
    """What the serialized Linear layers (`quantize.linear_bytes`) are made of, in bytes.

    Returns:
        `weights` (the weight matrices: int8 or fp32), `biases` (fp32 in both), `scales` (the
        quantization scales and zero points: per output channel, plus the layer's output scalars),
        `headers` (what `torch.save` adds around them) and `total` (the four together).
    """
    parts = {"weights": 0, "biases": 0, "scales": 0}
    for module in model.modules():
        if not quantize.is_linear(module):
            continue
        for tensor in _tensors(list(module.state_dict().values())):
            nbytes = tensor.numel() * tensor.element_size()
            if tensor.is_quantized and tensor.qscheme() in PER_CHANNEL:
                parts["weights"] += nbytes
                qparams = (tensor.q_per_channel_scales(), tensor.q_per_channel_zero_points())
                parts["scales"] += sum(t.numel() * t.element_size() for t in qparams)
            elif tensor.is_quantized or tensor.dim() >= 2:
                parts["weights"] += nbytes
            else:
                parts["biases" if tensor.dim() == 1 else "scales"] += nbytes
    total = quantize.linear_bytes(model)
    return parts | {"headers": total - sum(parts.values()), "total": total}


PER_CHANNEL = (torch.per_channel_affine, torch.per_channel_symmetric)


def _tensors(values: list[Any]) -> list[torch.Tensor]:
    """The tensors in a state dict's values, unpacking the tuples of packed quantized weights."""
    found: list[torch.Tensor] = []
    for value in values:
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, tuple | list):
            found += _tensors(list(value))
    return found


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
