"""Helpers of notebook 04 (error analysis): the numbers its sentences are rendered from.

Each function turns a table the notebook already has into the few values a sentence quotes:
the largest off-diagonal cells of the answer-type confusion, the two answer-type labellers
side by side and where they disagree, a verdict on a slice against the rest, the cost of
blanking answers, the calibration gaps, the committed benchmark outputs shown beside the
notebook's smaller runs, and the sentences on the error categories, the name swap and on
memorisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from qa_utils.analysis.answer_types import ANSWER_TYPES
from qa_utils.analysis.domains import holm
from qa_utils.analysis.stats import (
    SpreadTest,
    format_p_value,
    p_value_cell,
    unpaired_difference,
)
from qa_utils.project.io import read_table
from qa_utils.project.paths import REPO_ROOT
from qa_utils.robustness.memorisation import SAME_ARTICLES, UNSEEN_ARTICLES

REFERENCE_DIR = REPO_ROOT / "benchmarks" / "reference"


def off_diagonal(confusion: pd.DataFrame, min_questions: int = 30, n: int = 3) -> pd.DataFrame:
    """The `n` largest off-diagonal cells by share of their row (gold types with enough questions).

    >>> counts = pd.DataFrame([[8, 2], [6, 4]], index=["A", "B"], columns=["A", "B"])
    >>> off_diagonal(counts, min_questions=1).values.tolist()
    [['B', 'A', 6, 10, 0.6], ['A', 'B', 2, 10, 0.2]]
    """
    totals, columns = confusion.sum(axis=1), ["gold", "predicted", "count", "row_total", "share"]
    cells = [
        {"gold": gold, "predicted": pred, "count": int(confusion.loc[gold, pred]),
         "row_total": int(totals[gold]), "share": confusion.loc[gold, pred] / totals[gold]}
        for gold in confusion.index
        for pred in confusion.columns
        if gold != pred and totals[gold] >= min_questions
    ]  # fmt: skip
    table = pd.DataFrame(cells, columns=columns).astype({"share": float})
    return table.nlargest(n, "share").reset_index(drop=True)


def labeller_counts(rule_types: list[str], spacy_types: list[str]) -> pd.DataFrame:
    """Answers of each type under the rule-based and the spaCy labeller, on the same answers."""
    table = pd.DataFrame(
        {
            "rule-based (notebook 01)": pd.Series(rule_types).value_counts(),
            "spaCy (this notebook)": pd.Series(spacy_types).value_counts(),
        }
    )
    return table.reindex(ANSWER_TYPES).fillna(0).astype(int).rename_axis("answer type")


def labeller_disagreement(rule_types: list[str], spacy_types: list[str]) -> pd.DataFrame:
    """Per answer type: the answers either labeller gives it, and the share labelled differently.

    Relative to the type's own number, so that a small type the labellers split on ranks
    above a large type they mostly agree on. Most disagreed first; unused types left out.

    >>> table = labeller_disagreement(["Date", "Date", "Other"], ["Date", "Person", "Person"])
    >>> table.reset_index().values.tolist()
    [['Person', 2, 2, 1.0], ['Other', 1, 1, 1.0], ['Date', 2, 1, 0.5]]
    """
    pairs = pd.DataFrame({"rule": rule_types, "spacy": spacy_types})
    differ = pairs["rule"] != pairs["spacy"]
    rows = {}
    for kind in ANSWER_TYPES:
        either = (pairs["rule"] == kind) | (pairs["spacy"] == kind)
        if either.any():
            rows[kind] = {"answers": int(either.sum()), "disagree": int((either & differ).sum())}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["answers", "disagree"])
    table["share"] = table["disagree"] / table["answers"]
    return table.sort_values("share", ascending=False, kind="stable")


def spoken(items: list[str]) -> str:
    """Items joined as in a sentence.

    >>> spoken(["a"]), spoken(["a", "b", "c"])
    ('a', 'a, b and c')
    """
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def labeller_sentence(
    rule_types: list[str], spacy_types: list[str], typing: str, top: int = 3
) -> str:
    """How often the two labellers agree, and the types they disagree on most (relatively).

    Args:
        rule_types: Rule-based type of each gold answer.
        spacy_types: The notebook's type of the same answers.
        typing: Name of the notebook's labeller ("spaCy en_core_web_sm...").
        top: How many of the most disagreed types to name.
    """
    agree = float(np.mean(np.array(rule_types) == np.array(spacy_types)))
    opening = f"On the same {len(rule_types):,} gold answers the two labellers agree on {agree:.0%}"
    worst = labeller_disagreement(rule_types, spacy_types).head(top)
    worst = worst[worst["disagree"] > 0]
    if worst.empty:
        return opening + "."
    counts = labeller_counts(rule_types, spacy_types).loc[worst.index]
    shares = [f"{r.share:.0%} of {r.answers:,}" for r in worst.itertuples()]
    shares[0] = shares[0].replace(" of ", " of the ") + f" answers either calls {worst.index[0]}"
    named = spoken([f"{kind} ({share})" for kind, share in zip(worst.index, shares, strict=True)])
    rules = spoken([f"{n:,} {kind}" for kind, n in counts.iloc[:, 0].items()])
    other = spoken([f"{n:,}" for n in counts.iloc[:, 1]])
    return (
        f"{opening}. Relative to their number, they disagree most on {named}. The rule-based "
        f"labeller finds {rules} answers; {typing} finds {other}."
    )


@dataclass(frozen=True)
class SliceVerdict:
    """F1 of a slice against the rest of the questions (slice minus rest, unpaired bootstrap)."""

    n: int
    f1: float
    rest_f1: float
    difference: float
    low: float
    high: float

    @property
    def verdict(self) -> str:
        """'harder' or 'easier' when the 95% interval excludes 0, else 'no clear difference'."""
        if self.high < 0:
            return "harder"
        return "easier" if self.low > 0 else "no clear difference"


def slice_verdict(
    table: pd.DataFrame, mask: pd.Series, n_resamples: int = 1000, seed: int = 0
) -> SliceVerdict:
    """Compare the F1 of the rows in `mask` with the F1 of the others."""
    inside, outside = table.loc[mask, "f1"].to_numpy(), table.loc[~mask, "f1"].to_numpy()
    if not len(inside) or not len(outside):
        nan = float("nan")
        return SliceVerdict(len(inside), nan, nan, nan, nan, nan)
    diff, low, high = unpaired_difference(inside, outside, n_resamples, seed)
    return SliceVerdict(len(inside), float(np.mean(inside)), float(np.mean(outside)), diff, low,
                        high)  # fmt: skip


def rare_word_masks(table: pd.DataFrame) -> dict[str, pd.Series]:
    """Questions with a rare word in the question, and those with one in the first gold answer.

    Read from the `rare_words` slice of `analysis.slicing.add_features`, whose "both" counts
    on each side, so that each mask can be judged against all other questions.
    """
    where = table["rare_words"].astype(str)
    return {
        "a rare word in the question": where.isin(["question only", "both"]),
        "a rare word in the gold answer": where.isin(["answer only", "both"]),
    }


def verdict_line(name: str, verdict: SliceVerdict) -> str:
    """One Markdown bullet: the slice's F1 against the rest, the difference and the verdict."""
    v = verdict
    return (
        f"- {name} ({v.n:,} questions): F1 {v.f1:.1f} against {v.rest_f1:.1f} for the rest, "
        f"difference {v.difference:+.1f} [{v.low:+.1f}, {v.high:+.1f}]: **{v.verdict}**."
    )


