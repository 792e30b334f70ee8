"""A SQuAD model on real distribution shift: SQuAD dev beside the three SQuADShifts sets.

Answers SQuAD v1.1 dev and the SQuADShifts new Wikipedia, Reddit and Amazon sets (all their
questions, or `--questions` drawn from each) with one model and the profile's inference
settings, then prints in one table EM/F1 per set with 95% bootstrap intervals, the F1 drop
against SQuAD with an independent-samples interval, and the questions answered per second;
then the published trend (`qa_utils.analysis.trend`: logit-linear fit of the published
models' shifted F1 against their SQuAD F1) with our effective robustness, our calibration
per set, and the slices whose drop differs from their set's drop
(`qa_utils.analysis.domains`).

Writes to `--out`: records_<set>.parquet (the per-example tables), meta.json, shift.csv,
shift_trend.csv, shift_calibration.csv, shift_slices.csv, shift_slice_tests.csv, shift.txt
(what was printed) and shift_trend.png. `--reuse` summarises the records already in `--out`
without running the model (their speeds come from meta.json).

Usage (from the repo root):
    nice -n 19 .venv/bin/python -m benchmarks.shift --model runs/quick/model [--questions 20]
    python -m benchmarks.shift --out DIR --reuse       # summaries and figure again, no model
    python -m benchmarks.shift --replot benchmarks/reference   # the figure from committed files
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from qa_utils.core.eval_sets import SHIFT_SETS, published_results_path, short_name
from qa_utils.project.config import get_profile
from qa_utils.project.cpu import passive_openmp
from qa_utils.project.io import atomic_write_json, atomic_write_table, atomic_write_text, read_table

RESULTS = Path(__file__).resolve().parent / "results" / "shift"
SETS = ("squad/dev", *SHIFT_SETS)
META = "meta.json"


def records_path(out: Path, name: str) -> Path:
    """Where the per-example table of set `name` is written."""
    return out / f"records_{short_name(name)}.parquet"


def run_model(args: argparse.Namespace, out: Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """Answer every set, write its records and meta.json; return the tables and the meta."""
    import json

    from qa_utils.project.system import hardware_info
    from qa_utils.robustness.shift import answer_sets, load_sets

    load, started = os.getloadavg(), time.perf_counter()
    sets = load_sets(SETS, args.questions or None, args.seed)
    results = answer_sets(args.model, get_profile(args.profile), sets)
    meta = {
        "model": str(args.model),
        "profile": args.profile,
        "questions": args.questions or "all",
        "seed": args.seed,
        "seconds": {name: r.seconds for name, r in results.items()},
        "questions_per_second": {n: r.questions_per_second for n, r in results.items()},
        "total_s": time.perf_counter() - started,
        "load_average": {"start": load[0], "end": os.getloadavg()[0]},
        "hardware": json.loads(json.dumps(hardware_info(), default=str)),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for name, result in results.items():
        atomic_write_table(records_path(out, name), result.table)
    atomic_write_json(out / META, meta)
    return {name: r.table for name, r in results.items()}, meta


def reuse_records(out: Path) -> tuple[dict[str, pd.DataFrame], dict]:
    """The tables and meta.json an earlier run wrote to `out`."""
    import json

    meta = json.loads((out / META).read_text())
    return {name: read_table(records_path(out, name)) for name in SETS}, meta


def format_shift(table: pd.DataFrame) -> str:
    """One line per set: n, EM [CI], F1 [CI], drop [CI], questions/s."""
    lines = [f"{'set':<22} {'n':>6} {'EM [95% CI]':>21} {'F1 [95% CI]':>21} "
             f"{'F1 drop [95% CI]':>22} {'q/s':>6}"]  # fmt: skip
    for r in table.itertuples():
        drop = "" if r.drop == 0 else f"{r.drop:.2f} [{r.drop_low:.2f}, {r.drop_high:.2f}]"
        lines.append(
            f"{r.set:<22} {r.n:>6,} {f'{r.em:.2f} [{r.em_low:.2f}, {r.em_high:.2f}]':>21} "
            f"{f'{r.f1:.2f} [{r.f1_low:.2f}, {r.f1_high:.2f}]':>21} {drop:>22} "
            f"{r.questions_per_second:>6.1f}"
        )
    return "\n".join(lines)


def format_trend(trend: pd.DataFrame) -> str:
    """One line per set: the fitted line, the prediction at our SQuAD F1, ER and intervals."""
    lines = [f"{'set':<22} {'models':>6} {'slope':>6} {'predicted':>9} {'ours':>6} "
             f"{'ER [95% CI: questions + fit]':>29} {'[questions only]':>17}"]  # fmt: skip
    for r in trend.itertuples():
        lines.append(
            f"{r.set:<22} {r.models:>6} {r.slope:>6.3f} {r.predicted:>9.2f} {r.shifted_f1:>6.2f} "
            f"{f'{r.er:+.2f} [{r.er_low:+.2f}, {r.er_high:+.2f}]':>29} "
            f"{f'[{r.er_q_low:+.2f}, {r.er_q_high:+.2f}]':>17}"
        )
    return "\n".join(lines)


def summarise(tables: dict[str, pd.DataFrame], meta: dict, args: argparse.Namespace) -> str:
    """Compute every summary, write the CSVs and the figure to --out; return the printed text."""
    from qa_utils.analysis import domains, trend
    from qa_utils.analysis.answer_types import load_spacy
    from qa_utils.plots import plot_shift_trend, save_figure
    from qa_utils.robustness.shift import bootstrap_by_set, shift_table

    out = Path(args.out)
    table = shift_table(tables, n_resamples=args.resamples, seed=args.seed)
    table["questions_per_second"] = table["set"].map(meta["questions_per_second"])
    boot = bootstrap_by_set(tables, args.resamples, args.seed)
    published = trend.read_published(published_results_path())
    lines = trend.trend_table(published, table, boot, seed=args.seed)
    featured = domains.featured_tables(tables, load_spacy())
    calibration = domains.domain_calibration(featured)
    slices = domains.domain_slices(featured, n_resamples=args.resamples, seed=args.seed)
    tests = domains.slice_drop_tests(featured, n_resamples=args.resamples, seed=args.seed)
    for name, frame in (("shift", table), ("shift_trend", lines),
                        ("shift_calibration", calibration), ("shift_slices", slices),
                        ("shift_slice_tests", tests)):  # fmt: skip
        atomic_write_table(out / f"{name}.csv", frame.round(4))
    save_figure(plot_shift_trend(published, table, lines), out / "shift_trend.png")
    differ = tests[tests["differs"]]
    return "\n\n".join([
        f"model {meta['model']}, profile {meta['profile']}, questions per set: "
        f"{meta['questions']} (seed {meta['seed']}); {meta['hardware'].get('cpu')}, "
        f"load average {meta['load_average']['start']:.1f} at the start, "
        f"{meta['load_average']['end']:.1f} at the end; model run {meta['total_s']:.0f} s",
        format_shift(table),
        "published trend (logit-linear fit on the published models) and our effective "
        "robustness (ER = our F1 - the line at our SQuAD F1):\n" + format_trend(lines),
        "calibration per set (confidence against exact match, percent):\n"
        + calibration.round(2).to_string(index=False),
        f"slices whose drop differs from their set's drop (Holm-adjusted p < 0.05; "
        f"{len(differ)} of {len(tests)} tested):\n"
        + differ.drop(columns=["differs"]).round(3).to_string(index=False),
    ])  # fmt: skip


def replot(folder: Path) -> Path:
    """Redraw shift_trend.png from the committed shift.csv, shift_trend.csv and the leaderboard."""
    from qa_utils.analysis.trend import read_published
    from qa_utils.plots import plot_shift_trend, save_figure

    ours, lines = (pd.read_csv(folder / f"{name}.csv") for name in ("shift", "shift_trend"))
    published = read_published(published_results_path())
    return save_figure(plot_shift_trend(published, ours, lines), folder / "shift_trend.png")


def main() -> None:
    """Run (or reuse) the evaluation, print the tables and write them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/quick/model", help="saved model folder")
    parser.add_argument("--profile", default="quick", help="window and decoding settings")
    parser.add_argument("--questions", type=int, default=0, help="per set (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--out", default=str(RESULTS), help="folder for records and tables")
    parser.add_argument("--reuse", action="store_true", help="summarise the records in --out")
    parser.add_argument(
        "--replot", metavar="DIR", help="only redraw DIR/shift_trend.png from DIR's CSV files"
    )
    args = parser.parse_args()
    if args.replot:
        print(f"figure written to {replot(Path(args.replot))}")
        return
    passive_openmp()  # before torch loads: idle OpenMP threads must not spin on shared cores
    out = Path(args.out)
    tables, meta = reuse_records(out) if args.reuse else run_model(args, out)
    text = summarise(tables, meta, args)
    print(text)
    atomic_write_text(out / "shift.txt", text + "\n")


if __name__ == "__main__":
    main()
