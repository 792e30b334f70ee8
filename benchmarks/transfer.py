"""Transfer learning: MiniLM fine-tuned from its pre-trained weights and from random ones.

For each number of training questions (drawn by `training_questions` from the articles outside
the validation split), `qa_utils.chapter.transfer.compare_inits` fine-tunes the same architecture
twice with the same profile, questions and steps (one epoch of the quick settings): once from the
pre-trained weights, once from a seeded random initialisation (`Profile.init = "random"`). Both
are scored on the same fixed, seeded subset of the SQuAD v1.1 dev set. Prints EM/F1 with 95%
bootstrap intervals side by side and the paired F1 gain per budget; writes transfer.csv,
transfer_gains.csv, transfer_curves.csv (training loss per logged step), transfer.png and
transfer.txt (the printed text) to --out.

Finished runs are reused (their models and evaluations stay under --out/runs), so the budgets can
be run one at a time and a last call with every budget only gathers them.

Usage (from the repo root):
    nice -n 5 .venv/bin/python -m benchmarks.transfer [--sizes 1000,2000] [--dev-questions 1000]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import pandas as pd
import torch

from qa_utils.chapter.transfer import (
    compare_inits,
    gain_sentence,
    learning_curves,
    transfer_gains,
    transfer_table,
)
from qa_utils.core.data import load_squad, subset
from qa_utils.plots import save_figure
from qa_utils.plots.training import plot_learning_curves
from qa_utils.project.config import INITS, get_profile
from qa_utils.project.io import atomic_write_table, atomic_write_text
from qa_utils.training.train import training_questions

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="quick", help="training and window settings")
    parser.add_argument("--sizes", default="1000,2000", help="training questions per pair")
    parser.add_argument("--dev-questions", type=int, default=1000, help="seeded dev subset")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument(
        "--inits", default=",".join(INITS), help="initialisations to run (one at a time fits)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "transfer"))
    return parser.parse_args(argv)


def report(table: pd.DataFrame, gains: pd.DataFrame, header: str) -> str:
    """The text the benchmark prints: settings, the side-by-side table, the gains, a verdict."""
    lines = [header, "", table.round(2).to_markdown(index=False), ""]
    lines += [gains.round(3).to_markdown(index=False), "", gain_sentence(gains)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    dev = subset(load_squad(), args.dev_questions, args.seed)
    pool = load_squad(split="train")
    runs = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        profile = get_profile(
            args.profile, train_questions=size, epochs=args.epochs, seed=args.seed
        )
        examples = training_questions(pool, profile)
        inits = tuple(i for i in args.inits.split(",") if i)
        runs += compare_inits(profile, examples, dev, out / "runs", inits)
        print(f"{size:,} training questions: {', '.join(inits)} done", flush=True)
    table = transfer_table(runs, args.resamples, args.seed)
    gains = transfer_gains(runs, args.resamples, args.seed)
    curves = learning_curves(runs)
    machine = platform.processor() or platform.machine()
    header = (
        f"profile {args.profile} ({args.epochs:g} epoch, learning rate "
        f"{get_profile(args.profile).learning_rate:g}), dev subset: {len(dev):,} questions of "
        f"SQuAD v1.1 dev (seed {args.seed}); {args.threads} threads, {machine}, "
        f"torch {torch.__version__}"
    )
    text = report(table, gains, header)
    print(text)
    atomic_write_table(out / "transfer.csv", table)
    atomic_write_table(out / "transfer_gains.csv", gains)
    atomic_write_table(out / "transfer_curves.csv", curves)
    atomic_write_text(out / "transfer.txt", text + "\n")
    save_figure(plot_learning_curves(curves), out / "transfer.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