def error_split_sentence(errors: pd.DataFrame) -> str:
    """The bars of `plots.plot_error_categories` in words, categories with answers only.

    Category names contain commas ("wrong span, gold sentence"), so the items are separated
    by semicolons.

    >>> split = pd.DataFrame({"category": ["exact match", "wrong span, gold sentence", "x"],
    ...                       "share": [0.6, 0.4, 0.0]})
    >>> error_split_sentence(split)
    'The bars show how the answers split: exact match 60.0%; wrong span, gold sentence 40.0%.'
    """
    shares = errors.set_index("category")["share"]
    items = "; ".join(f"{name} {share:.1%}" for name, share in shares.items() if share > 0)
    return f"The bars show how the answers split: {items}."


def blanking_sentence(comparison: pd.DataFrame, n_resamples: int) -> str:
    """What blanking answers costs in EM and F1 (`analysis.tables.compare_tables`, ours first).

    A blanked answer loses its EM and all of its F1, so F1 loses more than EM by the partial
    credit of the blanked partial overlaps.
    """
    rows = comparison.set_index("metric")
    costs, p_values = [], []
    for metric in ("em", "f1"):
        row = rows.loc[metric]
        costs.append(
            f"{row['difference']:.2f} {metric.upper()} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
        )
        p_values.append(format_p_value(row["p_value"], n_resamples))
    tested = (
        f"each with {p_values[0]}"
        if p_values[0] == p_values[1]
        else f"with {p_values[0]} for EM and {p_values[1]} for F1"
    )
    extra = rows.loc["f1", "difference"] - rows.loc["em", "difference"]
    partial = (
        f"F1 loses {extra:.2f} points more than EM: the blanked partial overlaps lose their "
        f"partial credit too."
        if extra > 0
        else "F1 loses no more than EM: none of the blanked answers was a partial overlap."
    )
    return (
        f"The figure shows the paired differences (ours minus the blanked copy) in EM and in F1, "
        f"each with its 95% paired-bootstrap interval: blanking every tenth answer costs "
        f"{costs[0]} and {costs[1]}, {tested}. {partial}"
    )


