"""Robustness table of a trained model: F1 under perturbations, drops with paired 95% CIs.

Loads the model once, draws N dev questions (seeded), perturbs them (typos, rewrites,
AddOneSent-style distractors at the end and at a random sentence boundary), answers every
version, and prints one table: F1 with its bootstrap interval, the drop against the clean
questions with its paired interval and p-value, and where the time went. It also times the
vectorised bootstrap of `qa_utils.stats` against a plain Python loop on the same scores.

Usage (from the repo root; MODEL is a saved model folder such as runs/quick/model):
    nice -n 19 .venv/bin/python -m benchmarks.robustness --model MODEL [--questions 1000]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_utils import robustness as rb
from qa_utils.config import get_profile
from qa_utils.data import load_squad, resolve_squad_source, subset
from qa_utils.io import atomic_write_table
from qa_utils.stats import bootstrap_ci
from qa_utils.system import hardware_info

RESULTS = Path(__file__).resolve().parent / "results"


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call `fn` and return its result with the wall time in seconds."""
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def loop_bootstrap_ci(values: np.ndarray, n_resamples: int, seed: int) -> tuple[float, float]:
    """The percentile bootstrap written as a plain Python loop (the baseline to beat)."""
    rng, n = random.Random(seed), len(values)
    data = values.tolist()
    means = sorted(sum(data[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_resamples))
    return means[int(0.025 * n_resamples)], means[int(0.975 * n_resamples) - 1]


def run_conditions(predict: rb.Predictor, examples: Any, seed: int) -> tuple[pd.DataFrame, list]:
    """Score clean and perturbed questions; return the long score table and per-step timings."""
    probes = {"clean": lambda d: d, **rb.perturbations(seed=seed)}
    parts, timings = [], []
    for name, perturb in probes.items():
        perturbed, perturb_s = timed(lambda p=perturb: p(examples))
        predictions, predict_s = timed(lambda d=perturbed: predict(d))
        scores = rb.score_table(perturbed, predictions)
        parts.append(scores.assign(condition=name, changed=rb.changed(examples, perturbed)))
        timings.append({"condition": name, "perturb_s": perturb_s, "predict_s": predict_s})
    return pd.concat(parts, ignore_index=True), timings


def print_table(table: pd.DataFrame, timings: list[dict[str, float]]) -> None:
    """One line per condition: F1 [CI], drop [CI], p-value, share changed, seconds."""
    print(f"{'condition':<20} {'F1 [95% CI]':>22} {'drop [95% CI]':>24} {'p':>7} "
          f"{'changed':>8} {'perturb s':>10} {'predict s':>10}")  # fmt: skip
    for row, t in zip(table.itertuples(), timings, strict=True):
        f1 = f"{row.f1:.2f} [{row.f1_low:.2f}, {row.f1_high:.2f}]"
        drop = f"{row.drop:+.2f} [{row.drop_low:+.2f}, {row.drop_high:+.2f}]"
        print(f"{row.condition:<20} {f1:>22} {drop:>24} {row.p_value:>7.3f} "
              f"{row.changed:>8.1%} {t['perturb_s']:>10.1f} {t['predict_s']:>10.1f}")  # fmt: skip


def compare_bootstraps(f1: np.ndarray, n_resamples: int, seed: int) -> None:
    """Time the vectorised bootstrap against the Python loop on the same F1 scores."""
    (fast, fast_s), (slow, slow_s) = (
        timed(lambda: bootstrap_ci(f1, n_resamples, seed)),
        timed(lambda: loop_bootstrap_ci(f1, n_resamples, seed)),
    )
    print(f"bootstrap CI of clean F1, {n_resamples} resamples of {len(f1)} questions: "
          f"numpy {fast_s * 1000:.0f} ms [{fast[0]:.2f}, {fast[1]:.2f}] vs python loop "
          f"{slow_s * 1000:.0f} ms [{slow[0]:.2f}, {slow[1]:.2f}] "
          f"({slow_s / fast_s:.0f}x)")  # fmt: skip


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/quick/model", help="saved model folder")
    parser.add_argument("--questions", type=int, default=1000, help="dev questions (seeded)")
    parser.add_argument("--profile", default="quick", help="window and n-best settings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    profile = get_profile(args.profile)
    examples = subset(load_squad(resolve_squad_source("validation")), args.questions, args.seed)
    predict, load_s = timed(lambda: rb.model_predictor(args.model, profile))
    scores, timings = run_conditions(predict, examples, args.seed)
    table, table_s = timed(lambda: rb.robustness_table(scores, args.resamples, args.seed))
    info = hardware_info()
    print(f"model {args.model}, {len(examples)} dev questions (seed {args.seed}), profile "
          f"{profile.name} (max_length {profile.max_length}); {info['cpu']}, "
          f"{info['cpu_count']} cores, torch threads {info['torch_threads']}")  # fmt: skip
    print_table(table, timings)
    print(f"model load {load_s:.1f} s; CIs and paired tests ({args.resamples} resamples) "
          f"{table_s:.2f} s")  # fmt: skip
    compare_bootstraps(scores.loc[scores.condition == "clean", "f1"].to_numpy(), 1000, args.seed)
    atomic_write_table(RESULTS / "robustness.csv", table)
    print(f"total {time.perf_counter() - started:.1f} s; table written to {RESULTS}/robustness.csv")


if __name__ == "__main__":
    main()
