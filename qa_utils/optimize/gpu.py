"""GPU acceleration: the same evaluation in fp32, fp16 and bf16 autocast and at larger batches.

Every setting answers the same questions through the one inference path (`infer`), with the
windows built once; the CPU row (fp32 at the profile's batch size) is measured in the same run,
so questions per second, F1 and answer agreement are side by side. Without a CUDA device
`gpu_table` returns None and measures nothing: there is no GPU number to show.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd
import torch

from qa_utils.core.inference import infer, predict_logits
from qa_utils.optimize.bench import Workload, agreement
from qa_utils.project.config import InferenceSettings

DTYPES: dict[str, torch.dtype | None] = {
    "fp32": None,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}
"""Autocast dtypes by name; None runs the model as it is (fp32)."""

BATCH_FACTORS = (1, 4, 16)
"""Batch sizes measured on the GPU, as multiples of the profile's evaluation batch size."""


@dataclass(frozen=True)
class Setting:
    """One way to run the model: device, autocast dtype name (a key of `DTYPES`), batch size."""

    device: str
    dtype: str
    batch_size: int


def cuda_device() -> str | None:
    """ "cuda" when PyTorch sees a CUDA device, else None."""
    return "cuda" if torch.cuda.is_available() else None


def gpu_settings(
    device: str, base_batch: int, factors: tuple[int, ...] = BATCH_FACTORS
) -> list[Setting]:
    """Every dtype of `DTYPES` at every batch size `base_batch * factor`, on `device`.

    >>> [(s.dtype, s.batch_size) for s in gpu_settings("cuda", 8, (1, 2))][:3]
    [('fp32', 8), ('fp32', 16), ('fp16', 8)]
    """
    return [Setting(device, d, base_batch * f) for d in DTYPES for f in factors]


def _warm_up(model: torch.nn.Module, workload: Workload, setting: Setting) -> None:
    """One batch through the model first: CUDA context, kernel choice and caches are not timed."""
    first = workload.features.select(range(min(setting.batch_size, len(workload.features))))
    predict_logits(model, first, setting.batch_size, DTYPES[setting.dtype], progress=False)


def measure(
    model: torch.nn.Module, workload: Workload, settings: InferenceSettings, setting: Setting
) -> tuple[dict, dict[str, str]]:
    """Answer the workload once under `setting`: its row (speed, EM, F1) and its answers."""
    model.to(setting.device)
    _warm_up(model, workload, setting)
    run = infer(
        model,
        None,
        workload.examples,
        dataclasses.replace(settings, batch_size=setting.batch_size),
        features=workload.features,
        autocast_dtype=DTYPES[setting.dtype],
    )
    report = run.records().report
    row = {
        **dataclasses.asdict(setting),
        "questions_per_s": len(workload.examples) / run.seconds["predict_s"],
        "exact_match": report.exact_match,
        "f1": report.f1,
    }
    return row, run.answers


def device_table(
    model: torch.nn.Module, workload: Workload, settings: InferenceSettings, device: str
) -> pd.DataFrame:
    """The CPU fp32 baseline, then every `gpu_settings` row on `device`, compared with it.

    Columns: device, dtype, batch_size, questions_per_s, exact_match, f1, speedup (over the
    CPU row), f1_change (against the CPU row) and agreement_pct (same answer text as the CPU).
    The model is moved back to the CPU at the end.
    """
    plan = [Setting("cpu", "fp32", settings.batch_size)]
    plan += gpu_settings(device, settings.batch_size)
    rows, answers = [], []
    try:
        for setting in plan:
            row, given = measure(model, workload, settings, setting)
            rows.append(row)
            answers.append(given)
    finally:
        model.to("cpu")
    table = pd.DataFrame(rows)
    base = table.iloc[0]
    table["speedup"] = table["questions_per_s"] / base["questions_per_s"]
    table["f1_change"] = table["f1"] - base["f1"]
    table["agreement_pct"] = [agreement(answers[0], a) for a in answers]
    return table


def gpu_table(
    model: torch.nn.Module,
    workload: Workload,
    settings: InferenceSettings,
    device: str | None = None,
) -> pd.DataFrame | None:
    """`device_table` on the CUDA device, or None (nothing run) when there is none.

    Args:
        device: where to run the accelerated rows; None asks `cuda_device()`. Tests pass "cpu"
            to run the whole matrix without a GPU.
    """
    device = device or cuda_device()
    return None if device is None else device_table(model, workload, settings, device)
