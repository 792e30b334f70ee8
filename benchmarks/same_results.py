"""Do two evaluation folders hold the same results? Prints each file's verdict side by side.

Compares what `python -m qa_utils evaluate` writes: predictions.json and nbest.json (equal as
JSON), records.parquet (equal frame, dtypes included) and the scores of metrics.json (EM, F1,
counts; bit for bit). Wall times, hardware and dates are expected to differ and are ignored.

Usage (from the repo root):
    python -m benchmarks.same_results runs/before/eval runs/after/eval
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

SCORE_KEYS = ("exact_match", "f1", "total", "missing", "unknown", "windows")


def same_json(a: Path, b: Path) -> bool:
    """Whether two JSON files hold equal values."""
    return json.loads(a.read_text(encoding="utf-8")) == json.loads(b.read_text(encoding="utf-8"))


def same_records(a: Path, b: Path) -> bool:
    """Whether two records.parquet files hold the same frame (values and dtypes)."""
    left, right = pd.read_parquet(a), pd.read_parquet(b)
    return left.dtypes.equals(right.dtypes) and left.equals(right)


def scores(folder: Path) -> dict:
    """The score fields of metrics.json."""
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    return {k: metrics.get(k) for k in SCORE_KEYS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    a, b = scores(args.before), scores(args.after)
    checks = {
        "predictions.json": same_json(
            args.before / "predictions.json", args.after / "predictions.json"
        ),
        "nbest.json": same_json(args.before / "nbest.json", args.after / "nbest.json"),
        "records.parquet": same_records(
            args.before / "records.parquet", args.after / "records.parquet"
        ),
        "metrics.json scores": a == b,
    }
    print(f"{'score':<14}{'before':>22}{'after':>22}")
    for key in SCORE_KEYS:
        print(f"{key:<14}{a[key]!s:>22}{b[key]!s:>22}")
    for name, same in checks.items():
        print(f"{name:<22} {'identical' if same else 'DIFFERENT'}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