def calibration_sentence(reliability: pd.DataFrame, ece: float, min_answers: int = 30) -> str:
    """Which side of the diagonal the reliability bins lie on, and the bin furthest from it.

    Args:
        reliability: `analysis.stats.calibration_table` (lower, upper, n, confidence, accuracy).
        ece: The expected calibration error.
        min_answers: The largest gap is sought among bins with at least this many answers
            (all bins with answers where none has that many).
    """
    used = reliability[reliability["n"] > 0]
    if used.empty:
        return f"No answer has a confidence, so there is nothing to calibrate (ECE = {ece:.3f})."
    gap = used["accuracy"] - used["confidence"]
    sides = [
        f"{side} in {'all' if count == len(used) else count}"
        for side, count in (
            ("under-confident (right more often than it says)", int((gap > 0).sum())),
            ("over-confident", int((gap < 0).sum())),
        )
        if count
    ]
    sized = used[used["n"] >= min_answers] if (used["n"] >= min_answers).any() else used
    far = sized.loc[(sized["accuracy"] - sized["confidence"]).abs().idxmax()]
    side = " and ".join(sides) or "exactly calibrated in all"
    bins = f"of the {len(used)} bins that hold answers"
    if len(used) == 1:
        side, bins = side.replace(" in all", ""), "in the one bin that holds answers"
    return (
        f"The diagram shows confidence against exact-match rate per bin; ECE = {ece:.3f}. The "
        f"model is {side} {bins}. It is furthest "
        f"from the diagonal in the {far['lower']:.1f}-{far['upper']:.1f} bin ({far['n']:,.0f} "
        f"answers): it says {far['confidence']:.2f} and is right {far['accuracy']:.2f} of the time."
    )


def reference_output(name: str, folder: Path = REFERENCE_DIR) -> pd.DataFrame | None:
    """A committed benchmark table (benchmarks/reference/NAME), or None where it is missing."""
    path = folder / name
    return read_table(path) if path.is_file() else None


Interval = tuple[str, str, str] | str
"""Column names of a value and its interval ends: ("f1", "f1_low", "f1_high"), or of a value
shown without an interval: "auc_confidence"."""


