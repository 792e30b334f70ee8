"""Four ways to answer SQuAD 2.0 dev questions, scored on articles none of them trained on.

The SQuAD 2.0 dev set (35 articles) is split by article into two halves (seeded,
`qa_utils.robustness.shift.split_topics`). The report half is only ever scored; the other half
gives route (b)'s training questions and, from held-out paragraphs, the validation slice on
which every tuned threshold is chosen (`qa_utils.chapter.unanswerable` holds the split and
the scoring, shared with notebook 07):

1. the v1.1 model, never abstaining (what a SQuAD v1.1 model does out of the box);
2. the same model with a no-answer threshold tuned on the validation slice;
3. route (a): trained with `squad_v2` on SQuAD v1.1 questions (from the training articles
   outside the validation split) plus unanswerable ones made from them
   (`qa_utils.training.unanswerable`: another paragraph of the same article) - no SQuAD 2.0
   training data at all;
4. route (b): trained with `squad_v2` on the real SQuAD 2.0 questions of the training half
   (by default as many as route (a) trains on, answerable and unanswerable together).

`--start base` trains routes (a) and (b) from the profile's base encoder; `--start v1` continues
training the v1.1 model instead (the committed run's choice: the chapter's own model); the
`start` column says which. Prints and writes (to --out) overall, HasAns and NoAns F1 (and EM)
with 95% bootstrap intervals per way, the threshold each used (null score minus best span
score; inf: never abstains) and the training sizes.

`--ways` runs part of the comparison (each part under `--out/parts/`, so long runs can be split
into several, one per route); every run merges the parts present into `unanswerable.csv`,
`unanswerable_meta.json` and `unanswerable.txt` (the printed table).

Usage (from the repo root; smoke size takes a few minutes on 2 cores):
    nice -n 10 .venv/bin/python -m benchmarks.unanswerable --profile smoke --questions 32 \\
        --train-questions 64 [--model V1_MODEL] [--start v1] [--ways v1 a b] --out runs/unanswerable
The committed reference (`benchmarks/reference/unanswerable.*`, see its README) was run at
quick size in one call (2026-11-30, on the 2e-4 quick model).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from pathlib import Path

import pandas as pd
from datasets import Dataset

from qa_utils.chapter.unanswerable import (
    decided_table,
    dev_splits,
    dev_v2_path,
    tuned_threshold,
    undecided,
    way_rows,
)
from qa_utils.core.data import load_squad
from qa_utils.project.config import RUN_CONFIG, InferenceSettings, Profile, get_profile
from qa_utils.project.io import atomic_write_json, atomic_write_table, atomic_write_text
from qa_utils.training.train import train, training_questions
from qa_utils.training.unanswerable import training_examples

ROOT = Path(__file__).resolve().parents[1]

WAYS = ("v1", "a", "b")
"""The parts of the comparison: the v1.1 model's two ways, route (a), route (b)."""

STARTS = {"base": "base encoder", "v1": "v1.1 model"}

