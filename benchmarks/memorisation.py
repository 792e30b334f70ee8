"""Memorisation: F1 on trained questions, unseen questions of the same articles, unseen articles.

The quick model's training questions are reproducible (`training_questions` with its profile
on the training file); unseen articles are the validation split, which it never saw
(`qa_utils.robustness.memorisation`). Prints EM/F1 per group with 95% bootstrap intervals,
the trained group's lead over each (unpaired bootstrap), and the AUC of a membership-inference
attack that thresholds the model's confidence or its F1.

Usage (from the repo root; heavy: through the shared lock on a shared machine):
    python -m benchmarks.memorisation --model runs/quick/model --questions 1000 \
        --out benchmarks/reference
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from qa_utils.core.data import load_squad, resolve_squad_source
from qa_utils.project.config import get_profile
from qa_utils.project.cpu import passive_openmp
from qa_utils.project.io import atomic_write_table, atomic_write_text
from qa_utils.robustness import memorisation

RESULTS = Path(__file__).resolve().parent / "results"


def table_lines(table: pd.DataFrame) -> list[str]:
    """One line per group: n, EM, F1 [CI], trained lead [CI], membership AUCs."""
    lines = [
        f"{'group':<22} {'n':>5} {'EM':>6} {'F1 [95% CI]':>22} {'trained - group [95% CI]':>26} "
        f"{'AUC conf':>8} {'AUC F1':>7}"
    ]
    for r in table.itertuples():
        f1 = f"{r.f1:.2f} [{r.f1_low:.2f}, {r.f1_high:.2f}]"
        gap = f"{r.gap:+.2f} [{r.gap_low:+.2f}, {r.gap_high:+.2f}]" if r.gap else "-"
        lines.append(
            f"{r.group:<22} {r.n:>5} {r.em:>6.2f} {f1:>22} {gap:>26} "
            f"{r.auc_confidence:>8.3f} {r.auc_f1:>7.3f}"
        )
    return lines


def main() -> None:
    """Draw the three groups, answer them, print and write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/quick/model", help="saved model folder")
    parser.add_argument("--profile", default="quick", help="the profile the model trained with")
    parser.add_argument("--questions", type=int, default=1000, help="questions per group")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the outputs")
    args = parser.parse_args()
    passive_openmp()
    from qa_utils.project.system import hardware_info

    info, load, started = hardware_info(), os.getloadavg(), time.perf_counter()
    profile = get_profile(args.profile)
    pool = load_squad(resolve_squad_source("train"))
    sets = memorisation.memorisation_sets(pool, profile, args.questions, args.seed)
    records = memorisation.memorisation_records(args.model, profile, sets)
    table = memorisation.memorisation_table(records, args.resamples, args.seed)
    lines = [
        f"model {args.model}, profile {profile.name} ({profile.train_questions} training "
        f"questions, seed {profile.seed}); {args.questions} questions per group (seed "
        f"{args.seed}); {info['cpu']}, {info['cpu_count']} cores, torch threads "
        f"{info['torch_threads']}; load average (1 min) {load[0]:.1f}",
        "",
        *table_lines(table),
        "",
        f"total {time.perf_counter() - started:.0f} s",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_table(args.out / "memorisation.csv", table)
    atomic_write_text(args.out / "memorisation.txt", text)


if __name__ == "__main__":
    main()
