"""Robustness table of a trained model: F1 under perturbations, drops with paired 95% CIs.

Loads the model once, draws N dev questions (seeded), perturbs them (typos, rewrites,
AddOneSent-style distractors at the end and at a random sentence boundary), answers every
version in one batched call (`robustness.answer_all`: each distinct question-context pair
once, windows of all versions batched together by length), and prints one table: F1 with its
bootstrap interval, the drop against the clean questions with its paired interval and p-value,
and where the time went (perturbing, tokenizing, the model, post-processing, scoring, CIs).
It also times the vectorised bootstrap of `qa_utils.analysis.stats` against a plain Python loop.

Usage (from the repo root; MODEL is a saved model folder such as runs/quick/model):
    nice -n 19 .venv/bin/python -m benchmarks.robustness --model MODEL [--questions 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_utils.analysis.stats import bootstrap_ci
from qa_utils.core.data import load_squad, resolve_squad_source, subset
from qa_utils.project.config import get_profile
from qa_utils.project.cpu import passive_openmp
from qa_utils.project.io import atomic_write_json, atomic_write_table
from qa_utils.robustness import perturb, probes

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


def run_conditions(
    predict: probes.Predictor,
    examples: Any,
    seed: int,
    timings: dict[str, float],
    stages: dict[str, float],
) -> pd.DataFrame:
    """Perturb, answer every version in one call and score; add the seconds to `timings`.

    `stages` is the predictor's own breakdown (see `robustness.model_predictor`).
    """
    conditions = {}
    for name, change in {"clean": lambda d: d, **perturb.perturbations(seed=seed)}.items():
        conditions[name], timings[f"perturb {name}"] = timed(lambda p=change: p(examples))
    datasets = list(conditions.values())
    answers, timings["answer (one call)"] = timed(lambda: probes.answer_all(predict, datasets))
    timings.update({f"  of which {name}": seconds for name, seconds in stages.items()})
    scores, timings["score"] = timed(lambda: probes.score_conditions(conditions, answers))
    inputs = len(probes.distinct_inputs(datasets)[0])
    print(f"{sum(map(len, datasets))} questions in {len(datasets)} conditions, "
          f"{inputs} distinct question-context pairs answered")  # fmt: skip
    return scores


def print_table(table: pd.DataFrame) -> None:
    """One line per condition: F1 [CI], drop [CI], p-value, share changed."""
    print(f"{'condition':<20} {'F1 [95% CI]':>22} {'drop [95% CI]':>24} {'p':>7} "
          f"{'changed':>8}")  # fmt: skip
    for row in table.itertuples():
        f1 = f"{row.f1:.2f} [{row.f1_low:.2f}, {row.f1_high:.2f}]"
        drop = f"{row.drop:+.2f} [{row.drop_low:+.2f}, {row.drop_high:+.2f}]"
        print(f"{row.condition:<20} {f1:>22} {drop:>24} {row.p_value:>7.3f} "
              f"{row.changed:>8.1%}")  # fmt: skip


def print_timings(timings: dict[str, float], total_s: float) -> None:
    """Where the time went, one step a line, with its share of the total."""
    print(f"time: total {total_s:.1f} s")
    for name, seconds in timings.items():
        print(f"  {name:<28} {seconds:>7.1f} s {seconds / total_s:>6.1%}")


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
    parser.add_argument("--batch-size", type=int, default=0, help="0: the profile's")
    args = parser.parse_args()
    passive_openmp()  # before torch loads: idle OpenMP threads must not spin on shared cores
    from qa_utils.project.system import hardware_info

    started, timings, stages, load = time.perf_counter(), {}, {}, os.getloadavg()
    profile = get_profile(args.profile)
    examples, timings["load data"] = timed(
        lambda: subset(load_squad(resolve_squad_source("validation")), args.questions, args.seed)
    )
    predict, timings["load model"] = timed(
        lambda: probes.model_predictor(args.model, profile, args.batch_size, stages)
    )
    scores = run_conditions(predict, examples, args.seed, timings, stages)
    table, timings["CIs and paired tests"] = timed(
        lambda: probes.robustness_table(scores, args.resamples, args.seed)
    )
    info = hardware_info()
    print(f"model {args.model}, {len(examples)} dev questions (seed {args.seed}), profile "
          f"{profile.name} (max_length {profile.max_length}, batch "
          f"{args.batch_size or profile.eval_batch_size}); {info['cpu']}, "
          f"{info['cpu_count']} cores, torch threads {info['torch_threads']}, OMP_WAIT_POLICY "
          f"{os.environ.get('OMP_WAIT_POLICY')}; load average "
          f"(1 min) {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} now")  # fmt: skip
    print_table(table)
    print_timings(timings, time.perf_counter() - started)
    compare_bootstraps(scores.loc[scores.condition == "clean", "f1"].to_numpy(), 1000, args.seed)
    atomic_write_table(RESULTS / "robustness.csv", table)
    meta = {"model": args.model, "questions": len(examples), "seed": args.seed,
            "resamples": args.resamples, "profile": profile.name, "hardware": info,
            "load_average": [load[0], os.getloadavg()[0]],
            "seconds": time.perf_counter() - started, "timings": timings}  # fmt: skip
    atomic_write_json(RESULTS / "robustness_meta.json", meta)
    print(f"table and metadata written to {RESULTS}/robustness.csv, robustness_meta.json")


if __name__ == "__main__":
    main()
