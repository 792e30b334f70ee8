"""Notebook 06's sentences about distribution shift, rendered from the tables they quote.

Each function takes the table a notebook cell has just shown (or a committed benchmark table)
and returns Markdown text, so no number in the notebook's prose is typed by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from qa_utils.analysis.domains import DOMAIN_SLICES, side_by_side
from qa_utils.analysis.stats import p_value_cell
from qa_utils.analysis.tables import SMALL_SLICE
from qa_utils.analysis.trend import verdict
from qa_utils.project.paths import REPO_ROOT
from qa_utils.robustness.shift import REFERENCE_SET, interval
from qa_utils.serving.replay import ReplayConfig, answered_per_second, stream_seconds

DRIFT_REFERENCE = Path("benchmarks") / "reference" / "drift.json"
"""The committed output of `python -m benchmarks.drift` (the CUSUM on many seeded streams)."""

SLICE_KINDS = dict(zip(DOMAIN_SLICES, ("answer-type", "question-word", "answer-length",
                                       "context-length"), strict=True))  # fmt: skip
"""How a sentence names each slicing column of `qa_utils.analysis.domains`."""


def shift_display(table: pd.DataFrame, digits: int = 2) -> pd.DataFrame:
    """A `shift_table` for reading: rounded, the reference set's drop cells left blank.

    The reference set is not compared with itself, so its drop and interval mean nothing.
    """
    shown = table.round(digits).astype(object)
    columns = [c for c in ("drop", "drop_low", "drop_high", "em_drop") if c in shown]
    shown.loc[shown["set"] == REFERENCE_SET, columns] = ""
    return shown


def robustness_display(table: pd.DataFrame, n_resamples: int, digits: int = 2) -> pd.DataFrame:
    """A `probes.robustness_table` for reading: rounded, p-values as `p_value_cell` words
    them (a bound at the smallest value the resamples can give), the clean row's drop blank.
    """
    shown = table.round(digits).astype(object)
    shown["p_value"] = [p_value_cell(p, n_resamples) for p in table["p_value"]]
    shown.loc[shown["condition"] == "clean", ["drop", "drop_low", "drop_high", "p_value"]] = ""
    return shown


def drop_sentence(table: pd.DataFrame, who: str = "the model") -> str:
    """'{who} scores F on SQuAD dev and loses d [lo, hi] on each set' from a shift table.

    A set whose drop interval includes 0 shows "no clear drop" instead of a loss.
    """
    rows = table.set_index("set")
    losses = "; ".join(
        ("no clear drop, " if r.drop_low <= 0 <= r.drop_high else "loses ")
        + f"{interval(r.drop, r.drop_low, r.drop_high)} on {r.Index}"
        for r in rows.drop(index=REFERENCE_SET).itertuples()
    )
    return (
        f"{who} scores {rows.loc[REFERENCE_SET, 'f1']:.1f} F1 on SQuAD dev; {losses} "
        "(F1 points, 95% intervals)."
    )


def robustness_sentence(table: pd.DataFrame) -> str:
    """The largest drop of a `probes.robustness_table` and which drops' intervals exclude 0."""
    rows = table[table["condition"] != "clean"]
    if rows.empty:
        return "No perturbation was tested."
    worst = rows.loc[rows["drop"].idxmax()]
    real = rows[(rows["drop_low"] > 0) | (rows["drop_high"] < 0)]
    named = ", ".join(real["condition"]) if len(real) else "none"
    return (
        f"The largest drop is {worst['condition']}'s, "
        f"{interval(worst['drop'], worst['drop_low'], worst['drop_high'])} F1 points; "
        f"the conditions whose drop interval excludes 0: {named}."
    )


def lowering_sentence(table: pd.DataFrame) -> str:
    """Which perturbations lower F1 with a 95% interval above 0 (for the summary)."""
    real = table[(table["condition"] != "clean") & (table["drop_low"] > 0)]
    if real.empty:
        return "No perturbation lowered F1 with an interval excluding 0 in this run."
    named = ", ".join(real["condition"])
    return f"In this run these perturbations lower F1 (drop interval above 0): {named}."