COLUMNS = ["way", "group", "n", "f1", "f1_low", "f1_high", "em", "threshold", "abstained"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--profile", default="quick", help="model, window and training settings")
    add("--model", help="a SQuAD v1.1 model folder (default: train one like route (a), v1.1)")
    add("--dev-file", default=str(dev_v2_path()), help="the SQuAD 2.0 dev set")
    add("--questions", type=int, default=0, help="validation and report questions (0: all)")
    add("--train-questions", type=int, default=0, help="route (a)'s v1.1 questions (0: profile)")
    add("--route-b-questions", type=int, default=0, help="route (b)'s (0: as many as route (a))")
    add("--start", choices=STARTS, default="base", help="what routes (a) and (b) start from")
    add("--ways", nargs="+", choices=WAYS, default=list(WAYS), help="parts to run this time")
    add("--bootstrap", type=int, default=1000, help="bootstrap resamples of each interval")
    add("--seed", type=int, default=0)
    add("--out", default=str(ROOT / "benchmarks" / "results" / "unanswerable"))
    return parser.parse_args(argv)


def report_rows(
    name: str,
    sets: dict[str, Dataset],
    predictions: dict,
    threshold: float,
    args: argparse.Namespace,
) -> pd.DataFrame:
    """One way's rows on the report half at `threshold`."""
    table = decided_table(sets["report"], predictions, threshold)
    return way_rows(name, table, threshold, args.bootstrap, args.seed)


def trained_on(model_dir: str | Path) -> int | None:
    """How many questions a saved model was trained on (None when it does not say)."""
    config = Path(model_dir) / RUN_CONFIG
    if not config.is_file():
        return None
    return json.loads(config.read_text(encoding="utf-8")).get("train_questions")


def training_sizes(examples: Dataset, start: str) -> dict:
    """The columns that say what a route trained on."""
    unanswerable = int(sum(examples["is_impossible"]))
    return {"start": start, "train_questions": len(examples), "train_unanswerable": unanswerable}


def v1_part(
    v1_dir: str, sets: dict[str, Dataset], settings: InferenceSettings, args: argparse.Namespace
) -> pd.DataFrame:
    """The v1.1 model on the report half, never abstaining and at its tuned threshold."""
    report = undecided(v1_dir, sets["report"], settings)
    threshold = tuned_threshold(v1_dir, sets["validation"], settings)
    ways = [("v1.1 model, never abstains", math.inf), ("v1.1 model, tuned threshold", threshold)]
    sizes = {
        "start": STARTS["base"],
        "train_questions": trained_on(v1_dir),
        "train_unanswerable": 0,
    }
    rows = [report_rows(name, sets, report, t, args) for name, t in ways]
    return pd.concat(rows, ignore_index=True).assign(**sizes)


def route_part(
    way: str,
    profile: Profile,
    examples: Dataset,
    sets: dict[str, Dataset],
    args: argparse.Namespace,
) -> pd.DataFrame:
    """Train route `way` (or reuse its finished run) and score it at its tuned threshold."""
    result = train(profile, examples, Path(args.out) / "models" / f"route_{way}")
    threshold = tuned_threshold(result.model_dir, sets["validation"], profile.inference)
    predictions = undecided(result.model_dir, sets["report"], profile.inference)
    rows = report_rows(f"route ({way})", sets, predictions, threshold, args)
    sizes = training_sizes(examples, STARTS[args.start])
    return rows.assign(**sizes, train_seconds=round(result.train_seconds))


def merge(out: Path, meta: dict) -> pd.DataFrame:
    """Every part written so far, in the order of WAYS, as one table (also written)."""
    parts = [out / "parts" / f"{way}.csv" for way in WAYS]
    table = pd.concat([pd.read_csv(p) for p in parts if p.is_file()], ignore_index=True)
    table = table[["way", *table.columns.drop("way")]]
    atomic_write_table(out / "unanswerable.csv", table)
    atomic_write_json(out / "unanswerable_meta.json", meta)
    return table


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    base = get_profile(args.profile, seed=args.seed, train_questions=args.train_questions or None)
    pool = load_squad(split="train")
    v1_questions = training_questions(pool, base)
    route_a = training_examples(v1_questions, pool, True, args.seed)
    sets = dev_splits(
        load_squad(args.dev_file), args.questions, args.route_b_questions or len(route_a), args.seed
    )
    v1_dir = args.model or str(train(base, v1_questions, out / "models" / "v1").model_dir)
    v2_profile = dataclasses.replace(base, squad_v2=True)
    if args.start == "v1":
        v2_profile = dataclasses.replace(v2_profile, model=str(v1_dir))
    for way in args.ways:
        if way == "v1":
            part = v1_part(v1_dir, sets, base.inference, args)
        else:
            examples = route_a if way == "a" else sets["train_b"]
            part = route_part(way, v2_profile, examples, sets, args)
        atomic_write_table(out / "parts" / f"{way}.csv", part)
    meta = {k: len(v) for k, v in sets.items()} | {"profile": base.name, "seed": args.seed}
    meta |= {"v1_model": str(v1_dir), "load_average": [round(x, 2) for x in os.getloadavg()]}
    table = merge(out, meta)
    text = json.dumps(meta) + "\n" + table[COLUMNS].round(3).to_markdown(index=False) + "\n"
    atomic_write_text(out / "unanswerable.txt", text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
