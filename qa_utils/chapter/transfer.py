"""Transfer learning, measured: one architecture fine-tuned from its pre-trained weights and from
a random initialisation, on the same questions with the same budget (notebook 02's FAQ and
`benchmarks/transfer.py`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from datasets import Dataset

from qa_utils.analysis.stats import paired_test
from qa_utils.analysis.tables import overall_metrics
from qa_utils.chapter.curves import format_p, p_phrase
from qa_utils.core.data import subset
from qa_utils.core.evaluate import RECORDS, evaluate
from qa_utils.project.config import INITS, Profile, rate_text
from qa_utils.project.io import read_table
from qa_utils.training.train import HISTORY, TrainResult, train, training_questions


@dataclass(frozen=True)
class TransferRun:
    """One fine-tuning run of the comparison and its per-example scores on the dev questions."""

    init: str
    result: TrainResult
    records: pd.DataFrame
    history: pd.DataFrame
    learning_rate: float | None = None


def run_folder(folder: str | Path, n_questions: int, init: str) -> Path:
    """Where the run of `n_questions` from `init` keeps its model and evaluation."""
    return Path(folder) / f"{n_questions}-{init}"


def scored_records(model_dir: Path, dev: Dataset, eval_dir: Path, profile: Profile) -> pd.DataFrame:
    """The per-example table of `model_dir` on `dev`, reused when written after the model."""
    records, weights = eval_dir / RECORDS, model_dir / "model.safetensors"
    fresh = records.is_file() and records.stat().st_mtime > weights.stat().st_mtime
    if not (fresh and len(read_table(records)) == len(dev)):
        evaluate(model_dir, dev, eval_dir, profile, progress=False)
    return read_table(records)


def transfer_run(
    profile: Profile, examples: Dataset, dev: Dataset, folder: str | Path, init: str
) -> TransferRun:
    """Fine-tune `profile.model` on `examples` from `init` and score it on `dev`.

    A finished run with the same settings is reused (as `train` does).
    """
    chosen = dataclasses.replace(profile, init=init)
    where = run_folder(folder, len(examples), init)
    result = train(chosen, examples, where / "model")
    records = scored_records(result.model_dir, dev, where / "eval", chosen)
    history = pd.read_csv(result.model_dir / HISTORY)
    return TransferRun(init, result, records, history, chosen.learning_rate)


def compare_inits(
    profile: Profile,
    examples: Dataset,
    dev: Dataset,
    folder: str | Path,
    inits: tuple[str, ...] = INITS,
) -> list[TransferRun]:
    """The same questions and budget from each initialisation (pre-trained first)."""
    return [transfer_run(profile, examples, dev, folder, init) for init in inits]


def transfer_table(runs: list[TransferRun], n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per run: budget, initialisation, cost, losses and EM/F1 with 95% intervals."""
    rows = []
    for run in runs:
        scores = overall_metrics(run.records, n_resamples, seed).iloc[0]
        rows.append(
            {
                "train_questions": run.result.train_questions,
                "init": run.init,
                "learning_rate": run.learning_rate,
                "train_minutes": run.result.train_seconds / 60,
                "mean_loss": run.result.mean_loss,
                "last_loss": run.result.last_loss,
                "dev_questions": int(scores["n"]),
                **{k: scores[k] for k in ("em", "f1", "f1_low", "f1_high")},
            }
        )
    return pd.DataFrame(rows)