def stream_display(summary: pd.Series, digits: int = 2) -> pd.DataFrame:
    """A `replay.stream_summary` as one table row: counts as integers (blank where there is no
    alarm), the rest rounded."""
    frame = summary.to_frame("stream").T.astype(float).round(digits)
    counts = [c for c in ("requests", "errors", "alarm_at", "detection_delay") if c in frame]
    frame[counts] = frame[counts].astype("Int64")
    return frame


def alarm_sentence(shift_at: int, alarm_at: int | None, requests: int) -> str:
    """Where the drift alarm was raised relative to the shift, or that none was."""
    if alarm_at is None:
        return f"No alarm was raised within the stream's {requests} requests."
    if alarm_at < shift_at:
        return (
            f"The alarm was raised at request {alarm_at}, {shift_at - alarm_at} requests "
            f"*before* the shift at {shift_at}: a false alarm."
        )
    return (
        f"The alarm was raised at request {alarm_at}, {alarm_at - shift_at} requests after "
        f"the shift at {shift_at} (feedback itself lags by the feedback delay)."
    )


def er_sentences(trend: pd.DataFrame, who: str = "it") -> str:
    """One sentence per set: our F1, the line's prediction, ER with its interval, the verdict."""
    return " ".join(
        f"On {r.set} {who} scores {r.shifted_f1:.1f} F1 where the line predicts "
        f"{r.predicted:.1f}: ER {r.er:+.1f} [{r.er_low:+.1f}, {r.er_high:+.1f}], "
        f"{verdict(r.er_low, r.er_high)} its SQuAD score predicts."
        for r in trend.itertuples()
    )


def above_line_sentence(full: pd.DataFrame, sample: pd.DataFrame) -> str:
    """The sets where the model beats the published line (ER interval above 0), in the
    committed full run (`full`) and in this run's sample (`sample`), both `trend_table`s."""

    def above(table: pd.DataFrame) -> list[str]:
        return [r.set for r in table.itertuples() if r.er_low > 0]

    def named(sets: list[str]) -> str:
        return ", ".join(sets) if sets else "no set"

    full_sets, sample_sets = above(full), above(sample)
    text = (
        "With every question of the four sets, the quick model beats the line (ER interval "
        f"above 0) on {named(full_sets)}; in this run's sample, on {named(sample_sets)}"
    )
    if set(sample_sets) < set(full_sets):
        text += " (a sample's wider intervals can hold 0 where the full run's do not)"
    return text + "."


def pretraining_sentence(mix: pd.Series, near: pd.DataFrame, squad_f1: float) -> str:
    """The shares of the encoder's training mix from the shifted domains, and our neighbours."""
    return (
        f"Reddit comments make {100 * mix['Reddit comments']:.1f}% and Amazon product questions "
        f"{100 * mix['Amazon product questions']:.1f}% of the pairs the encoder was trained on, "
        f"SQuAD {100 * mix['SQuAD']:.1f}%. The published models closest to our SQuAD F1 "
        f"({squad_f1:.1f}) are {', '.join(near['model'])}; their own distance from the Reddit "
        f"line is {near['residual'].min():+.1f} to {near['residual'].max():+.1f} F1."
    )


def hardest_sentence(long: pd.DataFrame, column: str = "question_word") -> str:
    """The value of a slicing column with the lowest F1 on each set (slices of 30 or more)."""
    rows = long[(long["slice"] == column) & ~long["small"]]
    worst = rows.sort_values("f1").groupby("set", sort=False).head(1)
    if worst.empty:
        return f"No value of {column} has 30 questions or more in these samples."
    found = "; ".join(f"{r.set}: *{r.value}* ({r.f1:.1f})" for r in worst.itertuples())
    return f"The hardest {column.replace('_', ' ')} with at least 30 questions: {found}."


