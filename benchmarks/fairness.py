"""Fairness of a trained model: a counterfactual name swap, and parity across articles.

1. Name swap (`qa_utils.robustness.fairness`): dev questions whose question or gold answer
   names a person (spaCy PERSON entities), answered as they are and with every person renamed
   from four lists of first names (European-American / African-American, male / female;
   Bertrand & Mullainathan 2004, as used by Caliskan et al. 2017, WEAT 4). Prints F1 and the
   share of changed answers per version with 95% bootstrap intervals, and paired tests of the
   differences between groups (sign-flip randomisation p-value, paired bootstrap interval).
2. Parity across articles: every dev question answered once; is the spread (SD) of the
   per-article mean F1 larger than shuffling the per-question F1 across articles gives
   (`qa_utils.analysis.stats.group_spread_test`)?

Outputs: fairness.txt / fairness.csv / fairness_contrasts.csv (part "names") and
fairness_parity.txt / fairness_parity.csv (part "parity").

Usage (from the repo root; heavy: through the shared lock on a shared machine):
    python -m benchmarks.fairness --model runs/quick/model --candidates 5000 --questions 600 \
        --out benchmarks/reference [--parts names,parity]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from qa_utils.analysis.answer_types import load_spacy
from qa_utils.analysis.stats import SpreadTest, group_spread_test
from qa_utils.core.data import load_squad, resolve_squad_source, subset
from qa_utils.core.inference import infer
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.project.config import get_profile
from qa_utils.project.cpu import passive_openmp
from qa_utils.project.io import atomic_write_table, atomic_write_text
from qa_utils.robustness import fairness, probes

RESULTS = Path(__file__).resolve().parent / "results"


def group_lines(table: pd.DataFrame) -> list[str]:
    """One line per version: questions, F1 [CI], changed answers [CI]."""
    lines = [f"{'version':<10} {'n':>5} {'F1 [95% CI]':>22} {'changed answers [95% CI]':>26}"]
    for r in table.itertuples():
        f1 = f"{r.f1:.2f} [{r.f1_low:.2f}, {r.f1_high:.2f}]"
        changed = f"{r.changed:.1f}% [{r.changed_low:.1f}, {r.changed_high:.1f}]"
        lines.append(f"{r.condition:<10} {r.n:>5} {f1:>22} {changed:>26}")
    return lines


def contrast_lines(table: pd.DataFrame) -> list[str]:
    """One line per paired contrast: F1 difference [CI] and p-value."""
    lines = [f"{'contrast (F1)':<24} {'difference [95% CI]':>24} {'p':>7}"]
    for r in table.itertuples():
        diff = f"{r.difference:+.2f} [{r.low:+.2f}, {r.high:+.2f}]"
        lines.append(f"{r.contrast:<24} {diff:>24} {r.p_value:>7.3f}")
    return lines


def parity_lines(test: SpreadTest) -> list[str]:
    """The article-parity test in one line."""
    return [
        f"per-article F1 over {test.groups} articles ({test.n} questions): observed SD "
        f"{test.observed:.2f}; shuffled across articles: mean {test.null_mean:.2f}, 95% range "
        f"[{test.null_low:.2f}, {test.null_high:.2f}]; permutation p = {test.p_value:.4f}",
    ]


def name_swap(args: argparse.Namespace, predict: probes.Predictor, lines: list[str]) -> tuple:
    """Find name questions, answer every version, return (groups, contrasts, scores)."""
    dev = load_squad(resolve_squad_source("validation"))
    candidates = subset(dev, args.candidates, args.seed)
    started = time.perf_counter()
    persons = fairness.find_persons(candidates, load_spacy())
    named = fairness.name_questions(candidates, persons)
    examples = subset(named, args.questions, args.seed)
    lines.append(
        f"name questions: {len(named)} of {len(candidates)} dev questions (seed {args.seed}) "
        f"name a person in the question or a gold answer (spaCy NER, "
        f"{time.perf_counter() - started:.0f} s); {len(examples)} used; names: "
        f"{fairness.NAME_SOURCE}"
    )
    started = time.perf_counter()
    scores = fairness.name_swap_scores(predict, examples, persons, args.seed)
    lines.append(
        f"answered {len(scores)} question versions in {time.perf_counter() - started:.0f} s"
    )
    groups = fairness.group_table(scores, args.resamples, args.seed)
    contrasts = fairness.contrast_table(scores, args.resamples, args.seed)
    return groups, contrasts, scores


def parity(args: argparse.Namespace, model: str, lines: list[str]) -> SpreadTest:
    """Answer the dev questions once (all by default) and test the spread of per-article F1."""
    profile, started = get_profile(args.profile), time.perf_counter()
    dev = load_squad(resolve_squad_source("validation"))
    if args.parity_questions:
        dev = subset(dev, args.parity_questions, args.seed)
    net, tokenizer = load_qa_model(model), load_tokenizer(model)
    records = infer(net, tokenizer, dev, profile.inference).records().table
    lines.append(
        f"dev set answered in {time.perf_counter() - started:.0f} s: F1 {records['f1'].mean():.2f}"
    )
    return group_spread_test(records["f1"], records["title"], args.resamples, args.seed)


def header(args: argparse.Namespace) -> str:
    """Model, profile, machine and load: the first line of every output."""
    from qa_utils.project.system import hardware_info

    info, load = hardware_info(), os.getloadavg()
    return (
        f"model {args.model}, profile {args.profile}; {info['cpu']}, {info['cpu_count']} cores, "
        f"torch threads {info['torch_threads']}; load average (1 min) {load[0]:.1f}"
    )


def finish(lines: list[str], started: float, path: Path) -> None:
    """Add the total time, print the lines and write them to `path`."""
    lines.append(f"total {time.perf_counter() - started:.0f} s")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    atomic_write_text(path, text)


def run_name_swap(args: argparse.Namespace) -> None:
    """The name-swap part: fairness.csv, fairness_contrasts.csv and fairness.txt."""
    started, lines = time.perf_counter(), [header(args)]
    predict = probes.model_predictor(args.model, get_profile(args.profile))
    groups, contrasts, _ = name_swap(args, predict, lines)
    lines += ["", *group_lines(groups), "", *contrast_lines(contrasts)]
    atomic_write_table(args.out / "fairness.csv", groups)
    atomic_write_table(args.out / "fairness_contrasts.csv", contrasts)
    finish(lines, started, args.out / "fairness.txt")


def run_parity(args: argparse.Namespace) -> None:
    """The article-parity part: fairness_parity.csv and fairness_parity.txt."""
    started, lines = time.perf_counter(), [header(args)]
    spread = parity(args, args.model, lines)
    lines += parity_lines(spread)
    atomic_write_table(args.out / "fairness_parity.csv", pd.DataFrame([asdict(spread)]))
    finish(lines, started, args.out / "fairness_parity.txt")


def main() -> None:
    """Run the chosen parts, print them, write the tables and the printed text."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/quick/model", help="saved model folder")
    parser.add_argument("--candidates", type=int, default=5000, help="dev questions searched")
    parser.add_argument("--questions", type=int, default=600, help="name questions used")
    parser.add_argument("--profile", default="quick", help="window and n-best settings")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--parts", default="names,parity", help="names, parity or both")
    parser.add_argument("--parity-questions", type=int, default=0, help="0: the whole dev set")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the outputs")
    args = parser.parse_args()
    passive_openmp()
    args.out.mkdir(parents=True, exist_ok=True)
    parts = {"names": run_name_swap, "parity": run_parity}
    for name in args.parts.split(","):
        if name not in parts:
            parser.error(f"--parts: unknown part {name!r}; choose from names, parity")
        parts[name](args)


if __name__ == "__main__":
    main()
