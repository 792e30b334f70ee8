"""Post-processing speed on all SQuAD v1.1 dev questions: qa_utils vs the straightforward loop.

The reference is the usual algorithm of the HF ``run_qa`` example written as plain Python
loops: per window the top-20 start tokens x top-20 end tokens, filtered, then the n-best over
the example's windows with softmax probabilities. It is timed three ways: with the features'
columns read once; the same with Python's cyclic garbage collector paused (as ``timeit``
does), which shows how much of its time goes to collecting its millions of small objects;
and with the row-by-row data access of HF's example. Logits are synthetic and seeded (noise,
a peak at the gold answer's tokens, a distractor span) so that spans look like a model's.
Features are built once beforehand; only post-processing is timed, the implementations taking
turns so that all meet the same load. On a shared machine wall time mostly measures the other
jobs; the process's CPU time is the steadier comparison.

Usage:
    nice -n 19 .venv/bin/python -m benchmarks.postprocess [DEV.json] [--runs N]   (repo root)
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset

from qa_utils.core.data import load_squad, resolve_squad_source
from qa_utils.core.features import build_eval_features
from qa_utils.core.model import embedded_model_path, load_tokenizer
from qa_utils.core.postprocess import (
    Prediction,
    context_offsets,
    offsets_to_array,
    pad_logits,
    postprocess_predictions,
)
from qa_utils.project.config import get_profile

# The quick profile's settings: the ones every evaluation on this machine runs with.
SETTINGS = get_profile("quick").inference
N_BEST_SIZE, MAX_ANSWER_LENGTH = SETTINGS.n_best_size, SETTINGS.max_answer_length
MAX_LENGTH, DOC_STRIDE = SETTINGS.max_length, SETTINGS.doc_stride
NO_ANSWER = {"text": "", "start": 0, "end": 0, "probability": 0.0}
Timing = tuple[float, float, Any]  # median wall s, median CPU s, last result


def gold_tokens(offsets: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Per window, the (start, end) tokens of its gold answer, or -1 where it is not inside."""
    first, last = offsets[:, :, 0], offsets[:, :, 1]
    in_context = first >= 0
    start_hit = in_context & (first <= starts[:, None]) & (starts[:, None] < last)
    end_hit = in_context & (first < ends[:, None]) & (ends[:, None] <= last)
    found = start_hit.any(axis=1) & end_hit.any(axis=1)
    tokens = np.stack([start_hit.argmax(axis=1), end_hit.argmax(axis=1)], axis=1)
    return np.where(found[:, None], tokens, -1)


