"""The `analyse` report: tables as CSV, figures as PNG and a summary, from prediction files.

Everything in it is computed by `qa_utils.analysis.tables` from the per-example table and drawn
by `qa_utils.plots`; this module only reads the inputs and writes the folder::

    python -m qa_utils analyse DATASET.json PREDICTIONS.json --out DIR
        [--records records.parquet] [--compare OTHER.json] [--train TRAIN.json]
        [--na-prob-file NA_PROBS.json] [--na-prob-thresh T]

A SQuAD 2.0 dataset adds the answer/abstain confusion and, with a na-prob file, F1 against the
no-answer threshold, the coverage-risk curve and the calibration of the no-answer probability
(`qa_utils.analysis.unanswerable`).
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from qa_utils import plots
from qa_utils.analysis.answer_types import load_spacy
from qa_utils.analysis.slicing import SLICES, train_word_counts
from qa_utils.analysis.tables import (
    SMALL_SLICE,
    Analysis,
    InputFileError,
    analyse,
    compare_tables,
    export_table,
    load_dataset,
    load_na_probs,
    load_predictions,
    load_records,
    merge_records,
)
from qa_utils.analysis.unanswerable import AbstentionAnalysis, analyse_abstention, curve_at
from qa_utils.core.metrics import is_squad_v2
from qa_utils.core.records import ScoredTable, build_records, dataset_columns
from qa_utils.project.io import atomic_write_table


def figure_makers(
    result: Analysis,
    comparison: pd.DataFrame | None,
    names: tuple[str, str],
    n_resamples: int = 1000,
) -> dict[str, Callable[[], Figure]]:
    """The analysis figures by file stem, each drawn only when called (to keep memory low).

    `n_resamples` is the number behind `comparison`'s p-values (their floor in its figure).
    """
    overall = result.overall.iloc[0]
    makers = {
        "answer_type_confusion": lambda: plots.plot_answer_type_confusion(result.confusion),
        "slices_f1": lambda: plots.plot_slice_grid(result.slices, SLICES, "f1", overall["f1"]),
        "slices_em": lambda: plots.plot_slice_grid(result.slices, SLICES, "em", overall["em"]),
        "error_categories": lambda: plots.plot_error_categories(result.errors),
    }
    if result.calibration is not None and result.ece is not None:
        makers["reliability"] = lambda: plots.plot_reliability(result.calibration, result.ece)
    if comparison is not None:
        makers["comparison"] = lambda: plots.plot_comparison(comparison, names, n_resamples)
    return makers


def write_outputs(
    result: Analysis,
    out_dir: str | Path,
    comparison: pd.DataFrame | None = None,
    names: tuple[str, str] = ("a", "b"),
    n_resamples: int = 1000,
) -> list[Path]:
    """Write the analysis tables (CSV) and figures (PNG) under `out_dir`; return their paths.

    `names` label the two systems of `comparison` in its figure; `n_resamples` is the number
    of resamples behind its p-values.
    """
    out = Path(out_dir)
    tables = {
        "examples": export_table(result.table),
        "overall": result.overall,
        "slices": result.slices,
        "answer_type_confusion": result.confusion.reset_index(),
        "error_categories": result.errors,
        "error_examples": result.error_examples,
        "calibration": result.calibration,
        "confidently_wrong": result.confidently_wrong,
        "comparison": comparison,
    }
    written = [atomic_write_table(out / f"{k}.csv", t) for k, t in tables.items() if t is not None]
    for name, make in figure_makers(result, comparison, names, n_resamples).items():
        written.append(plots.save_figure(make(), out / f"{name}.png"))  # closes the figure
    return written


def abstention_makers(
    result: AbstentionAnalysis, applied: float
) -> dict[str, Callable[[], Figure]]:
    """The SQuAD 2.0 figures by file stem (threshold ones only when there are na_probs)."""
    makers = {"abstain_confusion": lambda: plots.plot_abstain_confusion(result.confusion)}
    if result.curve is not None and result.best is not None and result.coverage is not None:
        marks = {"--na-prob-thresh": applied, "best": float(result.best["threshold"])}
        makers["threshold_f1"] = lambda: plots.plot_threshold_curve(result.curve, marks)
        makers["coverage_risk"] = lambda: plots.plot_coverage_risk(result.coverage, result.aurc)
    if result.calibration is not None and result.ece is not None:
        makers["na_reliability"] = lambda: plots.plot_reliability(
            result.calibration, result.ece, "unanswerable", "No-answer probability"
        )
    return makers


def write_abstention(result: AbstentionAnalysis, out_dir: str | Path, applied: float) -> list[Path]:
    """Write the SQuAD 2.0 tables (CSV) and figures (PNG) under `out_dir`; return their paths."""
    out = Path(out_dir)
    tables = {
        "abstain_confusion": result.confusion.reset_index(),
        "threshold_curve": result.curve,
        "coverage_risk": result.coverage,
        "na_calibration": result.calibration,
    }
    written = [atomic_write_table(out / f"{k}.csv", t) for k, t in tables.items() if t is not None]
    for name, make in abstention_makers(result, applied).items():
        written.append(plots.save_figure(make(), out / f"{name}.png"))
    return written


def abstention_lines(
    official: dict[str, float], result: AbstentionAnalysis, applied: float
) -> list[str]:
    """Summary lines of a SQuAD 2.0 analysis: HasAns/NoAns, abstaining, threshold, calibration."""
    parts = [
        f"{k} F1 {official[f'{k}_f1']:.2f} on {official[f'{k}_total']}"
        for k in ("HasAns", "NoAns")
        if f"{k}_f1" in official
    ]
    c = result.confusion
    lines = [
        f"SQuAD 2.0: EM {official['exact']:.2f}  F1 {official['f1']:.2f}  ({', '.join(parts)})",
        f"answer/abstain: answerable {c.iloc[0, 0]} answered, {c.iloc[0, 1]} abstained; "
        f"unanswerable {c.iloc[1, 0]} answered, {c.iloc[1, 1]} abstained",
    ]
    if result.curve is None or result.best is None:
        lines.append("threshold, coverage-risk, no-answer calibration: skipped (no --na-prob-file)")
        return lines
    at = curve_at(result.curve, applied)
    lines.append(
        f"no-answer threshold: best {result.best['threshold']:.4g} gives F1 "
        f"{result.best['score']:.2f} (answering {result.best['answered']:.1%}); "
        f"--na-prob-thresh {applied:g} gives {at['score']:.2f}"
    )
    lines.append(f"selective answering: area under the coverage-risk curve {result.aurc:.4f}")
    ece = "skipped (na_probs outside [0, 1])" if result.ece is None else f"ECE {result.ece:.3f}"
    lines.append(f"no-answer probability calibration: {ece}")
    return lines


def summary_lines(
    result: Analysis, scored: ScoredTable | None = None, comparison: pd.DataFrame | None = None
) -> list[str]:
    """A short plain-text summary: overall scores, weakest slices, errors, calibration."""
    o = result.overall.iloc[0]
    lines = [
        f"EM {o.em:.2f} [{o.em_low:.2f}, {o.em_high:.2f}]  F1 {o.f1:.2f} [{o.f1_low:.2f}, "
        f"{o.f1_high:.2f}]  (95% bootstrap CI, {o.n} questions)"
    ]
    if scored is not None:
        unknown = ", ".join(scored.unknown_ids[:3]) + (
            ", ..." if len(scored.unknown_ids) > 3 else ""
        )
        lines.append(
            f"ids: {len(scored.missing_ids)} questions without a prediction (scored 0), "
            f"{len(scored.unknown_ids)} predictions for unknown ids (ignored) {unknown}".rstrip()
        )
    large = result.slices[~result.slices["small"]].nsmallest(3, "f1")
    weakest = ", ".join(f"{r.slice}={r.value} F1 {r.f1:.1f} (n={r.n})" for r in large.itertuples())
    weakest = weakest or "none (every slice is small)"
    lines.append(f"weakest slices (n >= {SMALL_SLICE}): {weakest}")
    errors = ", ".join(f"{r.category} {r.share:.1%}" for r in result.errors.itertuples() if r.n)
    lines.append(f"answers: {errors}")
    if result.ece is None:
        lines.append("calibration: skipped (no confidences; pass --records records.parquet)")
    else:
        lines.append(f"calibration: expected calibration error {result.ece:.3f}")
    for r in [] if comparison is None else comparison.itertuples():
        lines.append(
            f"compare {r.metric.upper()}: {r.difference:+.2f} [{r.ci_low:+.2f}, {r.ci_high:+.2f}] "
            f"p={r.p_value:.3g} on {r.n} questions (predictions minus --compare)"
        )
    return lines


def analyse_files(args: Namespace) -> list[str]:
    """Load the files named by the `analyse` command, analyse, write outputs; return a summary.

    Args:
        args: dataset, predictions, out, records, compare, train, rare_k, bootstrap, seed,
            no_spacy, na_prob_file, na_prob_thresh (the flags of `python -m qa_utils analyse`).
    """
    plt.switch_backend("Agg")  # files only: never open a window, even where a display exists
    examples = load_dataset(args.dataset)
    v2 = is_squad_v2(examples)
    na_probs = load_na_probs(args.na_prob_file) if args.na_prob_file else None
    if not v2 and (na_probs is not None or args.na_prob_thresh != 1.0):
        raise InputFileError(
            f"{args.dataset}: SQuAD v1.1 has no unanswerable questions; "
            "--na-prob-file and --na-prob-thresh apply to SQuAD 2.0 datasets"
        )
    predictions = load_predictions(args.predictions)
    try:
        scored = build_records(examples, predictions, None, na_probs, args.na_prob_thresh)
    except ValueError as exc:  # na-probs that lack predicted questions
        raise InputFileError(f"{args.na_prob_file}: {exc}") from exc
    table = scored.table
    if args.records:
        table = merge_records(table, load_records(args.records))
    comparison = None
    if args.compare:
        other = build_records(examples, load_predictions(args.compare)).table
        comparison = compare_tables(table, other, args.bootstrap, args.seed)
    counts = None
    if args.train:
        train = dataset_columns(load_dataset(args.train), ["context", "question"])
        counts = train_word_counts(train["context"], train["question"])
    nlp = None if args.no_spacy else load_spacy()
    result = analyse(table, nlp, counts, args.rare_k, args.bootstrap, args.seed)
    names = (args.predictions.name, args.compare.name if args.compare else "")
    abstention = analyse_abstention(table) if v2 else None
    try:
        written = write_outputs(result, args.out, comparison, names, args.bootstrap)
        if abstention is not None:
            written += write_abstention(abstention, args.out, args.na_prob_thresh)
    except OSError as exc:
        raise InputFileError(f"{args.out}: cannot write the outputs ({exc})") from exc
    lines = [f"{args.predictions} on {args.dataset}", *summary_lines(result, scored, comparison)]
    if abstention is not None and scored.report.official is not None:
        lines += abstention_lines(scored.report.official, abstention, args.na_prob_thresh)
    typing = (
        "rule-based fallback" if nlp is None else f"spaCy {nlp.meta['lang']}_{nlp.meta['name']}"
    )
    rare = f"k={args.rare_k}" if counts else "skipped (no --train)"
    lines.append(f"answer types: {typing}; rare-word slice: {rare}")
    lines.append(f"wrote {len(written)} files to {args.out}")
    return lines