def with_intervals(table: pd.DataFrame, key: str, columns: dict[str, Interval]) -> pd.DataFrame:
    """One text column "value [low, high]" (or "value") per measure, indexed by `key`, with n.

    >>> t = pd.DataFrame({"g": ["a"], "n": [9], "f1": [70.0], "lo": [60.0], "hi": [80.5]})
    >>> with_intervals(t, "g", {"F1": ("f1", "lo", "hi"), "F1 alone": "f1"}).to_dict("records")
    [{'n': 9, 'F1': '70.00 [60.00, 80.50]', 'F1 alone': '70.00'}]
    """
    out = pd.DataFrame({"n": table["n"].to_numpy()}, index=table[key].rename(None))
    for name, spec in columns.items():
        if isinstance(spec, str):
            out[name] = [f"{v:.2f}" for v in table[spec]]
            continue
        value, low, high = spec
        out[name] = [
            f"{v:.2f} [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) else f"{v:.2f}"
            for v, lo, hi in zip(table[value], table[low], table[high], strict=True)
        ]
    return out


def beside(
    ours: pd.DataFrame, reference: pd.DataFrame | None, key: str, columns: dict[str, Interval]
) -> pd.DataFrame:
    """This notebook's run and the committed benchmark side by side (`with_intervals` each)."""
    parts = {"this run": with_intervals(ours, key, columns)}
    if reference is not None:
        parts["benchmark"] = with_intervals(reference, key, columns)
    return pd.concat(parts, axis=1)


def name_swap_sentence(
    contrasts: pd.DataFrame, groups: pd.DataFrame, where: str, n_resamples: int = 1000
) -> str:
    """What the name swap found: EA - AA, every contrast whose interval excludes 0, changed answers.

    The contrasts are several tests on the same questions, so the sentence says that their
    intervals and p-values are uncorrected and gives Holm's adjusted p-values beside them.

    Args:
        contrasts: `robustness.fairness.contrast_table`.
        groups: `robustness.fairness.group_table` (clean first).
        where: Whose result it is ("This run", "The benchmark").
        n_resamples: Resamples behind the p-values (their floor is 1 / (n_resamples + 1)).
    """
    table, swapped = contrasts.set_index("contrast"), groups.iloc[1:]
    table["holm"] = holm(table["p_value"])
    row, tests = table.loc["EA - AA"], len(table)
    excluded = table[(table["low"] > 0) | (table["high"] < 0)]
    head = (
        f"{where}: on {int(row['n']):,} questions, F1 with EA names minus F1 with AA names is "
        f"{row['difference']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}] (paired sign-flip "
        f"{format_p_value(row['p_value'], n_resamples)})."
    )
    if excluded.empty:
        widest = table.loc[(table["high"] - table["low"]).idxmax()]
        reach = float(table[["low", "high"]].abs().to_numpy().max())
        found = (
            f"None of the {tests} contrasts ({', '.join(table.index)}) has an interval that "
            f"excludes 0, so no difference between the groups shows; but the widest interval, "
            f"{widest.name} [{widest['low']:+.2f}, {widest['high']:+.2f}], spans "
            f"{widest['high'] - widest['low']:.2f} points, and differences of up to "
            f"{reach:.2f} points lie inside the intervals: differences of that size cannot be "
            f"ruled out on {int(row['n']):,} questions (the intervals are not corrected for "
            f"multiple testing, which would only widen them)."
        )
    else:
        named = "; ".join(
            f"{name}: {r.difference:+.2f} [{r.low:+.2f}, {r.high:+.2f}], "
            f"{format_p_value(r.p_value, n_resamples)}"
            for name, r in zip(excluded.index, excluded.itertuples(), strict=True)
        )
        adjusted = spoken([f"{name} p = {p:.3f}" for name, p in excluded["holm"].items()])
        kept = int((excluded["holm"] < 0.05).sum())
        verdict = (
            f"{'it is not' if len(excluded) == 1 else 'none is'} below 0.05"
            if kept == 0
            else f"{'it stays' if len(excluded) == 1 else 'all stay'} below 0.05"
            if kept == len(excluded)
            else f"{kept} of {len(excluded)} stay below 0.05"
        )
        found = (
            f"Of the {tests} contrasts, the interval excludes 0 for {named}. These intervals and "
            f"p-values are not corrected for testing {tests} contrasts; Holm's correction over "
            f"the {tests} gives {adjusted}: {verdict}."
        )
    changed = (
        f"Renaming alone changes {swapped['changed'].min():.1f}-{swapped['changed'].max():.1f}% "
        f"of the answers."
    )
    return " ".join((head, found, changed))


