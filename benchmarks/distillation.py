"""How the teacher's help depends on the amount of gold data: repeated student pairs per size.

For each number of training questions, `qa_utils.training.distill.repeated_comparison` trains
the same 3-layer student with and without the teacher, `--repeats` times on fresh draws and
seeds, and scores both on the same dev questions. Writes distillation_sizes.csv (one row per
pair) to --out and prints the gain per size (mean, sd, smallest, largest).
benchmarks/optimize.py runs one of these sizes (1,000 questions) next to the other compression
methods.

Usage (from the repo root):
    nice -n 10 .venv/bin/python -m benchmarks.distillation --model PATH [--sizes 500,1000,2000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

from qa_utils.core.data import load_squad, subset
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.optimize import bench
from qa_utils.project.config import get_profile
from qa_utils.project.io import atomic_write_table
from qa_utils.training import distill

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="fine-tuned model folder (the teacher)")
    parser.add_argument("--profile", default="quick", help="window, batch and training settings")
    parser.add_argument("--questions", type=int, default=1000, help="dev questions")
    parser.add_argument("--sizes", default="500,1000,2000", help="training questions per pair")
    parser.add_argument("--repeats", type=int, default=3, help="pairs per size")
    parser.add_argument("--temperature", type=float, default=distill.TEMPERATURE)
    parser.add_argument("--alpha", type=float, default=distill.ALPHA, help="weight of the teacher")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "distillation"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    profile = get_profile(args.profile, seed=args.seed)
    tokenizer, teacher = load_tokenizer(args.model), load_qa_model(args.model).eval()
    workload = bench.make_workload(
        subset(load_squad(), args.questions, args.seed), tokenizer, profile, 0
    )
    pool = load_squad(split="train")
    score = bench.f1_scorer(workload, profile)
    tables = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        table, _ = distill.repeated_comparison(
            teacher,
            pool,
            tokenizer,
            profile,
            out / "students",
            size,
            args.repeats,
            score,
            args.temperature,
            args.alpha,
        )
        tables.append(table)
        atomic_write_table(out / "distillation_sizes.csv", pd.concat(tables, ignore_index=True))
        print(table.round(2).to_markdown(index=False), flush=True)
    summary = pd.DataFrame(
        [{"questions": t["questions"].iloc[0]} | distill.gain_summary(t) for t in tables]
    )
    print(summary.round(2).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
