"""Adapting a trained model to a new domain: fine-tune it further on a few labelled questions.

The data flow of the recovery curve: `split_by_group` holds out whole products (or articles)
for validation and test -> `draw_sample` draws n labelled questions from the rest ->
`adapt` continues fine-tuning the model on them with `qa_utils.training.train.train` ->
`score_model` answers the test products and a SQuAD subset -> `point_row` compares both with
the unadapted model (recovery on the new domain, forgetting on SQuAD) -> `curve_summary`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from datasets import Dataset
from sklearn.model_selection import GroupShuffleSplit

from qa_utils.analysis.stats import bootstrap_ci
from qa_utils.project.config import RUN_CONFIG, Profile, rate_text, validate_profile
from qa_utils.project.io import read_table
from qa_utils.project.paths import REPO_ROOT
from qa_utils.robustness.probes import model_predictor, score_table
from qa_utils.training.train import TrainResult, load_run_config, train

GROUP = "title"
"""What a product is in SQuADShifts' Amazon file: one "article" per product, its reviews as
paragraphs (413 products, 5 reviews each, no review shared between two)."""

LEARNING_RATE = 1e-4
"""Adaptation's own learning rate, chosen on the validation products by `benchmarks/adapt.py`
(benchmarks/reference/adapt.txt: 1e-4 against 3e-5); separate from the quick profile's training
rate, which its own check moved to 2e-4 from a pretrained start, not from a fine-tuned model."""


@dataclass(frozen=True)
class DomainSplit:
    """Questions of disjoint groups: a pool to draw labels from, validation and test."""

    pool: Dataset
    validation: Dataset
    test: Dataset

    def groups(self) -> dict[str, set[str]]:
        """The groups (titles) of each part."""
        return {name: set(getattr(self, name)[GROUP]) for name in ("pool", "validation", "test")}

    def sizes(self) -> pd.DataFrame:
        """Questions and groups (products) of each part."""
        return pd.DataFrame(
            {"questions": [len(getattr(self, n)) for n in self.groups()],
             "products": [len(g) for g in self.groups().values()]},
            index=list(self.groups()),
        )  # fmt: skip


def _hold_out_groups(groups: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of (the rest, a random `share` of the groups), whole groups on each side."""
    splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
    rest, held = next(splitter.split(np.zeros(len(groups)), groups=groups))
    return np.sort(rest), np.sort(held)


def split_by_group(
    examples: Dataset, test_share: float = 0.15, validation_share: float = 0.05, seed: int = 0
) -> DomainSplit:
    """Split `examples` by group (`GROUP`) into (pool, validation, test); shares are of groups.

    No group has questions on two sides, and the split depends only on the seed and the set of
    groups, not on the order of the file.
    """
    if GROUP not in examples.column_names:
        raise ValueError(f"examples have no {GROUP!r} column to split by")
    groups = np.asarray(examples[GROUP])
    if len(set(groups.tolist())) < 3:
        raise ValueError(f"a pool/validation/test split needs at least 3 groups ({GROUP}s)")
    if min(test_share, validation_share) <= 0 or test_share + validation_share >= 1:
        shares = f"{test_share}, {validation_share}"
        raise ValueError(f"shares must be positive with a sum below 1, got {shares}")
    rest, test = _hold_out_groups(groups, test_share, seed)
    pool, validation = _hold_out_groups(groups[rest], validation_share / (1 - test_share), seed)
    return DomainSplit(
        examples.select(rest[pool]), examples.select(rest[validation]), examples.select(test)
    )


def draw_sample(pool: Dataset, n: int, seed: int) -> Dataset:
    """`n` questions of `pool` at random, in pool order; a larger n extends a smaller one.

    The samples of one seed are nested (the 500 questions are among the 2,000), so the curve
    shows what more labels add rather than a new draw.
    """
    if not 0 < n <= len(pool):
        raise ValueError(f"sample size must be between 1 and the pool's {len(pool)}, got {n}")
    order = np.random.default_rng(seed).permutation(len(pool))
    return pool.select(np.sort(order[:n]))