def membership_sentence(table: pd.DataFrame, where: str) -> str:
    """The memorisation gaps and what they mean for membership inference, in two sentences.

    Args:
        table: `robustness.memorisation.memorisation_table`.
        where: Whose result it is ("This run", "The benchmark").
    """
    t = table.set_index("group")
    same, other = t.loc[SAME_ARTICLES], t.loc[UNSEEN_ARTICLES]
    auc = same["auc_confidence"]
    risk = "little" if auc < 0.55 else "a weak signal" if auc < 0.65 else "a clear signal"
    return (
        f"{where}: F1 on the training questions minus F1 on unseen questions of the same "
        f"articles is {gap_text(same)}, and minus F1 on unseen articles {gap_text(other)}. An "
        f"attacker who calls a question 'trained' when the model is confident reaches a "
        f"membership AUC of {auc:.2f} against unseen questions of the same articles (0.5 is "
        f"chance), so the answers reveal {risk} about which questions it was trained on."
    )


def signed(value: float) -> str:
    """A value with its sign to 2 decimals, without the sign where it rounds to 0.

    >>> signed(7.071), signed(-0.004), signed(-1.5)
    ('+7.07', '0.00', '-1.50')
    """
    text = f"{value:+.2f}"
    return text[1:] if float(text) == 0 else text


def gap_text(row: pd.Series) -> str:
    """A memorisation gap with its interval, saying so when the interval includes 0.

    >>> gap_text(pd.Series({"gap": 7.07, "gap_low": -0.01, "gap_high": 14.47}))
    '+7.07 [-0.01, +14.47] (the interval includes 0: this sample does not tell it from no gap)'
    >>> gap_text(pd.Series({"gap": 8.6, "gap_low": 1.3, "gap_high": 15.8}))
    '+8.60 [+1.30, +15.80]'
    """
    low, high = row["gap_low"], row["gap_high"]
    text = f"{signed(row['gap'])} [{signed(low)}, {signed(high)}]"
    if low <= 0 <= high:
        text += " (the interval includes 0: this sample does not tell it from no gap)"
    return text


def parity_table(
    spread: SpreadTest,
    reference: pd.DataFrame | None,
    n_resamples: int,
    reference_resamples: int = 1000,
) -> pd.DataFrame:
    """The permutation test of the per-article spread, this run beside the benchmark.

    The p-value is shown as text ("≤ 0.001" at the floor 1 / (n + 1) of its resamples, where
    it is a bound, not an exact value), the other numbers rounded to 2 decimals.

    Args:
        spread: This run's `analysis.stats.group_spread_test`.
        reference: The committed benchmark's row (benchmarks/reference/fairness_parity.csv).
        n_resamples: Permutations behind this run's p-value.
        reference_resamples: Permutations behind the benchmark's (its default, 1,000).
    """
    rows = {"this run": (vars(spread), n_resamples)}
    if reference is not None:
        rows["benchmark"] = (reference.iloc[0].to_dict(), reference_resamples)
    table = pd.DataFrame({name: values for name, (values, _) in rows.items()}).T
    table = table.astype({"groups": int, "n": int}).round(2)
    table["p_value"] = [p_value_cell(float(v["p_value"]), n) for v, n in rows.values()]
    return table
