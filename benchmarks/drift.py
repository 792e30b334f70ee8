"""Detection delay and false alarms of the default CUSUM drift detector on seeded streams.

Streams from `qa_utils.serving.drift.synthetic_f1_stream` (mean F1 80 -> 50 at the shift), scored
by `qa_utils.serving.drift.cusum_drop` with its defaults (reference of the first 200 scores).
Prints the distribution of the delay after the shift and the share of unshifted streams of the same
length that raise an alarm anywhere: the figures quoted in the README and `qa_utils.serving.drift`.

Usage (from the repo root):
    python -m benchmarks.drift [--runs 300] [--length 800] [--shift-at 500] [--out FILE]

Writes the figures to benchmarks/reference/drift.json (the README's `drift` block reads it).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from qa_utils.project.io import atomic_write_json
from qa_utils.serving.drift import CusumConfig, cusum_drop, expected_delay, synthetic_f1_stream

OUT = Path(__file__).resolve().parent / "reference" / "drift.json"
"""The committed figures the README quotes (its `drift` block)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=300, help="seeded streams of each kind")
    parser.add_argument("--length", type=int, default=800, help="scores per stream")
    parser.add_argument("--shift-at", type=int, default=500, help="first shifted score")
    parser.add_argument("--bound", type=int, default=80, help="delay the README promises")
    parser.add_argument("--out", default=str(OUT), help="the JSON file of the figures")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    config = CusumConfig()
    delays, early, missed, false_alarms = [], 0, 0, 0
    for seed in range(args.runs):
        shifted = cusum_drop(synthetic_f1_stream(args.length, args.shift_at, seed=seed), config)
        if shifted.alarm_index is None:
            missed += 1
        elif shifted.alarm_index < args.shift_at:
            early += 1
        else:
            delays.append(shifted.alarm_index - args.shift_at + 1)
        clean = cusum_drop(synthetic_f1_stream(args.length, seed=args.runs + seed), config)
        false_alarms += clean.alarm_index is not None
    found = np.array(delays)
    clean, shifted_all = synthetic_f1_stream(10**6, seed=0), synthetic_f1_stream(10**6, 0)
    drop = (clean.mean() - shifted_all.mean()) / np.std(clean)
    monitored = args.length - config.reference
    result = {
        "runs": args.runs, "length": args.length, "shift_at": args.shift_at, "bound": args.bound,
        "config": dataclasses.asdict(config), "mean_before": float(clean.mean()),
        "mean_after": float(shifted_all.mean()), "drop_in_std": float(drop),
        "wald_delay": expected_delay(drop, config), "delay_median": float(np.median(found)),
        "delay_p95": float(np.percentile(found, 95)), "delay_max": int(found.max()),
        "within_bound": float(np.sum(found <= args.bound) / args.runs),
        "early": early / args.runs, "missed": missed / args.runs,
        "false_alarm": false_alarms / args.runs, "monitored": monitored,
    }  # fmt: skip
    print(f"{args.runs} streams of {args.length} scores, shift at {args.shift_at}: {config}")
    print(f"Wald's expected delay: {result['wald_delay']:.0f} shifted scores")
    print(
        f"delay after the shift: median {np.median(found):.0f}, 95th percentile "
        f"{np.percentile(found, 95):.0f}, max {found.max()}; within {args.bound}: "
        f"{result['within_bound']:.1%}"
    )
    print(f"alarm before the shift: {early / args.runs:.1%}; no alarm: {missed / args.runs:.1%}")
    print(
        f"unshifted streams with a false alarm in their {monitored} monitored scores: "
        f"{false_alarms / args.runs:.1%}"
    )
    print(f"written: {atomic_write_json(Path(args.out), result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
