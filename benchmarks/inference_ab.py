"""Evaluation speed of two checkouts of the project, A/B pairs on the same model and questions.

Runs `python -m qa_utils evaluate` from each checkout in turn (before, after, before, after,
...) so that a load spike from another process hits both alike, and prints per stage the
median seconds of each side and the median of the pairwise ratios (the stages' wall times,
and the CPU time of the whole process, which another process's load disturbs less), then
whether the result files of the two sides are identical. Use it to check that a change of
the code (a refactoring, say) costs no speed:

    git worktree add /tmp/before <old commit>
    python -m benchmarks.inference_ab --before /tmp/before --model runs/quick/model \\
        --profile quick --questions 500 --pairs 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from qa_utils.core.data import resolve_squad_source

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("features_s", "predict_s", "postprocess_s", "process_cpu_s")


def evaluate(checkout: Path, args: argparse.Namespace, out: Path) -> dict:
    """One evaluation with the code of `checkout`; returns its metrics.json."""
    # Both sides read the same dev file, wherever their checkout sits.
    dev = str(resolve_squad_source("validation"))
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1", "QA_SQUAD_DEV": dev}
    command = [sys.executable, "-m", "qa_utils", "evaluate", "--model", args.model]
    command += ["--profile", args.profile, "--dev-questions", str(args.questions)]
    command += ["--output", str(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, cwd=checkout, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    # CPU seconds of the whole process: steadier than wall time on a machine shared with others.
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {**metrics, "wall_times": {**metrics["wall_times"], "process_cpu_s": cpu}}


def same_files(a: Path, b: Path) -> bool:
    """Whether the predictions and n-best lists of two evaluation folders are equal."""
    names = ("predictions.json", "nbest.json")
    return all(json.loads((a / n).read_text()) == json.loads((b / n).read_text()) for n in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the old code")
    parser.add_argument("--after", type=Path, default=ROOT, help="checkout of the new code")
    parser.add_argument("--model", required=True)
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args(argv)
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.pairs):
            for side in runs:
                folder = Path(tmp) / f"{side}{i}"
                runs[side].append(evaluate(getattr(args, side), args, folder))
        identical = same_files(Path(tmp) / "before0", Path(tmp) / "after0")
    print(f"{args.questions} questions, profile {args.profile}, {args.pairs} A/B pairs")
    print(f"{'stage':<16}{'before s':>10}{'after s':>10}{'after/before':>14}")
    for stage in STAGES:
        before = [r["wall_times"][stage] for r in runs["before"]]
        after = [r["wall_times"][stage] for r in runs["after"]]
        ratio = statistics.median(a / b for a, b in zip(after, before, strict=True))
        print(
            f"{stage:<16}{statistics.median(before):>10.3f}"
            f"{statistics.median(after):>10.3f}{ratio:>14.3f}"
        )
    scores = {side: (r[0]["exact_match"], r[0]["f1"]) for side, r in runs.items()}
    print(f"EM/F1 before {scores['before']}, after {scores['after']}")
    print(f"predictions.json and nbest.json identical: {identical}")
    return 0 if identical and scores["before"] == scores["after"] else 1


if __name__ == "__main__":
    sys.exit(main())
