"""Compression side by side: fp32, int8 (PyTorch and ONNX Runtime), pruning and distillation.

One run, one model, the same dev questions for every variant. Writes to --out:
optimize.csv/.md/_meta.json (speed, size, memory, EM/F1 per variant), optimize_tradeoff.png,
distillation.csv (F1 of each repeated pair of students, with and without the teacher),
pruning.csv (F1 against magnitude sparsity and pruned heads), sparse_matmul.csv (why zeros do
not make dense kernels faster), and prints them with the acceptance checks of issue 6
(`qa_utils.optimize.bench.acceptance`).

Usage (from the repo root):
    nice -n 19 .venv/bin/python -m benchmarks.optimize --model PATH [--questions 1000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

from qa_utils import plots
from qa_utils.core.data import load_squad, subset
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.optimize import bench, prune, quantize
from qa_utils.optimize import onnx as onnx_tools
from qa_utils.project.config import get_profile
from qa_utils.project.io import atomic_write_table
from qa_utils.training import distill

ROOT = Path(__file__).resolve().parents[1]
MIXED_TORCH = "pytorch int8, sensitive fp32"
MIXED_ORT = bench.RECOMMENDED


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="fine-tuned model folder (the teacher)")
    parser.add_argument("--profile", default="quick", help="window, batch and training settings")
    parser.add_argument("--questions", type=int, default=1000, help="dev questions")
    parser.add_argument("--requests", type=int, default=200, help="batch-1 requests per variant")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--calibration-questions",
        type=int,
        default=quantize.CALIBRATION_QUESTIONS,
        help="training questions whose windows calibrate the int8 scan",
    )
    parser.add_argument(
        "--max-fp32-share", type=float, default=0.25, help="Linear weights int8 may keep fp32"
    )
    parser.add_argument("--sparsities", default="0.3,0.5,0.7,0.9")
    parser.add_argument("--head-fractions", default="0.25,0.5")
    parser.add_argument(
        "--distill-questions", type=int, default=1000, help="per student pair; 0: no students"
    )
    parser.add_argument(
        "--distill-repeats", type=int, default=3, help="student pairs, each on fresh data/seed"
    )
    parser.add_argument("--temperature", type=float, default=distill.TEMPERATURE)
    parser.add_argument("--alpha", type=float, default=distill.ALPHA, help="weight of the teacher")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "optimize"))
    return parser.parse_args(argv)


def students(args, teacher, tokenizer, profile, workload, out: Path):
    """The same 3-layer student with and without the teacher, repeated on fresh data and seeds.

    Returns the first repetition's two students (for the speed table) and the F1 of every
    pair (written to distillation.csv).
    """
    if args.distill_questions <= 0:
        return [], pd.DataFrame()

    score = bench.f1_scorer(workload, profile)
    comparison, first = distill.repeated_comparison(
        teacher,
        load_squad(split="train"),
        tokenizer,
        profile,
        out / "students",
        args.distill_questions,
        args.distill_repeats,
        score,
        args.temperature,
        args.alpha,
    )
    atomic_write_table(out / "distillation.csv", comparison)
    return [bench.torch_variant(name, model) for name, model in first.items()], comparison


def main_variants(args, model, tokenizer, profile, out: Path) -> list[bench.Variant]:
    """fp32 PyTorch (the baseline), int8 PyTorch, fused ONNX Runtime fp32 and int8."""
    folder = out / "onnx"
    exported = onnx_tools.export_onnx(model, folder / "model.onnx")
    fused = onnx_tools.optimize_onnx(exported, folder / "model.fused.onnx", model.config)
    int8 = onnx_tools.quantize_onnx_int8(fused, folder / "model.int8.onnx")
    train = quantize.calibration_questions(
        load_squad(split="train"), args.seed, args.calibration_questions
    )
    calibration = quantize.calibration_batch(train, tokenizer, profile.inference)
    sensitivity = quantize.int8_sensitivity(model, calibration)
    keep = quantize.most_sensitive(sensitivity, model, args.max_fp32_share)
    mixed = onnx_tools.quantize_onnx_int8(fused, folder / "model.int8-mixed.onnx", model, keep)
    atomic_write_table(
        out / "int8_sensitivity.csv", sensitivity.rename_axis("linear").reset_index()
    )
    print(f"kept in fp32 (most sensitive, <= {args.max_fp32_share:.0%} of Linear weights): {keep}")
    return [
        bench.torch_variant("pytorch fp32", model),
        bench.torch_variant("pytorch int8 dynamic", quantize.quantize_int8(model)),
        bench.torch_variant(MIXED_TORCH, quantize.quantize_int8(model, keep)),
        bench.onnx_variant("onnxruntime fp32", fused, model.config, args.threads),
        bench.onnx_variant("onnxruntime int8 dynamic", int8, model.config, args.threads),
        bench.onnx_variant(MIXED_ORT, mixed, model.config, args.threads),
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    profile = get_profile(args.profile, seed=args.seed)
    tokenizer, model = load_tokenizer(args.model), load_qa_model(args.model).eval()
    examples = subset(load_squad(), args.questions, args.seed)
    workload = bench.make_workload(examples, tokenizer, profile, args.requests)
    variants = main_variants(args, model, tokenizer, profile, out)
    student_variants, comparison = students(args, model, tokenizer, profile, workload, out)
    variants += student_variants
    table, _ = bench.benchmark(variants, workload, profile, args.requests, args.warmup)
    meta = bench.bench_metadata(profile, len(examples), args.requests) | {"model": args.model}
    bench.write_bench(table, out, meta, stem="optimize")
    plots.save_figure(plots.plot_tradeoff(table), out / "optimize_tradeoff.png")
    print(f"{meta['hardware']['cpu']}, {args.threads} threads, load {meta['load_average']}")
    print(bench.results_markdown(table.drop(columns=["parameters"])))
    if len(comparison):
        print(comparison.round(2).to_markdown(index=False))
    print("\n".join(bench.acceptance(table, comparison)))
    labelled = prune.importance_batches(
        load_squad(split="train"), tokenizer, profile.inference, args.seed
    )
    pruning = bench.pruning_curve(
        model,
        workload,
        profile,
        labelled,
        [float(s) for s in args.sparsities.split(",") if s],
        [float(f) for f in args.head_fractions.split(",") if f],
    )
    atomic_write_table(out / "pruning.csv", pruning)
    print(pruning.round(3).to_markdown(index=False))
    sparse = prune.sparse_matmul_timing([0.0, 0.5, 0.9, 0.99], profile.max_length)
    atomic_write_table(out / "sparse_matmul.csv", sparse)
    print(sparse.round(3).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
