"""Sentences of notebook 05, rendered from its tables so that its prose quotes what it measured.

Each function takes a table the notebook computed (`qa_utils.optimize.bench`, `.gpu`,
`.prune`) and returns one Markdown sentence; nothing here measures anything.
"""

from __future__ import annotations

import pandas as pd

RECOMMENDED = "onnxruntime int8, sensitive fp32"
"""The int8 variant this project recommends (benchmarks/optimize.py checks it)."""

BASELINE = "pytorch fp32"


def tradeoff_sentence(table: pd.DataFrame) -> str:
    """What the trade-off figure shows: the fastest, the most accurate and the smallest variant."""
    by = table.set_index("variant")
    fast, best, small = by["p50_ms"].idxmin(), by["f1"].idxmax(), by["size_mb"].idxmin()
    return (
        f"Furthest left is **{fast}**: {by.loc[fast, 'p50_ms']:.1f} ms per question at the "
        f"median, {by.loc[fast, 'batch1_speedup']:.2f}x the speed of {BASELINE}, at F1 "
        f"{by.loc[fast, 'f1']:.1f}. Highest is **{best}** (F1 {by.loc[best, 'f1']:.1f}); the "
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
    table: pd.DataFrame, reference: pd.DataFrame, calibration: int, reference_calibration: int
) -> str:
    """This run's recommended int8 row against the committed reference's, and why they differ.

    Args:
        calibration: calibration questions of this run.
        reference_calibration: those of the reference (benchmarks/optimize.py's default).
    """
    ours, ref = table.set_index("variant"), reference.set_index("variant")
    f1, ref_f1 = ours.loc[RECOMMENDED, "f1"], ref.loc[RECOMMENDED, "f1"]
    base, ref_base = ours.loc[BASELINE, "f1"], ref.loc[BASELINE, "f1"]
    head = f"Recommended int8 ({RECOMMENDED}): F1 {f1:.2f} here, {ref_f1:.2f} in the reference. "
    if round(base, 2) != round(ref_base, 2):
        return head + (
            f"The fp32 baselines differ too ({base:.2f} here, {ref_base:.2f} there): the reference "
            "was measured on another model or other questions, so compare the drops against "
            f"fp32: {ours.loc[RECOMMENDED, 'f1_drop']:+.2f} here, "
            f"{ref.loc[RECOMMENDED, 'f1_drop']:+.2f} there."
        )
    if calibration != reference_calibration:
        return head + (
            f"Same model and questions (fp32 F1 {base:.2f} in both); the int8 rows differ because "
            f"this run calibrated the sensitivity scan on {calibration} training questions and "
            f"the reference on {reference_calibration}, so they may keep other layers in fp32."
        )
    return head + (
        f"Same model, questions and {calibration} calibration questions (fp32 F1 {base:.2f} in "
        "both): any difference left comes from the kernels' arithmetic, not from the choice."
    )


def pruning_sentence(curve: pd.DataFrame) -> str:
    """Speed and F1 of the most zeroed model and of the smallest head cut, against no pruning."""
    base = curve[curve["method"] == "none"].iloc[0]
    zeroed = curve[curve["method"] == "magnitude"]
    heads = curve[curve["method"] == "heads"].iloc[0]
    speed = zeroed["questions_per_s"] / base["questions_per_s"]
    most = zeroed.iloc[-1]
    ratio = heads["questions_per_s"] / base["questions_per_s"]
    span = (
        f"{speed.iloc[0]:.2f}x"
        if len(speed) == 1
        else f"between {speed.min():.2f}x and {speed.max():.2f}x"
    )
    return (
        f"Zeroing up to {most['amount']:.0%} of the weights leaves the batched speed at {span} "
        f"the unpruned model's, while F1 goes from {base['f1']:.1f} to {most['f1']:.1f}. "
        f"Removing {heads['amount']:.0%} of the heads runs at {ratio:.2f}x, with F1 "
        f"{heads['f1']:.1f} ({heads['f1'] - base['f1']:+.1f})."
    )


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
