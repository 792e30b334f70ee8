"""Sentences of notebook 05, rendered from its tables so that its prose quotes what it measured.

Each function takes a table the notebook computed (`qa_utils.optimize.bench`, `.gpu`,
`.prune`) and returns one Markdown sentence; nothing here measures anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

RECOMMENDED = "onnxruntime int8, sensitive fp32"
"""The int8 variant this project recommends (benchmarks/optimize.py checks it)."""

BASELINE = "pytorch fp32"


def model_description(model_path: str | Path) -> str:
    """Which model the notebook measures, in words (the folder, or the untrained embedded one).

    >>> model_description("embedded")
    'embedded MiniLM (its QA head untrained: F1 is noise, speeds are real)'
    >>> model_description("/work/x/runs/quick/model")
    'fine-tuned model in /work/x/runs/quick/model'
    """
    if str(model_path) == "embedded":
        return "embedded MiniLM (its QA head untrained: F1 is noise, speeds are real)"
    return f"fine-tuned model in {model_path}"


def machine_table(hardware: dict[str, Any], versions: dict[str, str]) -> pd.DataFrame:
    """Machine, threads and library versions as one two-column table (platform string left out).

    >>> machine_table({"cpu": "x", "platform": "p"}, {"torch": "2"})["value"].tolist()
    ['x', '2']
    """
    rows = {k: v for k, v in hardware.items() if k != "platform"} | versions
    return pd.DataFrame({"item": list(rows), "value": [str(v) for v in rows.values()]})


def _spoken(names: Sequence[str]) -> str:
    """Bold names joined as in a sentence: **a**, **b** and **c**."""
    bold = [f"**{n}**" for n in names]
    return bold[0] if len(bold) == 1 else ", ".join(bold[:-1]) + " and " + bold[-1]


def tradeoff_sentence(table: pd.DataFrame) -> str:
    """What the trade-off figure shows: the fastest, the most accurate and the smallest variant.

    Variants whose F1 is equal at the one decimal shown are named together.
    """
    by = table.set_index("variant")
    fast, small = by["p50_ms"].idxmin(), by["size_mb"].idxmin()
    shown = by["f1"].round(1)
    best = [name for name in by.index if shown[name] == shown.max()]
    highest = (
        f"Highest is {_spoken(best)}"
        if len(best) == 1
        else f"Highest, tied at one decimal, are {_spoken(best)}"
    )
    return (
        f"Furthest left is **{fast}**: {by.loc[fast, 'p50_ms']:.1f} ms per question at the "
        f"median, {by.loc[fast, 'batch1_speedup']:.2f}x the speed of {BASELINE}, at F1 "
        f"{by.loc[fast, 'f1']:.1f}. {highest} (F1 {shown.max():.1f}); the "
        f"smallest marker is **{small}**, {by.loc[small, 'size_mb']:.1f} MB against "
        f"{by.loc[BASELINE, 'size_mb']:.1f} MB for {BASELINE}."
    )


def mixed_sentence(table: pd.DataFrame, kept: int) -> str:
    """How much of the F1 that int8 loses in ONNX Runtime the layers kept in fp32 win back."""
    by = table.set_index("variant")
    full, mixed = by.loc["onnxruntime int8 dynamic", "f1_drop"], by.loc[RECOMMENDED, "f1_drop"]
    return (
        f"Quantizing every Linear layer changes ONNX Runtime's F1 by {-full:+.2f} against fp32; "
        f"keeping the {kept} most sensitive layers in fp32 makes it {-mixed:+.2f}, at "
        f"{by.loc[RECOMMENDED, 'batch1_speedup']:.2f}x the baseline's batch-1 speed."
    )


def reference_sentence(
    table: pd.DataFrame,
    reference: pd.DataFrame,
    calibration: int,
    reference_calibration: int,
    load: float | None = None,
    reference_load: float | None = None,
) -> str:
    """This run's recommended int8 row against the committed reference's, and why they differ.

    F1 differences are said as changes against each run's fp32 row (int8 F1 minus fp32 F1), as
    `mixed_sentence` says them.

    Args:
        calibration: calibration questions of this run.
        reference_calibration: those of the reference (benchmarks/optimize.py's default).
        load: this run's 1-minute load average; reference_load: the reference's.
    """
    ours, ref = table.set_index("variant"), reference.set_index("variant")
    f1, ref_f1 = ours.loc[RECOMMENDED, "f1"], ref.loc[RECOMMENDED, "f1"]
    base, ref_base = ours.loc[BASELINE, "f1"], ref.loc[BASELINE, "f1"]
    head = f"Recommended int8 ({RECOMMENDED}): F1 {f1:.2f} here, {ref_f1:.2f} in the reference. "
    if round(base, 2) != round(ref_base, 2):
        why = (
            f"The fp32 baselines differ too ({base:.2f} here, {ref_base:.2f} there): the reference "
            "was measured on another model or other questions, so compare the F1 changes against "
            f"fp32: {-ours.loc[RECOMMENDED, 'f1_drop']:+.2f} here, "
            f"{-ref.loc[RECOMMENDED, 'f1_drop']:+.2f} there."
        )
    elif calibration != reference_calibration:
        why = (
            f"Same model and questions (fp32 F1 {base:.2f} in both); the int8 rows differ because "
            f"this run calibrated the sensitivity scan on {calibration} training questions and "
            f"the reference on {reference_calibration}, so they may keep other layers in fp32."
        )
    else:
        why = (
            f"Same model, questions and {calibration} calibration questions (fp32 F1 {base:.2f} "
            "in both): any difference left comes from the kernels' arithmetic, not from the choice."
        )
    return head + why + " " + speed_sentence(ours, ref, load, reference_load)


def speed_sentence(
    ours: pd.DataFrame, ref: pd.DataFrame, load: float | None, reference_load: float | None
) -> str:
    """The fp32 baseline's median request time in both runs, and the machine's load in each."""
    text = (
        f"Speeds depend on the machine and its load: {BASELINE} takes "
        f"{ours.loc[BASELINE, 'p50_ms']:.1f} ms per batch-1 request at the median here and "
        f"{ref.loc[BASELINE, 'p50_ms']:.1f} ms there"
    )
    if load is not None and reference_load is not None:
        text += (
            f", with a 1-minute load average of {load:.2f} here and {reference_load:.2f} there "
            "(other programs on the same cores slow every variant)"
        )
    return text + "; compare the speed-ups, not the milliseconds."


def pruning_sentence(curve: pd.DataFrame) -> str:
    """Speed and F1 of the zeroed and head-pruned models against no pruning, and the noise.

    Zeroed models do the same work as the unpruned one, so the spread of their speeds (with the
    unpruned 1.00x) is this run's noise; a head-pruned row is only called faster or slower when
    it falls outside that spread, and two head-pruned rows are only told apart when they differ
    by more than it.
    """
    base = curve[curve["method"] == "none"].iloc[0]
    zeroed = curve[curve["method"] == "magnitude"]
    heads = curve[curve["method"] == "heads"]
    speed = zeroed["questions_per_s"] / base["questions_per_s"]
    most = zeroed.iloc[-1]
    low, high = min(speed.min(), 1.0), max(speed.max(), 1.0)
    span = (
        f"{speed.iloc[0]:.2f}x"
        if len(speed) == 1
        else f"between {speed.min():.2f}x and {speed.max():.2f}x"
    )
    text = (
        f"Zeroing up to {most['amount']:.0%} of the weights leaves the batched speed at {span} "
        f"the unpruned model's, while F1 goes from {base['f1']:.1f} to {most['f1']:.1f}. These "
        f"models do the same work, so that spread ({low:.2f}x to {high:.2f}x, with the unpruned "
        "model) is this run's noise."
    )
    ratios = heads["questions_per_s"] / base["questions_per_s"]
    for (_, row), ratio in zip(heads.iterrows(), ratios, strict=True):
        verdict = (
            "faster than that noise"
            if ratio > high
            else "slower than that noise"
            if ratio < low
            else "within that noise"
        )
        text += (
            f" Removing {row['amount']:.0%} of the heads runs at {ratio:.2f}x ({verdict}), with "
            f"F1 {row['f1']:.1f} ({row['f1'] - base['f1']:+.1f})."
        )
    if len(ratios) > 1:
        gap = ratios.max() - ratios.min()
        text += f" The head-pruned rows differ by {gap:.2f}x, " + (
            "no more than the noise: this run cannot tell their speeds apart."
            if gap <= high - low
            else "more than the noise."
        )
    return text


def sparse_sentence(timing: pd.DataFrame) -> str:
    """What the right panel shows: dense time against sparsity, and where CSR overtakes it."""
    first, last = timing.iloc[0], timing.iloc[-1]
    faster = timing[timing["sparse_csr_ms"] < timing["dense_ms"]]
    crossing = (
        f"the CSR kernel overtakes it from {faster['sparsity'].iloc[0]:.0%} zeros on"
        if len(faster)
        else "the CSR kernel is slower at every sparsity measured"
    )
    return (
        f"Right panel: the dense product takes {first['dense_ms']:.2f} ms with "
        f"{first['sparsity']:.0%} zeros and {last['dense_ms']:.2f} ms with {last['sparsity']:.0%}; "
        f"{crossing} (CSR {last['sparse_csr_ms']:.2f} ms at {last['sparsity']:.0%}). Left panel: "
        "the F1 of the table above, against the fraction pruned."
    )


def gpu_sentence(rows: pd.DataFrame) -> str:
    """The fastest GPU setting against the CPU row, and its F1 change."""
    gpu = rows.iloc[1:]
    best = gpu.loc[gpu["questions_per_s"].idxmax()]
    return (
        f"Fastest on the GPU: {best['dtype']} at batch {best['batch_size']}, "
        f"{best['questions_per_s']:.0f} questions/s, {best['speedup']:.1f}x the CPU row, F1 "
        f"{best['f1_change']:+.2f} against it, {best['agreement_pct']:.1f}% of answers identical."
    )


def distillation_defaults_sentence(
    temperature: float, alpha: float, selection: pd.DataFrame | None
) -> str:
    """What the default T and alpha mean, and whether the validation split has re-checked them.

    Args:
        selection: the committed `distillation_selection.csv` of
            `benchmarks.distillation --select-on validation`, or None when there is none.
    """
    defaults = f"T = {temperature:g}, alpha = {alpha:g}"
    if alpha == 1:
        mix = (
            f"With the defaults ({defaults}) the student learns from the teacher's "
            "distributions alone; alpha < 1 mixes in the gold labels."
        )
    else:
        mix = (
            f"With the defaults ({defaults}) the teacher's term has weight {alpha:g} and the "
            f"gold labels' {1 - alpha:g}."
        )
    if selection is None:
        return mix + (
            " The command above re-checks them on the validation split; until its output "
            "(`benchmarks/reference/distillation_selection.csv`) is committed the defaults are "
            "the ones chosen on dev."
        )
    return mix + (
        " Its committed output (`benchmarks/reference/distillation_selection.csv`, "
        f"{len(selection)} settings) holds that check on the validation split."
    )


def seed_spread_sentence(reference_pairs: pd.DataFrame | None, repeats: int) -> str:
    """How far the gold-only student moves between the reference's draws, and what we train."""
    if reference_pairs is None or len(reference_pairs) < 2:
        spread = "One pair of students is one sample."
    else:
        gold = reference_pairs["gold_only_f1"]
        spread = (
            "One pair of students is one sample: in the committed reference the gold-only "
            f"student alone scores between F1 {gold.min():.1f} and {gold.max():.1f} "
            f"({gold.max() - gold.min():.1f} points apart) over {len(gold)} draws of data and seed."
        )
    ours = "one pair" if repeats == 1 else f"{repeats} pairs"
    return spread + (
        " So `distill.repeated_comparison` can train several pairs, each on its own draw of "
        "training questions and its own seed. `benchmarks/optimize.py` does (its committed pairs "
        f"are shown below); this notebook trains {ours} (`DISTILL_REPEATS`), so read its gain "
        "against the spread of the reference's."
    )


def gain_sentence(gain: dict[str, float], temperature: float, alpha: float) -> str:
    """The teacher's F1 gain over the gold-only student (`distill.gain_summary`)."""
    setting = f"T = {temperature:g}, alpha = {alpha:g}"
    if gain["repeats"] == 1:
        return (
            f"{setting}: in this run's one pair the teacher added {gain['mean']:+.2f} F1 "
            "(one sample; the reference's pairs below show how much that moves)."
        )
    return (
        f"{setting}: over {gain['repeats']:.0f} pairs the teacher added {gain['mean']:+.2f} F1 "
        f"on average (smallest {gain['min']:+.2f}, largest {gain['max']:+.2f})."
    )
