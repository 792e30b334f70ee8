"""Choosing the quick profile's learning rate on the validation split, never on the dev set.

Trains the profile's model once per learning rate on the same draw of training questions (the
training articles outside `qa_utils.core.data.split_validation`, the profile's seed) and scores
every model on the same questions of the validation articles. The profile's rate is kept unless
another beats it with a paired 95% interval above zero
(`qa_utils.robustness.adapt.choose_learning_rate`: a few thousand questions cannot separate
close settings, and keeping the default then avoids fitting their noise).

The budget is smaller than the profile's (`--questions`, 4,000 by default: a quarter of the
quick profile's 16,000, so three rates train in about half an hour on two cores); the script
says so in its output. Models and per-question scores are kept under --out, so an interrupted
run resumes. Writes learning_rate.csv and learning_rate.txt to --reference (`--stem` renames
them: the check at the profile's own budget is `learning_rate_16000`, with its own --out).

Usage (from the repo root):
    nice -n 5 .venv/bin/python -m benchmarks.learning_rate --rates 5e-5,1e-4,2e-4
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
from datasets import Dataset

from qa_utils.core.data import load_squad, split_validation, subset
from qa_utils.project.config import Profile, get_profile
from qa_utils.project.io import atomic_write_table, atomic_write_text, read_table
from qa_utils.robustness import adapt
from qa_utils.training.train import train, training_questions

ROOT = Path(__file__).resolve().parents[1]


def rates(text: str) -> list[float]:
    """A comma-separated list of learning rates.

    >>> rates("5e-5,1e-4")
    [5e-05, 0.0001]
    """
    return [float(v) for v in text.split(",") if v.strip()]


def data(scored: int, seed: int) -> tuple[Dataset, Dataset]:
    """The training file (trained on outside its validation articles) and the scored questions."""
    pool = load_squad(split="train")
    validation = split_validation(pool)[1]
    return pool, subset(validation, scored, seed)


def scores_at(
    profile: Profile, pool: Dataset, validation: Dataset, out: Path
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Train at `profile.learning_rate` (or reuse the finished model) and score it on validation."""
    folder = out / f"lr{profile.learning_rate:g}"
    result = train(profile, training_questions(pool, profile), folder / "model")
    path = folder / "validation.parquet"
    if not path.is_file():
        atomic_write_table(
            path, adapt.score_model(folder / "model", {"v": validation}, profile)["v"]
        )
    cost = {"train_seconds": result.train_seconds, "last_loss": result.last_loss}
    return read_table(path), cost


def report(table: pd.DataFrame, chosen: float, default: float, questions: int, scored: int) -> str:
    """The comparison as text: one row per rate, then the choice."""
    shown = table.assign(
        learning_rate=table["learning_rate"].map("{:g}".format),
        em=table["em"].map("{:.2f}".format),
        last_loss=table["last_loss"].map("{:.3f}".format),
        train_seconds=table["train_seconds"].map("{:.0f}".format),
        f1=[f"{r.f1:.2f} [{r.f1_low:.2f}, {r.f1_high:.2f}]" for r in table.itertuples()],
        change=[
            f"{r.change:+.2f} [{r.change_low:+.2f}, {r.change_high:+.2f}]"
            for r in table.itertuples()
        ],
    )[["learning_rate", "f1", "change", "em", "last_loss", "train_seconds"]]
    return "\n".join([
        f"learning rate on the validation split: {questions:,} training questions, "
        f"{scored:,} validation questions scored (F1 and paired change from {default:g}, 95% CI)",
        shown.to_markdown(index=False, disable_numparse=True),
        f"chosen: {chosen:g} (profile's: {default:g})",
    ])  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="quick", help="the profile whose rate is checked")
    parser.add_argument("--rates", type=rates, default=rates("5e-5,1e-4,2e-4"))
    parser.add_argument("--questions", type=int, default=4000, help="training questions per rate")
    parser.add_argument("--scored", type=int, default=2000, help="validation questions scored")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "learning_rate"
    )
    parser.add_argument("--reference", type=Path, default=ROOT / "benchmarks" / "reference")
    parser.add_argument(
        "--stem", default="learning_rate", help="names of the written files: STEM.csv, STEM.txt"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    default = get_profile(args.profile).learning_rate
    pool, validation = data(args.scored, seed=0)
    scores, costs = {}, {}
    for rate in dict.fromkeys([default, *args.rates]):
        profile = get_profile(args.profile, learning_rate=rate, train_questions=args.questions)
        scores[rate], costs[rate] = scores_at(profile, pool, validation, args.out)
        print(f"lr {rate:g}: validation F1 {scores[rate]['f1'].mean():.2f}", flush=True)
    table = adapt.tuning_table(scores, default, args.resamples)
    table["em"] = [scores[r]["em"].mean() for r in table["learning_rate"]]
    table = table.join(pd.DataFrame([costs[r] for r in table["learning_rate"]]))
    table = table.sort_values("learning_rate", ignore_index=True)
    chosen = adapt.choose_learning_rate(table, default)
    text = report(table, chosen, default, args.questions, len(validation))
    table = table.assign(chosen=table["learning_rate"] == chosen, questions=args.questions,
                         scored=len(validation), profile_rate=default)  # fmt: skip
    atomic_write_table(args.reference / f"{args.stem}.csv", table)
    atomic_write_text(args.reference / f"{args.stem}.txt", text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