def calibration_sentence(calibration: pd.DataFrame) -> str:
    """How over-confident the model is on each set, with its ECE (a `domain_calibration` table)."""
    found = "; ".join(
        f"{r.overconfidence:+.1f} points on {r.set} (ECE {r.ece:.1f})"
        for r in calibration.itertuples()
    )
    gaps = calibration["overconfidence"]
    overall = (
        "under-confident on every set"
        if (gaps < 0).all()
        else "over-confident on every set"
        if (gaps > 0).all()
        else "over-confident on some sets and under-confident on others"
    )
    return f"The model is {overall}; mean confidence minus exact-match rate: {found}."


def slice_test_sentence(tests: pd.DataFrame, top: int = 3) -> str:
    """How many slices' drops differ from their set's, and the largest excess drops either way.

    Slices are ranked by |excess| and named in two groups: those losing more than their set
    (excess > 0) and those losing less (excess < 0).
    """
    differ = tests[tests["differs"]]
    differ = differ.loc[differ["excess"].abs().sort_values(ascending=False).index].head(top)
    text = f"{len(tests[tests['differs']])} of {len(tests)} slices tested lose significantly "
    text += "more or less than their set as a whole (Holm-adjusted p < 0.05)"
    if differ.empty:
        return text + "."
    groups = []
    for label, rows in (("lose more", differ[differ["excess"] > 0]),
                        ("lose less", differ[differ["excess"] < 0])):  # fmt: skip
        if len(rows):
            named = ", ".join(
                f"{r.set} {r.slice} = {r.value} ({r.excess:+.1f})" for r in rows.itertuples()
            )
            groups.append(f"{label}: {named}")
    return f"{text}. The largest excess drops by size, {'; '.join(groups)}."


def slice_summary_sentence(tests: pd.DataFrame, full: pd.DataFrame) -> str:
    """How many slices differ from their set in this run and in the committed full run, and of
    which kinds (answer type, question word, lengths), for the summary."""

    def differing(table: pd.DataFrame) -> pd.DataFrame:
        return table[table["differs"].astype(bool)]

    found = differing(full)
    counts = found["slice"].value_counts()
    kinds = [f"{counts[c]} {SLICE_KINDS.get(c, c)}" for c in counts.index]
    tested = [c for c in dict.fromkeys(full["slice"]) if c not in counts.index]
    text = (
        f"Slices that lose significantly more or less than their set as a whole: "
        f"{len(differing(tests))} of {len(tests)} in this run's sample; {len(found)} of "
        f"{len(full)} with every question of the four sets (the committed run)"
    )
    if kinds:
        text += f", {' and '.join(kinds)} slices"
    if tested and kinds:
        none = " or ".join(SLICE_KINDS.get(c, c).replace("-", " ") for c in tested)
        text += f", none by {none}"
    return text + "."


def latency_sentence(curves: pd.DataFrame, scored: pd.DataFrame, shift_at: int) -> str:
    """What the latency panel shows: rolling median latency before the shift and at the end,
    the peak of the rolling 95th percentile, and where a request's time went.

    Per request (medians before and after the shift): the model call (`model_ms`), waiting in
    the service for its model thread (`server_ms - model_ms`: the service's time covers the
    wait for a free model thread), and transport (`latency_ms - server_ms`); plus the time a
    due request waited in the client for a free client thread (`wait_ms`, not in the latency).
    `curves` is `replay.online_curves`'s table, `scored` `replay.score_log`'s.
    """
    before = curves.loc[curves["seq"] < shift_at]
    peak = curves.loc[curves["latency_p95"].idxmax()]
    ok = scored[scored["status"] == 200]
    parts = {"before": ok[ok["seq"] < shift_at], "after": ok[ok["seq"] >= shift_at]}

    def split(part: pd.DataFrame) -> str:
        model = np.median(part["model_ms"])
        queue = np.median(part["server_ms"] - part["model_ms"])
        transport = np.median(part["latency_ms"] - part["server_ms"])
        return (
            f"{model:.0f} ms in the model, {queue:.0f} ms waiting in the service for its model "
            f"thread and {transport:.0f} ms in transport, of a latency of "
            f"{np.median(part['latency_ms']):.0f} ms"
        )

    return (
        f"Rolling median latency was {before['latency_p50'].iloc[-1]:.0f} ms just before the "
        f"shift and {curves['latency_p50'].iloc[-1]:.0f} ms at the end of the stream; the rolling "
        f"95th percentile peaked at {peak['latency_p95']:.0f} ms (request {int(peak['seq'])}). "
        f"Per request (medians), before the shift {split(parts['before'])}; after it "
        f"{split(parts['after'])}. Before being sent, a request waited a median of "
        f"{np.median(scored['wait_ms']):.0f} ms in the client for a free client thread (not "
        "counted in the latency)."
    )


