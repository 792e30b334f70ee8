"""Adapting to a new domain: the recovery curve of a SQuAD model fine-tuned on Amazon reviews.

Splits SQuADShifts' Amazon reviews by product (`qa_utils.robustness.adapt.split_by_group`: a
pool to draw labels from, validation products, unseen test products), continues fine-tuning
the model on n pool questions (three seeds per size, the profile's training settings at
adaptation's own rate) and scores every adapted model, and the unadapted one (size 0), on the
test products and on a fixed seeded subset of SQuAD v1.1 dev (forgetting). With
`--tune-rates`, the learning rate is first checked on the validation products (never the test
ones): `adapt.LEARNING_RATE` is kept unless another beats it with a paired 95% interval above
zero.

Every point is kept under `--out` (models and per-question scores), so the curve can be built
in several runs (`--sizes 500`, then `--sizes 2000 --seeds 0 1`, ...): each run prints and
writes the table of every point found so far.

Usage (from the repo root; the quick model from `make run`):
    nice -n 5 .venv/bin/python -m benchmarks.adapt --model runs/quick/model --out runs/adapt \
        --sizes 500 --tune-rates 3e-5
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qa_utils.core.data import load_squad, resolve_squad_source, split_validation, subset
from qa_utils.project.config import Profile, get_profile
from qa_utils.project.cpu import passive_openmp
from qa_utils.project.io import (
    atomic_write_json,
    atomic_write_table,
    atomic_write_text,
    read_table,
)
from qa_utils.project.paths import shared_dir
from qa_utils.robustness import adapt

REFERENCE = Path(__file__).resolve().parent / "reference"
AMAZON = Path("squadshifts") / "amazon_reviews_v1.0.json"
TUNE_SEED = 0


def point_dir(out: Path, kind: str, size: int, seed: int, rate: float) -> Path:
    """Where one adapted model (kind "models") or its scores (kind "points") live."""
    return out / kind / f"size{size}-seed{seed}-lr{rate:g}"


def cached_scores(
    folder: Path, model: Callable[[], str | Path], datasets: dict, profile: Profile
) -> dict[str, pd.DataFrame]:
    """The per-question scores saved in `folder`, else score `model()` and save them."""
    paths = {name: folder / f"{name}.parquet" for name in datasets}
    if not all(p.is_file() for p in paths.values()):
        started = time.perf_counter()
        scores = adapt.score_model(model(), datasets, profile)
        for name, table in scores.items():
            atomic_write_table(paths[name], table)
        atomic_write_json(folder / "score_seconds.json", time.perf_counter() - started)
    return {name: read_table(path) for name, path in paths.items()}


def adapted_model(args: argparse.Namespace, sample: Any, size: int, seed: int, rate: float) -> Path:
    """Fine-tune (or reuse) the model adapted on `sample`; record its training seconds."""
    folder = point_dir(args.out, "models", size, seed, rate)
    result = adapt.adapt(args.model, sample, args.profile, folder, seed, rate)
    stats = {"train_seconds": result.train_seconds, "windows": result.train_windows}
    atomic_write_json(point_dir(args.out, "points", size, seed, rate) / "train.json", stats)
    print(f"  adapted on {size} questions (seed {seed}, lr {rate:g}): "
          f"{result.train_seconds:.0f} s, loss {result.mean_loss:.3f}", flush=True)  # fmt: skip
    return folder


def load_data(args: argparse.Namespace) -> tuple[adapt.DomainSplit, dict[str, Any]]:
    """The product split and the test sets: {amazon: test products, squad: the dev subset}."""
    amazon = load_squad(shared_dir() / AMAZON)
    split = adapt.split_by_group(amazon, args.test_share, args.validation_share, args.split_seed)
    test = split.test if not args.test_questions else subset(split.test, args.test_questions, 0)
    dev = subset(load_squad(resolve_squad_source("validation")), args.squad_questions, 0)
    return split, {"amazon": test, "squad": dev}


def validation_sets(args: argparse.Namespace, split: adapt.DomainSplit) -> dict[str, Any]:
    """Tuning data: the validation products, and as many questions of SQuAD's validation
    articles (`split_validation` of the training file; the dev set stays for the report)."""
    amazon = split.validation
    if args.validation_questions:
        amazon = subset(amazon, args.validation_questions, 0)
    held = split_validation(load_squad(resolve_squad_source("train")))[1]
    return {"amazon": amazon, "squad": subset(held, len(amazon), 0)}


def tune(args: argparse.Namespace, split: adapt.DomainSplit) -> float:
    """Adapt on the tuning sample at each rate, score the validation sets, keep the choice."""
    validation = validation_sets(args, split)
    default = adapt.LEARNING_RATE
    sample = adapt.draw_sample(split.pool, args.tune_size, TUNE_SEED)
    scores = {}
    for rate in dict.fromkeys([default, *args.tune_rates]):
        folder = adapted_model(args, sample, len(sample), TUNE_SEED, rate)
        where = args.out / "validation" / f"lr{rate:g}"
        scores[rate] = cached_scores(where, lambda f=folder: f, validation, args.profile)
    base = cached_scores(
        args.out / "validation" / "base", lambda: args.model, validation, args.profile
    )
    table = adapt.tuning_table({r: s["amazon"] for r, s in scores.items()}, default, args.resamples)
    table["squad_val_f1"] = [s["squad"]["f1"].mean() for s in scores.values()]
    table.loc[len(table)] = {"learning_rate": 0.0, "f1": base["amazon"]["f1"].mean(),
                             "squad_val_f1": base["squad"]["f1"].mean()}  # fmt: skip
    chosen = adapt.choose_learning_rate(table.iloc[:-1], default)
    atomic_write_table(args.out / "tuning.csv", table)
    atomic_write_json(args.out / "choice.json", {"learning_rate": chosen, "default": default})
    return chosen


def run_points(
    args: argparse.Namespace, split: adapt.DomainSplit, tests: dict, rate: float
) -> None:
    """Score the unadapted model once, then adapt and score every requested (size, seed)."""
    cached_scores(point_dir(args.out, "points", 0, 0, 0), lambda: args.model, tests, args.profile)
    for size in args.sizes:
        for seed in args.seeds:
            folder = point_dir(args.out, "points", size, seed, rate)
            if not (folder / "squad.parquet").is_file():
                sample = adapt.draw_sample(split.pool, size, seed)
                model = adapted_model(args, sample, size, seed, rate)
                cached_scores(folder, lambda m=model: m, tests, args.profile)
            print(f"  scored size {size} seed {seed}", flush=True)


def collect(out: Path, rate: float, resamples: int) -> pd.DataFrame:
    """One row per point found under `out` (the base model and every size/seed at `rate`)."""
    base_dir = point_dir(out, "points", 0, 0, 0)
    base = {name: read_table(base_dir / f"{name}.parquet") for name in ("amazon", "squad")}
    rows = [adapt.point_row(0, 0, base, base, resamples)]
    for folder in sorted((out / "points").glob(f"size*-seed*-lr{rate:g}")):
        size, seed = (int(part[4:]) for part in folder.name.split("-")[:2])
        if size == 0 or not (folder / "squad.parquet").is_file():
            continue
        scores = {name: read_table(folder / f"{name}.parquet") for name in base}
        train = json.loads((folder / "train.json").read_text(encoding="utf-8"))
        rows.append({**adapt.point_row(size, seed, scores, base, resamples), **train})
    return pd.DataFrame(rows).sort_values(["size", "seed"]).reset_index(drop=True)


def interval(row: Any, column: str, signed: bool = False) -> str:
    """'value [low, high]' of a column and its _low/_high companions."""
    form = "+.1f" if signed else ".1f"
    values = [getattr(row, column), getattr(row, f"{column}_low"), getattr(row, f"{column}_high")]
    return "{:{f}} [{:{f}}, {:{f}}]".format(*values, f=form)


def curve_lines(curve: pd.DataFrame) -> list[str]:
    """The side-by-side table: size x seed, Amazon-test F1, gain, SQuAD-dev F1, forgetting."""
    titles = ("Amazon test F1 [95% CI]", "gain [95% CI]", "SQuAD dev F1 [95% CI]")
    lines = [f"{'size':>5} {'seed':>4} {titles[0]:>24} {titles[1]:>22} {titles[2]:>22} "
             f"{'forgetting [95% CI]':>22} {'train s':>8}"]  # fmt: skip
    for row in curve.itertuples():
        seconds = getattr(row, "train_seconds", float("nan"))
        seconds = "-" if pd.isna(seconds) else f"{seconds:.0f}"
        lines.append(
            f"{row.size:>5} {row.seed:>4} {interval(row, 'amazon_f1'):>24} "
            f"{interval(row, 'amazon_change', True):>22} {interval(row, 'squad_f1'):>22} "
            f"{interval(row, 'squad_change', True):>22} {seconds:>8}"
        )
    return lines


def summary_lines(summary: pd.DataFrame) -> list[str]:
    """Mean and spread over seeds per size."""
    lines = [f"{'size':>5} {'seeds':>5} {'Amazon F1 mean':>14} {'std':>5} {'min-max':>11} "
             f"{'gain':>6} {'SQuAD F1':>8} {'forgetting':>10} {'std':>5}"]  # fmt: skip
    for row in summary.itertuples():
        lines.append(
            f"{row.size:>5} {row.seeds:>5} {row.amazon_f1:>14.1f} {row.amazon_std:>5.1f} "
            f"{f'{row.amazon_min:.1f}-{row.amazon_max:.1f}':>11} {row.amazon_gain:>+6.1f} "
            f"{row.squad_f1:>8.1f} {row.forgetting:>+10.1f} {row.forgetting_std:>5.1f}"
        )
    return lines


def header_lines(
    args: argparse.Namespace, split: adapt.DomainSplit, tests: dict, rate: float
) -> list[str]:
    """What was run: model, data sizes, settings, hardware."""
    from qa_utils.project.system import hardware_info

    info, groups = hardware_info(), split.groups()
    p = args.profile
    return [
        f"model {args.model}; profile {p.name} (epochs {p.epochs:g}, batch {p.batch_size}, "
        f"learning rate {rate:g}, warmup {p.warmup_ratio:g}, max_length {p.max_length})",
        f"Amazon reviews split by product (seed {args.split_seed}): pool {len(split.pool):,} "
        f"questions / {len(groups['pool'])} products, validation {len(split.validation):,} / "
        f"{len(groups['validation'])}, test {len(split.test):,} / {len(groups['test'])} "
        f"(scored: {len(tests['amazon']):,}); SQuAD v1.1 dev: {len(tests['squad']):,} questions "
        "(seeded subset, seed 0)",
        f"{info['cpu']}, {info['cpu_count']} cores, torch threads {info['torch_threads']}; "
        "intervals: 95% bootstrap over questions (gain and forgetting paired with the "
        "unadapted model); the spread over seeds is the summary's std and min-max",
    ]


def tuning_lines(out: Path, size: int) -> list[str]:
    """The validation check of the learning rate, if one was run."""
    path = out / "tuning.csv"
    if not path.is_file():
        return ["no learning-rate check was run: adaptation's default rate"]
    table, choice = read_table(path), json.loads((out / "choice.json").read_text("utf-8"))
    lines = [f"learning-rate check on the validation products ({size} pool questions, "
             f"seed {TUNE_SEED}; 0 = unadapted):",
             f"{'rate':>8} {'Amazon val F1 [95% CI]':>24} {'vs profile rate [95% CI]':>26} "
             f"{'SQuAD val F1':>12}"]  # fmt: skip
    for row in table.itertuples():
        paired = interval(row, "change", True) if row.learning_rate else ""
        f1 = interval(row, "f1") if row.learning_rate else f"{row.f1:.1f}"
        lines.append(f"{row.learning_rate:>8g} {f1:>24} {paired:>26} {row.squad_val_f1:>12.1f}")
    lines.append(f"chosen: {choice['learning_rate']:g} (default: {choice['default']:g})")
    return lines


def report(args: argparse.Namespace, split: adapt.DomainSplit, tests: dict, rate: float) -> None:
    """Print the whole curve found so far and write the reference files."""
    from qa_utils.plots.adapt import plot_adaptation
    from qa_utils.plots.style import save_figure

    # the rate the unadapted model was trained at: the notebook says when its own differs
    trained = adapt.model_learning_rate(args.model) or np.nan
    curve = collect(args.out, rate, args.resamples).assign(**{adapt.MODEL_RATE: trained})
    summary = adapt.curve_summary(curve)
    text = [*header_lines(args, split, tests, rate), "", *tuning_lines(args.out, args.tune_size),
            "", *curve_lines(curve), "", *summary_lines(summary), "",
            adapt.describe_curve(summary)]  # fmt: skip
    print("\n".join(text))
    args.reference_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_table(args.reference_dir / "adapt.csv", curve.round(4))
    atomic_write_text(args.reference_dir / "adapt.txt", "\n".join(text) + "\n")
    save_figure(plot_adaptation(curve, labels=("benchmark", "")), args.reference_dir / "adapt.png")


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--model", default="runs/quick/model", help="the trained model folder to adapt")
    add("--profile", default="quick", help="training and inference settings")
    add("--out", type=Path, default=Path("runs/adapt"), help="models and scores of every point")
    add("--sizes", type=int, nargs="*", default=[500, 2000], help="adaptation questions")
    add("--seeds", type=int, nargs="+", default=[0, 1, 2])
    add("--tune-rates", type=float, nargs="*", default=[], help="rates to check on validation")
    add("--tune-size", type=int, default=500, help="pool questions of the rate check")
    add("--split-seed", type=int, default=0)
    add("--test-share", type=float, default=0.15, help="share of the products held out for test")
    add("--validation-share", type=float, default=0.05, help="share held out for validation")
    add("--test-questions", type=int, default=0, help="score a subset of the test (0: all)")
    add("--validation-questions", type=int, default=0, help="subset of validation (0: all)")
    add("--squad-questions", type=int, default=1000, help="seeded SQuAD dev subset")
    add("--resamples", type=int, default=1000)
    add("--reference-dir", type=Path, default=REFERENCE, help="where adapt.csv/.txt/.png go")
    args = parser.parse_args()
    args.profile = get_profile(args.profile)
    return args


def check_config(args: argparse.Namespace) -> None:
    """Refuse to add points to an --out folder built with another split, model or test set."""
    keys = ("model", "split_seed", "test_share", "validation_share", "test_questions",
            "squad_questions")  # fmt: skip
    config = {key: str(getattr(args, key)) for key in keys} | {"profile": args.profile.name}
    path = args.out / "config.json"
    if path.is_file() and json.loads(path.read_text(encoding="utf-8")) != config:
        raise SystemExit(f"{path}: points of another configuration; use another --out")
    atomic_write_json(path, config)


def main() -> None:
    """Run the requested points and report the whole curve."""
    passive_openmp()  # before torch loads: idle OpenMP threads must not spin on shared cores
    args = parse_args()
    check_config(args)
    started = time.perf_counter()
    split, tests = load_data(args)
    rate = adapt.LEARNING_RATE
    if args.tune_rates:
        rate = tune(args, split)
    elif (args.out / "choice.json").is_file():
        rate = json.loads((args.out / "choice.json").read_text("utf-8"))["learning_rate"]
    run_points(args, split, tests, rate)
    report(args, split, tests, rate)
    print(f"this run: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
