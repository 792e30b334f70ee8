"""Scoring speed on the whole SQuAD v1.1 dev set: qa_utils.metrics vs the official script.

Both score the same model-like predictions (gold answers, widened golds, random context
spans); the script checks that the scores agree, then prints median wall times and the ratio.

Usage:
    nice -n 19 .venv/bin/python -m benchmarks.score [DEV.json] [--runs N]   (from the repo root)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from qa_utils.core.data import load_squad, resolve_squad_source
from qa_utils.core.metrics import score_predictions
from qa_utils.project.paths import load_official


def model_like_predictions(dataset, seed: int = 0) -> dict[str, str]:
    """Predict the gold answer (70%), a widened gold (20%) or a random context span (10%)."""
    rng = random.Random(seed)
    predictions = {}
    for row in dataset:
        gold, start = row["answers"]["text"][0], row["answers"]["answer_start"][0]
        context, draw = row["context"], rng.random()
        if draw < 0.7:
            predictions[row["id"]] = gold
        elif draw < 0.9:
            predictions[row["id"]] = context[max(0, start - 15) : start + len(gold) + 15]
        else:
            begin = rng.randrange(len(context))
            predictions[row["id"]] = context[begin : begin + rng.randint(1, 40)]
    return predictions


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls of `fn`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Run both scorers on the dev set and print one comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dev", nargs="?", default=None, help="SQuAD v1.1 dev JSON file")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    dev_path = Path(args.dev or resolve_squad_source("validation"))
    reference = load_official("v1.1")
    nested = json.loads(dev_path.read_text(encoding="utf-8"))["data"]
    dataset = load_squad(dev_path)
    predictions = model_like_predictions(dataset)

    ours = score_predictions(dataset, predictions).summary()
    official = reference.evaluate(nested, predictions)
    assert all(abs(ours[key] - official[key]) <= 1e-9 for key in official), (ours, official)

    ours_s = median_seconds(lambda: score_predictions(dataset, predictions), args.runs)
    official_s = median_seconds(lambda: reference.evaluate(nested, predictions), args.runs)
    cpu = platform.processor() or platform.machine()
    print(f"machine: {cpu}, {os.cpu_count()} CPUs (shared), Python {sys.version.split()[0]}")
    print(f"data: {dev_path.name}, {len(dataset)} questions; median of {args.runs} runs")
    print(f"scores: ours {ours}\n        official {official}")
    print(f"{'scorer':<42}{'median s':>10}{'vs official':>13}")
    print(f"{'official evaluate() (evaluate-v1.1.py)':<42}{official_s:>10.3f}{1.0:>12.2f}x")
    name = "qa_utils.metrics.score_predictions()"
    print(f"{name:<42}{ours_s:>10.3f}{official_s / ours_s:>12.2f}x faster")


if __name__ == "__main__":
    main()