def adapt_profile(
    profile: Profile, model: str | Path, seed: int, learning_rate: float | None = None
) -> Profile:
    """The profile's training settings, starting from `model`, with this seed and rate.

    The rate defaults to adaptation's own `LEARNING_RATE`, not the profile's training rate.
    """
    changed = dataclasses.replace(
        profile,
        model=str(model),
        seed=seed,
        learning_rate=learning_rate or LEARNING_RATE,
        train_questions=None,
    )
    validate_profile(changed)
    return changed


def adapt(
    model: str | Path,
    sample: Dataset,
    profile: Profile,
    out_dir: str | Path,
    seed: int,
    learning_rate: float | None = None,
) -> TrainResult:
    """Continue fine-tuning `model` on `sample` with the profile's settings into `out_dir`.

    `train` loads the weights and tokenizer of `profile.model`, so the adapted model starts
    from the trained one; `out_dir` must be a fresh folder per run (a finished run with the same
    settings and data size there is reused, an interrupted one resumed).
    """
    return train(adapt_profile(profile, model, seed, learning_rate), sample, out_dir)


def score_model(
    model: str | Path, datasets: Mapping[str, Dataset], profile: Profile
) -> dict[str, pd.DataFrame]:
    """Per-question scores (id, title, prediction, em, f1) of `model` on each named dataset."""
    predict = model_predictor(model, profile)
    return {name: score_table(examples, predict(examples)) for name, examples in datasets.items()}