def replay_sentence(config: ReplayConfig, log: pd.DataFrame) -> str:
    """How the client loaded the service (`replay.ReplayConfig`) and whether the service kept
    up: requests answered per second (`replay.answered_per_second`, as `replay.stream_summary` gives
    it) against the rate offered, and the client-side wait."""
    offered = (
        f"{config.rate:g} requests per second"
        if config.rate > 0
        else "requests as fast as its threads allow"
    )
    ok, served = int((log["status"] == 200).sum()), answered_per_second(log)
    text = (
        f"The client offered {offered}, with at most {config.concurrency} open at once (one "
        f"per client thread). {len(log)} requests finished in {stream_seconds(log):.1f} s, "
        f"{ok} answered ({served:.1f} per second), {len(log) - ok} failed. "
    )
    wait = f"a median of {np.median(log['wait_ms']):.0f} ms (at most {log['wait_ms'].max():.0f})"
    if config.rate > 0 and served < 0.9 * config.rate:
        return text + (
            f"The service answered fewer per second than were offered ({served:.1f} against "
            f"{config.rate:g}), so it fell behind: due requests waited in the client for a free "
            f"thread, {wait}, and went out late."
        )
    return text + f"The service kept up; due requests waited in the client {wait}."


def slices_display(long: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """A `domains.side_by_side` table for reading: per set (short name), F1 and the slice's
    share of the set in percent; F1 left blank for slices of fewer than `SMALL_SLICE`
    questions of their set (as `plots.plot_domain_slices` leaves them out)."""
    wide = side_by_side(long)
    sets = list(dict.fromkeys(long["set"]))
    columns = {}
    for name in sets:
        short = name.rsplit("/", 1)[-1]
        f1 = wide[name].round(digits).astype(object)
        columns[(short, "F1")] = f1.where(wide[f"{name} n"] >= SMALL_SLICE, "")
        columns[(short, "share %")] = (100 * wide[f"{name} share"]).round(digits)
    return pd.DataFrame(columns)


def drift_benchmark_sentence(root: Path = REPO_ROOT) -> str:
    """How much one stream's alarm varies: the committed CUSUM benchmark over many seeded
    streams (`benchmarks/reference/drift.json`)."""
    path = root / DRIFT_REFERENCE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no committed drift benchmark (python -m benchmarks.drift)"
        )
    d = json.loads(path.read_text())
    return (
        f"One stream is one draw. On {d['runs']} seeded streams of {d['length']} scores with the "
        f"same detector and the shift at score {d['shift_at']} (`python -m benchmarks.drift`, "
        f"`{DRIFT_REFERENCE}`; Wald's estimate {d['wald_delay']:.0f}), the alarm came a median "
        f"of {d['delay_median']:.0f} shifted scores after the shift and {d['delay_p95']:.0f} at "
        f"the 95th percentile, within {d['bound']} scores in {100 * d['within_bound']:.1f}% of "
        f"the streams; {100 * d['early']:.1f}% raised it before the shift, and "
        f"{100 * d['false_alarm']:.1f}% of unshifted streams raised a false alarm in their "
        f"{d['monitored']} monitored scores."
    )
