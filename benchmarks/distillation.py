"""Choosing the distillation settings: repeated student pairs per temperature, weight and size.

For each temperature T, teacher weight alpha and number of training questions,
`qa_utils.training.distill.repeated_comparison` trains the same 3-layer student with and
without the teacher, `--repeats` times on fresh draws and seeds, and scores both on the same
questions. Those questions are the choice being made, so by default they come from the
validation split (`qa_utils.core.data.split_validation`: training articles held out, never
trained on, by the teacher or by the students); `--select-on dev` scores on the dev set instead,
which is the final report's and should never pick a setting. Students always train on the
training articles outside the validation split. Writes distillation_sizes.csv (one row per pair,
with T, alpha and the split scored) to --out and prints the gain per setting (mean, sd,
smallest, largest) and the setting with the best mean distilled F1.
benchmarks/optimize.py runs the chosen setting (1,000 questions) next to the other compression
methods, scored on dev.

Usage (from the repo root):
    python -m benchmarks.distillation --model PATH [--select-on validation]
        [--temperature 1,2] [--alpha 0.5,1] [--sizes 500,1000,2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import pandas as pd
import torch
from datasets import Dataset

from qa_utils.core.data import load_squad, split_validation, subset
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.optimize import bench
from qa_utils.project.config import get_profile
from qa_utils.project.io import atomic_write_table
from qa_utils.training import distill

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("validation", "dev")


def floats(text: str) -> list[float]:
    """A comma-separated list of numbers.

    >>> floats("1,2.5")
    [1.0, 2.5]
    """
    return [float(v) for v in text.split(",") if v.strip()]


def scoring_and_training(select_on: str, questions: int, seed: int) -> tuple[Dataset, Dataset]:
    """The questions that score the students, and the pool they train on.

    The pool is always the training articles outside the validation split; the scored
    questions are `questions` drawn from the validation split or from the dev set.
    """
    training, validation = split_validation(load_squad(split="train"))
    scored = validation if select_on == "validation" else load_squad()
    return subset(scored, questions, seed), training


def best_setting(summary: pd.DataFrame) -> pd.Series:
    """The row of `summary` with the highest mean distilled F1 (ties: the first)."""
    return summary.loc[summary["distilled_f1"].idxmax()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="fine-tuned model folder (the teacher)")
    parser.add_argument("--profile", default="quick", help="window, batch and training settings")
    parser.add_argument("--questions", type=int, default=1000, help="questions scored")
    parser.add_argument(
        "--select-on",
        choices=SPLITS,
        default="validation",
        help="split whose F1 chooses the setting (dev: only to reproduce old runs)",
    )
    parser.add_argument("--sizes", default="500,1000,2000", help="training questions per pair")
    parser.add_argument("--repeats", type=int, default=3, help="pairs per setting")
    parser.add_argument("--temperature", default=str(distill.TEMPERATURE), help="T, or T1,T2")
    parser.add_argument("--alpha", default=str(distill.ALPHA), help="teacher weight(s)")
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
    scored, pool = scoring_and_training(args.select_on, args.questions, args.seed)
    print(f"scoring on {len(scored)} {args.select_on} questions; training pool {len(pool)}")
    score = bench.f1_scorer(bench.make_workload(scored, tokenizer, profile, 0), profile)
    grid = itertools.product(floats(args.temperature), floats(args.alpha), floats(args.sizes))
    tables, summary = [], []
    for temperature, alpha, size in grid:
        table, _ = distill.repeated_comparison(
            teacher,
            pool,
            tokenizer,
            profile,
            out / "students",
            int(size),
            args.repeats,
            score,
            temperature,
            alpha,
        )
        setting = {"temperature": temperature, "alpha": alpha, "scored_on": args.select_on,
                   "scored_questions": len(scored),
                   "learning_rate": profile.learning_rate}  # fmt: skip
        tables.append(table.assign(**setting))
        atomic_write_table(out / "distillation_sizes.csv", pd.concat(tables, ignore_index=True))
        print(table.round(2).to_markdown(index=False), flush=True)
        means = {"distilled_f1": table["distilled_f1"].mean()}
        summary.append(setting | {"questions": int(size)} | means | distill.gain_summary(table))
    summary = pd.DataFrame(summary)
    print(summary.round(2).to_markdown(index=False))
    best = best_setting(summary)
    print(
        f"best on {args.select_on}: T = {best['temperature']:g}, alpha = {best['alpha']:g}, "
        f"{best['questions']} questions (distilled F1 {best['distilled_f1']:.2f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