def compare(
    scores: pd.DataFrame, base: pd.DataFrame, resamples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """F1 with its 95% interval, and its change from `base` on the same questions (paired)."""
    paired = scores.merge(base, on="id", suffixes=("", "_base"), validate="one_to_one")
    if len(paired) != len(scores) or len(paired) != len(base):
        raise ValueError("scores and base must hold the same questions")
    f1_low, f1_high = bootstrap_ci(paired["f1"], resamples, seed)
    change = paired["f1"] - paired["f1_base"]
    low, high = bootstrap_ci(change, resamples, seed)
    return {
        "f1": paired["f1"].mean(),
        "f1_low": float(f1_low),
        "f1_high": float(f1_high),
        "change": change.mean(),
        "change_low": float(low),
        "change_high": float(high),
    }


def point_row(
    size: int,
    seed: int,
    scores: Mapping[str, pd.DataFrame],
    base: Mapping[str, pd.DataFrame],
    resamples: int = 1000,
) -> dict[str, Any]:
    """One point of the curve: each dataset's F1 [CI] and its paired change from the base model.

    Columns are prefixed with the dataset's name (`amazon_f1`, `squad_change`, ...).
    """
    row: dict[str, Any] = {"size": size, "seed": seed}
    for name, table in scores.items():
        values = compare(table, base[name], resamples, seed)
        row.update({f"{name}_{key}": value for key, value in values.items()})
        row[f"{name}_questions"] = len(table)
    return row


def adaptation_curve(
    model: str | Path,
    pool: Dataset,
    tests: Mapping[str, Dataset],
    profile: Profile,
    sizes: tuple[int, ...],
    out_dir: str | Path,
    seed: int = 0,
    resamples: int = 1000,
) -> pd.DataFrame:
    """One seed of the curve: the unadapted model (size 0), then one adapted model per size.

    Args:
        model: the trained model to adapt.
        pool: the questions to draw samples from (never the test groups).
        tests: named test sets, each scored by every model ({"amazon": ..., "squad": ...}).
        profile: training and inference settings.
        sizes: sample sizes; the samples are nested (`draw_sample`).
        out_dir: the adapted models go to `out_dir/size<n>-seed<seed>`.
        seed: draws the samples and seeds training.
        resamples: bootstrap resamples of the intervals.
    """
    base = score_model(model, tests, profile)
    rows = [point_row(0, seed, base, base, resamples)]
    for size in sizes:
        folder = Path(out_dir) / f"size{size}-seed{seed}"
        result = adapt(model, draw_sample(pool, size, seed), profile, folder, seed)
        scores = score_model(result.model_dir, tests, profile)
        rows.append(
            point_row(size, seed, scores, base, resamples) | {"train_seconds": result.train_seconds}
        )
    return pd.DataFrame(rows).assign(**{MODEL_RATE: model_learning_rate(model) or np.nan})


MODEL_RATE = "model_learning_rate"
"""Curve column: the rate the unadapted model was trained at (empty where unknown)."""


def model_learning_rate(model: str | Path) -> float | None:
    """The learning rate a saved model was trained at (its run config), else None (e.g. the
    embedded model, or a folder trained elsewhere)."""
    if not (Path(model) / RUN_CONFIG).is_file():
        return None
    return float(load_run_config(model)["profile"]["learning_rate"])


REFERENCE_CURVE = Path("benchmarks") / "reference" / "adapt.csv"
"""The committed curve of `benchmarks/adapt.py` (three seeds per size), in the repository."""


def reference_curve(root: Path | None = None) -> pd.DataFrame:
    """The committed adaptation curve (one row per size and seed)."""
    path = (root or REPO_ROOT) / REFERENCE_CURVE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no committed curve; run python -m benchmarks.adapt")
    return read_table(path)


def curve_summary(curve: pd.DataFrame, target: str = "amazon", kept: str = "squad") -> pd.DataFrame:
    """Per sample size: seeds, mean, std, min and max of target F1, mean kept F1 and forgetting.

    The spread is over seeds, each a different draw of the sample and training order.
    """
    grouped = curve.groupby("size")
    summary = grouped[f"{target}_f1"].agg(["count", "mean", "std", "min", "max"])
    summary.columns = ["seeds", f"{target}_f1", f"{target}_std", f"{target}_min", f"{target}_max"]
    summary[f"{target}_gain"] = grouped[f"{target}_change"].mean()
    summary[f"{kept}_f1"] = grouped[f"{kept}_f1"].mean()
    summary["forgetting"] = grouped[f"{kept}_change"].mean()
    summary["forgetting_std"] = grouped[f"{kept}_change"].std()
    return summary.reset_index()


def describe_curve(summary: pd.DataFrame, target: str = "amazon", kept: str = "squad") -> str:
    """A sentence saying what the curve shows: F1 per size (with spread) and the SQuAD change."""
    base = summary.loc[summary["size"] == 0].iloc[0]
    points = summary.loc[summary["size"] > 0]
    parts = [
        f"{row.size:,} questions: {getattr(row, f'{target}_f1'):.1f} "
        f"({getattr(row, f'{target}_gain'):+.1f}; {spread(row, target)})"
        for row in points.itertuples()
    ]
    kept_parts = [f"{row.forgetting:+.1f} at {row.size:,}" for row in points.itertuples()]
    mean = " (mean over seeds)" if (points["seeds"] > 1).any() else ""
    return (
        f"Unadapted, the model scores F1 {base[f'{target}_f1']:.1f} on the unseen test products; "
        f"after fine-tuning on {'; '.join(parts)}. On SQuAD dev it scored "
        f"{base[f'{kept}_f1']:.1f} before; the change after adapting{mean} is "
        f"{', '.join(kept_parts)} F1."
    )


def sizes_sentence(
    own: pd.DataFrame, committed: pd.DataFrame, test_total: int, target: str = "amazon"
) -> str:
    """How this run's adaptation differs in size from the committed benchmark's, and so why
    their unadapted scores and forgetting need not agree (both curves as `adaptation_curve`
    writes them, with `<group>_questions` columns; `test_total`: questions of the test part).
    """

    def described(curve: pd.DataFrame) -> str:
        sizes = sorted(curve.loc[curve["size"] > 0, "size"].unique())
        seeds = curve.loc[curve["size"] > 0].groupby("size").size().max()
        return (
            f"{int(curve[f'{target}_questions'].iloc[0]):,} of the {test_total:,} test-product "
            f"questions and {int(curve['squad_questions'].iloc[0]):,} SQuAD dev questions, "
            f"adapted on {' and '.join(f'{int(n):,}' for n in sizes)} questions "
            f"({'one seed' if seeds == 1 else f'{seeds} seeds'} each)"
        )

    base = {
        name: curve.loc[curve["size"] == 0, f"{target}_f1"].mean()
        for name, curve in (("own", own), ("committed", committed))
    }
    return (
        f"This run scores {described(own)}; the committed benchmark scores {described(committed)}. "
        f"Their unadapted F1 on the test products ({base['own']:.1f} here, "
        f"{base['committed']:.1f} committed) differ {start_causes(own, committed)}, and their "
        "forgetting is measured after different amounts of adaptation, so compare each curve's "
        "changes with its own starting point."
    )


def start_causes(own: pd.DataFrame, committed: pd.DataFrame) -> str:
    """Why two curves' unadapted scores differ: the questions, and the models they started from
    when their `MODEL_RATE` (training rate of the unadapted model) differs or is unknown.

    >>> rate = lambda r: pd.DataFrame({MODEL_RATE: [r]})
    >>> print(start_causes(rate(2e-4), rate(1e-4))[-50:])
    trained at learning rate 1e-4, this run's at 2e-4)
    """

    def rate(curve: pd.DataFrame) -> float:
        value = curve[MODEL_RATE].iloc[0] if MODEL_RATE in curve else None
        return float("nan") if value is None or pd.isna(value) else float(value)

    here, there = rate(own), rate(committed)
    if here == there:
        return "because the questions differ"
    if np.isnan(here) or np.isnan(there):
        return "because the questions differ, and the models they started from may differ too"
    return (
        "because the questions differ and the committed curve started from another model "
        f"(trained at learning rate {rate_text(there)}, this run's at {rate_text(here)})"
    )


def spread(row: Any, target: str = "amazon") -> str:
    """'range a-b over n seeds' of one summary row, or 'one seed'."""
    if row.seeds < 2:
        return "one seed"
    return (
        f"range {getattr(row, f'{target}_min'):.1f}-{getattr(row, f'{target}_max'):.1f} "
        f"over {row.seeds} seeds"
    )


@dataclass(frozen=True)
class NotebookPlan:
    """What notebook 06 adapts under a profile: sample sizes (one seed each), test sizes."""

    sizes: tuple[int, ...]
    test_questions: int
    squad_questions: int


NOTEBOOK_PLANS = {
    "smoke": NotebookPlan((8, 16), 16, 16),
    # quick: about 30 optimisation steps in all and 3 x 600 answers, within ~3 minutes on 2 cores
    "quick": NotebookPlan((100, 400), 300, 300),
    "full": NotebookPlan((500, 2000), 1500, 1000),
}


def notebook_plan(profile: Profile) -> NotebookPlan:
    """The notebook's adaptation run for a profile (the quick plan for an unknown name)."""
    return NOTEBOOK_PLANS.get(profile.name, NOTEBOOK_PLANS["quick"])


def tuning_table(
    scores: Mapping[float, pd.DataFrame], default: float, resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Validation F1 [CI] per learning rate and its paired change from the `default` rate's."""
    rows = [
        {"learning_rate": rate, **compare(table, scores[default], resamples, seed)}
        for rate, table in scores.items()
    ]
    return pd.DataFrame(rows)


def choose_learning_rate(table: pd.DataFrame, default: float) -> float:
    """The default rate, unless another one beats it on validation with a paired CI above zero.

    A small validation set cannot tell close settings apart; keeping the profile's unless the
    evidence is clear avoids fitting the noise of a few hundred questions.
    """
    better = table.loc[(table["learning_rate"] != default) & (table["change_low"] > 0)]
    if better.empty:
        return default
    return float(better.sort_values("f1", ascending=False)["learning_rate"].iloc[0])