def synthetic_logits(
    examples: Dataset, features: Dataset, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded logits: noise, a peak at the gold tokens, a distractor span; padded with -1e4."""
    rng = np.random.default_rng(seed)
    offsets = offsets_to_array(features.with_format("arrow")["offset_mapping"])
    row_of = {example_id: i for i, example_id in enumerate(examples["id"])}
    example = np.array([row_of[i] for i in features["example_id"]])
    answers = list(examples["answers"])
    answer_start = np.array([a["answer_start"][0] for a in answers])[example]
    answer_end = answer_start + np.array([len(a["text"][0]) for a in answers])[example]
    gold = gold_tokens(offsets, answer_start, answer_end)
    lengths = np.array([len(ids) for ids in features["input_ids"]])
    start, end = (rng.normal(0.0, 2.0, offsets.shape[:2]) for _ in range(2))
    rows = np.flatnonzero(gold[:, 0] >= 0)
    start[rows, gold[rows, 0]] += rng.normal(8.0, 2.0, len(rows))
    end[rows, gold[rows, 1]] += rng.normal(8.0, 2.0, len(rows))
    every = np.arange(len(lengths))
    distractor = (rng.random(len(lengths)) * (lengths - 5)).astype(int)
    start[every, distractor] += rng.normal(6.0, 2.0, len(lengths))
    end[every, distractor + rng.integers(0, 5, len(lengths))] += rng.normal(6.0, 2.0, len(lengths))
    return (
        pad_logits([row[:n] for row, n in zip(start, lengths, strict=True)]),
        pad_logits([row[:n] for row, n in zip(end, lengths, strict=True)]),
    )


def window_spans(
    offsets: list, start_logits: np.ndarray, end_logits: np.ndarray
) -> list[dict[str, Any]]:
    """The valid spans among one window's top-20 starts x top-20 ends, as plain loops."""
    starts = np.argsort(start_logits)[-1 : -N_BEST_SIZE - 1 : -1].tolist()
    ends = np.argsort(end_logits)[-1 : -N_BEST_SIZE - 1 : -1].tolist()
    spans = []
    for s in starts:
        for e in ends:
            if s >= len(offsets) or e >= len(offsets):
                continue
            if offsets[s] is None or offsets[e] is None:
                continue
            if e < s or e - s + 1 > MAX_ANSWER_LENGTH:
                continue
            score = start_logits[s] + end_logits[e]
            spans.append({"start": offsets[s][0], "end": offsets[e][1], "score": score})
    return spans


def reference_postprocess(
    examples: Dataset, features: Dataset, start_logits: np.ndarray, end_logits: np.ndarray
) -> dict[str, dict[str, Any]]:
    """The usual algorithm as straightforward loops, columns read once: id -> best answer."""
    windows_of = defaultdict(list)
    for i, example_id in enumerate(features["example_id"]):
        windows_of[example_id].append(i)
    all_offsets = list(features["offset_mapping"])  # one column access, as Python lists
    best = {}
    for example_id, context in zip(examples["id"], examples["context"], strict=True):
        candidates = []
        for i in windows_of[example_id]:
            candidates += window_spans(all_offsets[i], start_logits[i], end_logits[i])
        nbest = sorted(candidates, key=lambda c: c["score"], reverse=True)[:N_BEST_SIZE]
        scores = np.array([c["score"] for c in nbest], dtype=np.float64)
        probabilities = np.exp(scores - (scores.max() if nbest else 0.0))
        probabilities /= probabilities.sum()
        for candidate, probability in zip(nbest, probabilities, strict=True):
            candidate["text"] = context[candidate["start"] : candidate["end"]]
            candidate["probability"] = float(probability)
        best[example_id] = nbest[0] if nbest else dict(NO_ANSWER)
    return best


def hf_window_candidates(
    offset_mapping: list, start_logits: np.ndarray, end_logits: np.ndarray
) -> list[dict[str, Any]]:
    """One window's candidates, transcribed from HF's ``utils_qa.postprocess_qa_predictions``."""
    start_indexes = np.argsort(start_logits)[-1 : -N_BEST_SIZE - 1 : -1].tolist()
    end_indexes = np.argsort(end_logits)[-1 : -N_BEST_SIZE - 1 : -1].tolist()
    prelim_predictions = []
    for start_index in start_indexes:
        for end_index in end_indexes:
            if (
                start_index >= len(offset_mapping)
                or end_index >= len(offset_mapping)
                or offset_mapping[start_index] is None
                or len(offset_mapping[start_index]) < 2
                or offset_mapping[end_index] is None
                or len(offset_mapping[end_index]) < 2
            ):
                continue
            if end_index < start_index or end_index - start_index + 1 > MAX_ANSWER_LENGTH:
                continue
            prelim_predictions.append(
                {
                    "offsets": (offset_mapping[start_index][0], offset_mapping[end_index][1]),
                    "score": start_logits[start_index] + end_logits[end_index],
                    "start_logit": start_logits[start_index],
                    "end_logit": end_logits[end_index],
                }
            )
    return prelim_predictions


def hf_example_postprocess(
    examples: Dataset, features: Dataset, start_logits: np.ndarray, end_logits: np.ndarray
) -> dict[str, dict[str, Any]]:
    """The same algorithm with the data access of HF's example (``utils_qa.py``, v1 path).

    As there, examples and features are read row by row (``features[i]["offset_mapping"]``)
    and an example without candidates answers "empty".
    """
    example_id_to_index = {k: i for i, k in enumerate(examples["id"])}
    features_per_example = defaultdict(list)
    for i, feature in enumerate(features):
        features_per_example[example_id_to_index[feature["example_id"]]].append(i)
    best = {}
    for example_index, example in enumerate(examples):
        prelim_predictions = []
        for i in features_per_example[example_index]:
            offset_mapping = features[i]["offset_mapping"]
            prelim_predictions += hf_window_candidates(
                offset_mapping, start_logits[i], end_logits[i]
            )
        predictions = sorted(prelim_predictions, key=lambda x: x["score"], reverse=True)
        predictions = predictions[:N_BEST_SIZE]
        for pred in predictions:
            offsets = pred.pop("offsets")
            pred["start"], pred["end"] = offsets
            pred["text"] = example["context"][offsets[0] : offsets[1]]
        if not predictions:
            predictions = [{"text": "empty", "start": 0, "end": 0, "score": 0.0}]
        scores = np.array([pred.pop("score") for pred in predictions])
        exp_scores = np.exp(scores - np.max(scores))
        probs = exp_scores / exp_scores.sum()
        for prob, pred in zip(probs, predictions, strict=True):
            pred["probability"] = float(prob)
        best[example["id"]] = predictions[0]
    return best


def without_gc(run: Callable[[], Any]) -> Callable[[], Any]:
    """``run`` with Python's cyclic garbage collector paused while it runs."""

    def paused() -> Any:
        gc.disable()
        try:
            return run()
        finally:
            gc.enable()

    return paused


def time_in_turns(runs: dict[str, tuple[Callable[[], Any], int]]) -> dict[str, Timing]:
    """Run each callable its number of times, taking turns; median wall and CPU seconds."""
    wall, cpu, last = defaultdict(list), defaultdict(list), {}
    for turn in range(max(times for _, times in runs.values())):
        for name, (run, times) in runs.items():
            if turn < times:
                begin_wall, begin_cpu = time.perf_counter(), time.process_time()
                last[name] = run()
                cpu[name].append(time.process_time() - begin_cpu)
                wall[name].append(time.perf_counter() - begin_wall)
    return {
        name: (statistics.median(wall[name]), statistics.median(cpu[name]), last[name])
        for name in runs
    }


def agreement(ours: dict[str, Prediction], best: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Share of questions with the same text and span, and the largest confidence gap."""
    pairs = [(ours[i], answer) for i, answer in best.items()]
    return {
        # HF's example answers "empty" (a zero-width span here) when nothing is valid; we "".
        "text": float(
            np.mean([p.text == (a["text"] if a["end"] > a["start"] else "") for p, a in pairs])
        ),
        "span": float(np.mean([(p.start, p.end) == (a["start"], a["end"]) for p, a in pairs])),
        "confidence_gap": max(abs(p.confidence - a["probability"]) for p, a in pairs),
    }


def print_report(data: str, timings: dict[str, Timing], runs: dict[str, int]) -> None:
    """One table of median wall and CPU seconds; the first row is qa_utils."""
    cpu = platform.processor() or platform.machine()
    print(
        f"machine: {cpu}, {os.cpu_count()} CPUs shared with other jobs (load average "
        f"{os.getloadavg()[0]:.1f}), one process; Python {sys.version.split()[0]}, "
        f"numpy {np.__version__}"
    )
    print(f"data: {data}")
    print(f"{'median of runs':<58}{'wall s':>8}{'CPU s':>8}{'runs':>6}")
    for name, (wall, cpu_s, _) in timings.items():
        print(f"{name:<58}{wall:>8.3f}{cpu_s:>8.3f}{runs[name]:>6}")


def print_comparison(name: str, ours: Timing, reference: Timing) -> None:
    """Speed-up of qa_utils over one reference and how often their answers agree."""
    agree = agreement(ours[2], reference[2])
    print(
        f"vs {name}: qa_utils {reference[0] / ours[0]:.1f}x faster in wall time, "
        f"{reference[1] / ours[1]:.1f}x in CPU time; same predicted text "
        f"{100 * agree['text']:.2f}%, same span {100 * agree['span']:.2f}%, largest "
        f"confidence difference {agree['confidence_gap']:.1e}"
    )


def benchmark_runs(
    examples: Dataset,
    features: Dataset,
    logits: tuple[np.ndarray, np.ndarray],
    runs: int,
    reference_runs: int,
) -> dict[str, tuple[Callable[[], Any], int]]:
    """What to time, by row name: qa_utils first, then the two references, then offsets."""
    column = features.with_format("arrow")["offset_mapping"]
    return {
        "qa_utils.core.postprocess.postprocess_predictions": (
            lambda: postprocess_predictions(examples, features, *logits),
            runs,
        ),
        "reference loop, columns read once": (
            lambda: reference_postprocess(examples, features, *logits),
            reference_runs,
        ),
        "reference loop, cyclic GC paused (as timeit does)": (
            without_gc(lambda: reference_postprocess(examples, features, *logits)),
            reference_runs,
        ),
        "HF example's loop (utils_qa.py, row access)": (
            lambda: hf_example_postprocess(examples, features, *logits),
            reference_runs,
        ),
        "offsets: context_offsets(Arrow column) (inside ours)": (
            lambda: context_offsets(column),
            runs,
        ),
        "offsets: offsets_to_array(Arrow column)": (lambda: offsets_to_array(column), runs),
        "offsets: offsets_to_array(list(features[...]))": (
            lambda: offsets_to_array(list(features["offset_mapping"])),
            reference_runs,
        ),
    }


def main() -> None:
    """Build the features once, then time, compare and print the implementations."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dev", nargs="?", default=None, help="SQuAD v1.1 dev JSON file")
    parser.add_argument("--runs", type=int, default=7, help="runs of qa_utils (median)")
    parser.add_argument("--reference-runs", type=int, default=3, help="runs of each reference")
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dev_path = Path(args.dev or resolve_squad_source("validation"))
    examples = load_squad(dev_path, limit=args.limit)
    tokenizer = load_tokenizer(embedded_model_path())
    features = build_eval_features(examples, tokenizer, MAX_LENGTH, DOC_STRIDE)
    logits = synthetic_logits(examples, features, args.seed)
    runs = benchmark_runs(examples, features, logits, args.runs, args.reference_runs)
    timings = time_in_turns(runs)
    print_report(
        f"{dev_path.name}, {len(examples)} questions -> {len(features)} windows (max_length "
        f"{MAX_LENGTH}, stride {DOC_STRIDE}); synthetic logits (seed {args.seed}); n_best_size "
        f"{N_BEST_SIZE}, max_answer_length {MAX_ANSWER_LENGTH}",
        timings,
        {name: times for name, (_, times) in runs.items()},
    )
    ours, *references = list(timings.items())[:4]
    for name, reference in references:
        print_comparison(name, ours[1], reference)


if __name__ == "__main__":
    main()
