"""Four ways to answer SQuAD 2.0 dev questions, scored on articles none of them trained on.

The SQuAD 2.0 dev set (35 articles) is split by article into two halves (seeded,
`qa_utils.robustness.shift.split_topics`). The report half is only ever scored; the other half
gives route (b)'s training questions and, from held-out paragraphs, the validation slice on
which every tuned threshold is chosen (`qa_utils.core.records.tune_null_threshold`):

1. the v1.1 model, never abstaining (what a SQuAD v1.1 model does out of the box);
2. the same model with a no-answer threshold tuned on the validation slice;
3. route (a): trained with `squad_v2` on SQuAD v1.1 questions plus unanswerable ones made
   from them (`qa_utils.training.unanswerable`: another paragraph of the same article) -
   no SQuAD 2.0 training data at all;
4. route (b): trained with `squad_v2` on the real SQuAD 2.0 questions of the training half.

Routes (a) and (b) start from the profile's base model and use its training settings. Prints
and writes (to --out) overall, HasAns and NoAns F1 (and EM) with 95% bootstrap intervals per
way, and the threshold each used (null score minus best span score; inf: never abstains).

Usage (from the repo root; smoke size takes a few minutes on 2 cores):
    nice -n 10 .venv/bin/python -m benchmarks.unanswerable --profile smoke --questions 32 \\
        --train-questions 64 [--model V1_MODEL] --out runs/unanswerable
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path

import pandas as pd
from datasets import Dataset

from qa_utils.analysis.unanswerable import breakdown
from qa_utils.core.data import load_squad, subset
from qa_utils.core.inference import infer
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.core.postprocess import Prediction, at_threshold
from qa_utils.core.records import build_records, tune_null_threshold
from qa_utils.project.config import InferenceSettings, Profile, get_profile
from qa_utils.project.io import atomic_write_json, atomic_write_table
from qa_utils.project.paths import shared_dir
from qa_utils.robustness.shift import split_topics, topic_datasets
from qa_utils.training.train import train
from qa_utils.training.unanswerable import training_examples

ROOT = Path(__file__).resolve().parents[1]
DEV_V2 = shared_dir() / "squad" / "dev-v2.0-rebuilt.json"
VALIDATION_SHARE = 0.2
"""Share of the training half's paragraphs held out as the validation slice."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = parser.add_argument
    add("--profile", default="quick", help="model, window and training settings")
    add("--model", help="a SQuAD v1.1 model folder (default: train one like route (a), v1.1)")
    add("--dev-file", default=str(DEV_V2), help="the SQuAD 2.0 dev set")
    add("--questions", type=int, default=0, help="validation and report questions (0: all)")
    add("--train-questions", type=int, default=0, help="training questions (0: the profile's)")
    add("--bootstrap", type=int, default=1000, help="bootstrap resamples of each interval")
    add("--seed", type=int, default=0)
    add("--out", default=str(ROOT / "benchmarks" / "results" / "unanswerable"))
    return parser.parse_args(argv)


def splits(dev: Dataset, questions: int, train_questions: int, seed: int) -> dict[str, Dataset]:
    """Route (b)'s training questions, the validation slice and the report half, by article."""
    halves = split_topics(dev, unseen_fraction=0.5, seed=seed)
    train_b, validation, report = topic_datasets(
        dev, halves, train_questions, questions, VALIDATION_SHARE, seed
    )
    return {"train_b": train_b, "validation": validation, "report": report}


def trained(profile: Profile, examples: Dataset, folder: Path) -> Path:
    """Train (or reuse the finished run in `folder`) and return the model folder."""
    return train(profile, examples, folder).model_dir


def scored(model_dir: str | Path, examples: Dataset, settings: InferenceSettings) -> dict:
    """Predictions with their no-answer scores, not yet decided (threshold inf)."""
    never = dataclasses.replace(settings, null_threshold=math.inf)
    net, tokenizer = load_qa_model(model_dir), load_tokenizer(model_dir)
    return infer(net, tokenizer, examples, never).predictions


def way_rows(
    name: str,
    report: Dataset,
    predictions: dict[str, Prediction],
    threshold: float,
    args: argparse.Namespace,
) -> pd.DataFrame:
    """One way's breakdown on the report half at `threshold`."""
    decided = {k: at_threshold(p, threshold) for k, p in predictions.items()}
    table = build_records(report, decided).table
    rows = breakdown(table, args.bootstrap, args.seed)
    impossible = table["is_impossible"]
    shares = [
        table["abstained"][mask].mean() for mask in (impossible | True, ~impossible, impossible)
    ]
    return rows.assign(way=name, threshold=threshold, abstained=shares)


def tuned(model_dir: str | Path, validation: Dataset, settings: InferenceSettings) -> float:
    """The threshold with the best F1 on the validation slice."""
    return tune_null_threshold(validation, scored(model_dir, validation, settings))[1]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out)
    base = get_profile(args.profile, seed=args.seed, train_questions=args.train_questions or None)
    v2_profile = dataclasses.replace(base, squad_v2=True)
    sets = splits(load_squad(args.dev_file), args.questions, base.train_questions or 0, args.seed)
    pool = load_squad(split="train")
    v1_questions = subset(pool, base.train_questions, args.seed) if base.train_questions else pool
    models = {
        "v1.1": args.model or trained(base, v1_questions, out / "models" / "v1"),
        "route (a)": trained(
            v2_profile,
            training_examples(v1_questions, pool, True, args.seed),
            out / "models" / "route_a",
        ),
        "route (b)": trained(v2_profile, sets["train_b"], out / "models" / "route_b"),
    }
    settings = base.inference
    v1 = scored(models["v1.1"], sets["report"], settings)
    ways = [
        way_rows("v1.1 model, never abstains", sets["report"], v1, math.inf, args),
        way_rows(
            "v1.1 model, tuned threshold",
            sets["report"],
            v1,
            tuned(models["v1.1"], sets["validation"], settings),
            args,
        ),
    ]
    for route in ("route (a)", "route (b)"):
        threshold = tuned(models[route], sets["validation"], settings)
        predictions = scored(models[route], sets["report"], settings)
        ways.append(way_rows(route, sets["report"], predictions, threshold, args))
    table = pd.concat(ways, ignore_index=True)
    atomic_write_table(out / "unanswerable.csv", table)
    meta = {k: len(v) for k, v in sets.items()} | {"profile": base.name, "seed": args.seed}
    meta["models"] = {k: str(v) for k, v in models.items()}
    atomic_write_json(out / "unanswerable_meta.json", meta)
    print(json.dumps(meta))
    columns = ["way", "group", "n", "f1", "f1_low", "f1_high", "em", "threshold", "abstained"]
    print(table[columns].round(3).to_markdown(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