def transfer_gains(runs: list[TransferRun], n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per budget: F1 of pre-trained minus random on the same dev questions (paired test)."""
    by_key = {(r.result.train_questions, r.init): r for r in runs}
    rows = []
    for n in sorted({r.result.train_questions for r in runs}):
        if (n, "pretrained") not in by_key or (n, "random") not in by_key:
            continue
        pre, rand = by_key[n, "pretrained"].records, by_key[n, "random"].records
        aligned = pre.set_index("id")["f1"].align(rand.set_index("id")["f1"], join="inner")
        test = paired_test(*aligned, n_resamples=n_resamples, seed=seed)
        rows.append(
            {
                "train_questions": n,
                "f1_gain": test.difference,
                "gain_low": test.ci_low,
                "gain_high": test.ci_high,
                "p_value": test.p_value,
                "dev_questions": test.n,
            }
        )
    return pd.DataFrame(rows)


def learning_curves(runs: list[TransferRun]) -> pd.DataFrame:
    """The logged training loss of every run: train_questions, init, step, loss."""
    columns = ["train_questions", "init", "step", "loss"]
    parts = [
        run.history.dropna(subset=["loss"])[["step", "loss"]].assign(
            train_questions=run.result.train_questions, init=run.init
        )
        for run in runs
        if "loss" in run.history  # a run shorter than one logging interval logs no loss
    ]
    return pd.concat([pd.DataFrame(columns=columns), *parts], ignore_index=True)[columns]


def gains_for_display(gains: pd.DataFrame) -> pd.DataFrame:
    """`transfer_gains` rows as the notebook shows them: F1 points to one decimal, p as text."""
    points = dict.fromkeys(["f1_gain", "gain_low", "gain_high"], 1)
    return gains.round(points).assign(p_value=gains["p_value"].map(format_p))


def budgets_phrase(gains: pd.DataFrame) -> str:
    """'300 training questions (p = 0.110)', joined with 'and', for the rows of `gains`."""
    return " and ".join(
        f"{int(g.train_questions):,} training questions ({p_phrase(g.p_value)})"
        for g in gains.itertuples()
    )


def gain_verdict(gains: pd.DataFrame) -> str:
    """Which budgets' gains are beyond sampling noise, naming those whose interval holds zero."""
    clear, worse = gains["gain_low"] > 0, gains["gain_high"] < 0
    if clear.all():
        budgets = "this budget" if len(gains) == 1 else "every budget"
        return (
            f"the gain is larger than sampling noise at {budgets}: from the same questions and "
            "steps, the pre-trained weights learn the task faster than the same architecture from "
            "scratch"
        )
    groups = [
        (
            ~clear & ~worse,
            "the interval includes zero: there these runs cannot tell the two starts apart",
        ),
        (worse, "the random start scores higher, beyond sampling noise"),
        (clear, "the pre-trained start scores higher, beyond sampling noise"),
    ]
    return "; ".join(
        f"with {budgets_phrase(gains[rows])} {meaning}" for rows, meaning in groups if rows.any()
    )


def gain_sentence(gains: pd.DataFrame) -> str:
    """What the comparison says, one clause per budget, from `transfer_gains`."""
    if gains.empty:
        return "No budget has runs from both starts, so there is no gain to report."
    clauses = [
        f"with {int(g.train_questions):,} training questions the pre-trained start scores "
        f"{g.f1_gain:+.1f} F1 points against the random one (95% interval {g.gain_low:+.1f} to "
        f"{g.gain_high:+.1f}, paired over {int(g.dev_questions):,} dev questions)"
        for g in gains.itertuples()
    ]
    return (
        "Same architecture, same questions, same steps: "
        + "; ".join(clauses)
        + f". So {gain_verdict(gains)}."
    )


NOTEBOOK_SIZES = {"smoke": (16, 16), "quick": (300, 500), "full": (4000, 1000)}
"""(training questions per start, dev questions) of notebook 02's small comparison."""

REFERENCE = Path(__file__).resolve().parents[2] / "benchmarks" / "reference"


def notebook_comparison(
    profile: Profile, pool: Dataset, dev_pool: Dataset, folder: str | Path, n_train: int, n_dev: int
) -> list[TransferRun]:
    """Notebook 02's comparison: `n_train` training questions, `n_dev` seeded dev questions."""
    chosen = dataclasses.replace(profile, train_questions=n_train)
    examples = training_questions(pool, chosen)
    return compare_inits(chosen, examples, subset(dev_pool, n_dev, profile.seed), folder)


def reference_results(folder: Path = REFERENCE) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The committed output of `benchmarks/transfer.py`: its table, gains and learning curves."""
    return tuple(pd.read_csv(folder / f"transfer{part}.csv") for part in ("", "_gains", "_curves"))


def run_label(runs: pd.DataFrame) -> str:
    """' (source, learning rate 2e-4)' for one budget's runs, from the columns the table has.

    >>> run_label(pd.DataFrame({"source": ["this notebook"], "learning_rate": [2e-4]}))
    ' (this notebook, learning rate 2e-4)'
    """
    parts = []
    if "source" in runs:
        parts.append(str(runs["source"].iloc[0]))
    if "learning_rate" in runs and pd.notna(runs["learning_rate"].iloc[0]):
        parts.append(f"learning rate {rate_text(float(runs['learning_rate'].iloc[0]))}")
    return f" ({', '.join(parts)})" if parts else ""


def curves_sentence(table: pd.DataFrame) -> str:
    """Where each budget's two runs ended: last logged loss of the pre-trained and random start."""
    clauses = []
    for n, runs in table.groupby("train_questions", sort=True):
        last = runs.set_index("init")["last_loss"]
        if {"pretrained", "random"} <= set(last.index):
            clauses.append(
                f"after {int(n):,} questions{run_label(runs)} the pre-trained start ends at a "
                f"loss of {last['pretrained']:.2f}, the random one at {last['random']:.2f}"
            )
    higher = all(
        r.set_index("init")["last_loss"].get("random", 0)
        > r.set_index("init")["last_loss"].get("pretrained", 0)
        for _, r in table.groupby("train_questions")
    )
    verdict = (
        "The random start has to learn the language and the task at once; the pre-trained one "
        "only the task."
        if higher
        else "At some budget the random start ends no higher than the pre-trained one."
    )
    return "On the same steps, " + "; ".join(clauses) + f". {verdict}"
