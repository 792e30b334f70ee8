"""Notebook 05's sentences quote the tables they are given."""

from __future__ import annotations

import pandas as pd
import pytest

from qa_utils.chapter import optimize as sentences
from qa_utils.project.paths import project_root
from qa_utils.workflow.publish import MACHINE_PATH


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": ["pytorch fp32", "onnxruntime int8 dynamic", sentences.RECOMMENDED],
            "p50_ms": [30.0, 12.5, 14.0],
            "batch1_speedup": [1.0, 2.4, 2.14],
            "size_mb": [86.1, 55.9, 60.0],
            "f1": [72.0, 70.0, 72.57],
            "f1_drop": [0.0, 2.0, -0.57],
        }
    )


def test_tradeoff_names_fastest_best_and_smallest(table):
    text = sentences.tradeoff_sentence(table)
    assert "**onnxruntime int8 dynamic**: 12.5 ms" in text
    assert f"Highest is **{sentences.RECOMMENDED}** (F1 72.6)" in text
    assert "55.9 MB against 86.1 MB" in text


def test_tradeoff_names_variants_tied_on_f1(table):
    tied = table.assign(f1=[72.01, 70.0, 71.98])
    text = sentences.tradeoff_sentence(tied)
    assert f"tied at one decimal, are **pytorch fp32** and **{sentences.RECOMMENDED}**" in text


def test_model_description_and_machine_table():
    assert "untrained" in sentences.model_description("embedded")
    assert "runs/quick/model" in sentences.model_description("runs/quick/model")
    inside = sentences.model_description(project_root() / "runs" / "quick-1" / "model")
    assert inside == "fine-tuned model in runs/quick-1/model"
    assert sentences.model_description("/elsewhere/a/quick-1/model").endswith(" quick-1/model")
    machine = sentences.machine_table({"cpu": "x", "gpu": None, "platform": "p"}, {"torch": "2"})
    assert machine["item"].tolist() == ["cpu", "gpu", "torch"]


def test_mixed_quotes_both_drops(table):
    text = sentences.mixed_sentence(table, kept=4)
    assert "F1 by -2.00 against fp32" in text and "the 4 most" in text and "makes it +0.57" in text


def int8_table(drops: list[float], agreements: list[float]) -> pd.DataFrame:
    """The six rows of section 5 with F1 drops and agreements (PyTorch pair first)."""
    return pd.DataFrame(
        {
            "variant": [
                sentences.BASELINE,
                "pytorch int8 dynamic",
                "pytorch int8, sensitive fp32",
                "onnxruntime fp32",
                "onnxruntime int8 dynamic",
                sentences.RECOMMENDED,
            ],
            "f1_drop": [0.0, drops[0], drops[1], 0.0, drops[2], drops[3]],
            "agreement_pct": [100.0, agreements[0], agreements[1], 100.0, agreements[2],
                              agreements[3]],
        }
    )  # fmt: skip


def test_backend_sentence_says_who_lost_more_here_and_in_the_reference():
    here = int8_table([2.15, 0.38, 2.46, 0.78], [73.0, 83.3, 86.0, 92.3])
    there = int8_table([3.17, 0.76, 0.71, -0.59], [73.8, 83.3, 87.1, 91.6])
    meta = {"model": "runs/old/model", "questions": 1000}
    text = sentences.backend_sentence(here, there, meta, "runs/new/model")
    assert "every Linear layer in int8, F1 -2.15 and -2.46, 73.0% and 86.0%" in text
    assert "F1 -0.38 and -0.78, 83.3% and 92.3%" in text
    assert "Here ONNX Runtime lost more F1 in both pairs, and PyTorch agreed less" in text
    assert (
        "In the committed reference (of an earlier model, `runs/old/model`, not this run's), on "
        "1,000 questions:" in text
    )
    same = sentences.backend_sentence(here, there, meta, "runs/old/model")
    assert "In the committed reference, on 1,000 questions:" in same
    assert "there PyTorch lost more F1 in both pairs" in text
    assert "The two runs disagree" in text
    agreeing = sentences.backend_sentence(there, there, meta)
    assert "disagree" not in agreeing
    mixed = int8_table([2.0, 0.2, 1.0, 0.5], [73.0, 93.3, 86.0, 92.3])
    alone = sentences.backend_sentence(mixed)
    assert "which backend lost more F1 changes from pair to pair" in alone
    assert "which backend agreed less with fp32 changes from pair to pair" in alone
    assert "reference" not in alone


def speed_table(speedups: list[float], p50: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": [sentences.BASELINE, "onnxruntime fp32", sentences.RECOMMENDED],
            "p50_ms": [p50, p50 / speedups[0], p50 / speedups[1]],
            "batch1_speedup": [1.0, *speedups],
            "f1": [72.0, 72.0, 72.57],
            "f1_drop": [0.0, 0.0, -0.57],
        }
    )


@pytest.mark.parametrize(
    ("ref_base", "calibration", "expected"),
    [
        (71.0, 32, "compare the F1 changes against fp32: +0.57 here, +0.50 there"),
        (72.0, 16, "calibrated the sensitivity scan on 16 training questions"),
        (72.0, 32, "not from the choice"),
    ],
)
def test_reference_sentence_says_why_the_rows_differ(table, ref_base, calibration, expected):
    reference = table.assign(f1=[ref_base, 69.0, 71.5], f1_drop=[0.0, 2.0, -0.5])
    reference["p50_ms"] = [40.0, 15.0, 16.0]
    meta = {"questions": 300, "load_average": [4.07, 3.0, 2.0]}
    ref_meta = {"questions": 1000, "load_average": [1.9, 1.8, 1.7], "model": "runs/old/model"}
    text = sentences.reference_sentence(
        table, reference, calibration, 32, meta, ref_meta, "/work/x/runs/quick/model"
    )
    assert not MACHINE_PATH.search(text)  # published notebooks drop outputs that show one
    assert "F1 72.57 here, 71.50 in the reference" in text
    assert expected in text
    assert "30.0 ms per batch-1 request at the median here and 40.0 ms there" in text
    assert "load averages 4.07 and 3.00 here, 1.90 and 1.80 there" in text
    assert "other programs took more" in text
    assert "during this run" in text
    if ref_base != 72.0:
        assert "another model, `runs/old/model`, on 1,000 dev questions" in text
        assert "this run `quick/model` on 300" in text  # outside the project: last two parts
        assert " or " not in text
    unrecorded = sentences.reference_sentence(table, reference, 32, 32, {}, None, "m")
    assert "was not recorded" in unrecorded and "load average" not in unrecorded


def test_speed_sentence_compares_loads_and_every_shared_speedup():
    ours = speed_table([1.18, 1.90], 38.3).set_index("variant")
    ref = speed_table([1.60, 2.14], 31.8).set_index("variant")
    similar = sentences.speed_sentence(
        ours, ref, {"load_average": [1.82, 1.7, 1]}, {"load_average": [1.90, 1.8, 3]}
    )
    assert "38.3 ms per batch-1 request at the median here and 31.8 ms there" in similar
    assert (
        "similar loads (1- and 5-minute load averages 1.82 and 1.70 here, 1.90 and 1.80" in similar
    )
    assert "the load does not explain the gap" in similar
    # the audited run: similar over 1 minute, not over 5: no "does not explain"
    audited = sentences.speed_sentence(
        ours, ref, {"load_average": [2.06, 2.33, 3.15]}, {"load_average": [1.90, 1.79, 1.68]}
    )
    assert "does not explain" not in audited and "different loads" in audited
    assert "during this run, which may explain part of the gap" in audited
    crossed = sentences.speed_sentence(
        ours, ref, {"load_average": [1.0, 3.0]}, {"load_average": [3.0, 1.0]}
    )
    assert "which run was busier depends on the window" in crossed
    assert "onnxruntime fp32 1.18x here, 1.60x there" in similar
    assert f"{sentences.RECOMMENDED} 1.90x here, 2.14x there; every one is lower here" in similar
    busy = sentences.speed_sentence(
        ref, ours, {"load_average": [1.0, 1.0]}, {"load_average": [3.0, 3.0]}
    )
    assert "took more of the cores during the reference" in busy and "none is lower here" in busy
    half = speed_table([1.70, 2.00], 31.8).set_index("variant")
    assert "1 of 2 are lower here" in sentences.speed_sentence(half, ref, {}, {})


def test_repeat_timing_sentence_quotes_both_measurements_of_the_baseline(table):
    again = table.iloc[:1].assign(p50_ms=33.0)
    text = sentences.repeat_timing_sentence(table, again)
    assert "33.0 ms per batch-1 request at the median here and 30.0 ms in section 5" in text
    assert "moved by 10% between two measurements" in text


def test_int8_bytes_sentence_accounts_for_what_does_not_shrink():
    fp32 = {"weights": 65792, "biases": 1800, "scales": 0, "headers": 23769, "total": 91361}
    int8 = {"weights": 16448, "biases": 1800, "scales": 7356, "headers": 38413, "total": 64017}
    text = sentences.int8_bytes_sentence(fp32, int8, "tiny BERT")
    assert "weights go from 64.2 KB to 16.1 KB (25%)" in text
    assert "biases stay fp32 (1.8 KB)" in text and "per output channel (7.2 KB)" in text
    assert "headers (23.2 KB in fp32, 37.5 KB in int8)" in text
    assert "That rest is 74% of the int8 bytes, so int8 keeps 70%" in text
    big = {k: v * 1000 for k, v in int8.items()}
    assert "MB" in sentences.int8_bytes_sentence(fp32, big, "model")


def pruning_curve(amounts: list[float], speeds: list[float], f1: list[float]) -> pd.DataFrame:
    """A pruning table: the unpruned model, two magnitude rows, two head rows."""
    return pd.DataFrame({
        "method": ["none", "magnitude", "magnitude", "heads", "heads"],
        "amount": amounts, "questions_per_s": speeds, "f1": f1,
    })  # fmt: skip


def test_pruning_sentence_judges_head_rows_against_the_zeroed_spread():
    curve = pruning_curve(
        [0.0, 0.5, 0.9, 0.25, 0.5], [50.0, 49.0, 51.0, 57.0, 57.5], [72.0, 51.7, 7.4, 70.0, 60.0]
    )
    text = sentences.pruning_sentence(curve)
    assert "up to 90%" in text and "between 0.98x and 1.02x" in text and "to 7.4" in text
    assert "(0.98x to 1.02x, with the unpruned model) is this run's noise" in text
    assert "25% of the heads runs at 1.14x (faster than that noise), with F1 70.0 (-2.0)" in text
    assert "reference" not in text
    shown = curve.assign(f1=[72.04, 51.7, 7.4, 69.96, 72.01])
    text = sentences.pruning_sentence(shown)
    assert "F1 70.0 (-2.0)" in text and "F1 72.0 (unchanged at one decimal)" in text
    assert "differ by 0.01x, no more than that margin: this run cannot tell" in text
    noisy = curve.assign(questions_per_s=[50.0, 43.5, 55.5, 49.65, 49.9])
    text = sentences.pruning_sentence(noisy)
    assert "at 0.99x (within that noise)" in text and "cannot tell" in text
    apart = curve.assign(questions_per_s=[50.0, 49.0, 51.0, 57.0, 70.0])
    assert "more than that margin." in sentences.pruning_sentence(apart)
    single = sentences.pruning_sentence(curve.drop(index=[2, 4]))
    assert "at 0.98x the" in single and "differ by" not in single


def selection_file(best: tuple[float, float]) -> pd.DataFrame:
    """A `distillation_sizes.csv` of the validation check, whose best setting is `best`."""
    rows = [
        {"temperature": t, "alpha": a, "questions": 2000, "scored_on": "validation",
         "scored_questions": 1000, "distilled_f1": 50.0 + 5 * ((t, a) == best), "gain": 1.0}
        for t in (1.0, 2.0) for a in (0.5, 1.0)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_distillation_defaults_sentence_with_and_without_the_selection_file():
    alone = sentences.distillation_defaults_sentence(1.0, 1.0, None)
    assert "(T = 1, alpha = 1) the student learns from the teacher's distributions alone" in alone
    assert (
        "until the `distillation_sizes.csv` it writes to its `--out` folder is copied to" in alone
    )
    assert sentences.SELECTION_FILE in alone
    mixed = sentences.distillation_defaults_sentence(2.0, 0.5, selection_file((2.0, 0.5)))
    assert "weight 0.5 and the gold labels' 0.5" in mixed
    assert f"copied to `{sentences.SELECTION_FILE}`, holds 4 settings" in mixed
    assert "validation questions: the best distilled F1 (one pair each), 55.0, is at T = 2" in mixed
    assert mixed.endswith("alpha = 0.5, the defaults.")
    other = sentences.distillation_defaults_sentence(1.0, 1.0, selection_file((2.0, 0.5)))
    assert "not the defaults: they would need changing" in other


def test_distillation_defaults_sentence_weighs_the_settings_against_the_seed_noise():
    close = selection_file((1.0, 1.0)).assign(distilled_f1=[44.28, 44.69, 43.454, 43.96])
    text = sentences.distillation_defaults_sentence(1.0, 1.0, close, REFERENCE_PAIRS)
    assert "best distilled F1 (one pair each), 44.7, is at T = 1, alpha = 1, the defaults." in text
    assert "the 4 settings lie within 1.2 F1 of each other, against the 1.8 points" in text
    assert "between 3 draws of data and seed" in text and "does not separate them" in text
    assert "neither shows the defaults best nor gives ground to change them" in text
    moved = close.assign(distilled_f1=[44.28, 43.0, 43.45, 43.96])
    other = sentences.distillation_defaults_sentence(1.0, 1.0, moved, REFERENCE_PAIRS)
    assert "not the defaults." in other and "need changing" not in other
    apart = sentences.distillation_defaults_sentence(
        1.0, 1.0, selection_file((1.0, 1.0)), REFERENCE_PAIRS
    )
    assert "the gap is larger than that noise" in apart and "neither" not in apart
    repeated = pd.concat([close, close])
    text = sentences.distillation_defaults_sentence(1.0, 1.0, repeated, REFERENCE_PAIRS)
    assert "mean distilled F1" in text and "With one pair each" not in text


REFERENCE_PAIRS = pd.DataFrame({"gold_only_f1": [37.63, 35.77, 36.11], "gain": [3.21, 4.5, 3.77]})


def test_seed_spread_is_the_difference_of_the_values_shown():
    spread = sentences.seed_spread_sentence(REFERENCE_PAIRS, 1)
    assert "between F1 35.8 and 37.6 (1.8 points apart) over 3 draws of data and seed" in spread
    assert "trains one pair" in spread
    assert "trains 3 pairs" in sentences.seed_spread_sentence(None, 3)


@pytest.mark.parametrize(
    ("mean", "where", "size"),
    [
        (1.77, "below every one of the 3 pairs (+3.21 to +4.50) of the committed", "smaller than"),
        (3.5, "within the range of the 3 pairs", "larger than"),
        (5.0, "above every one of the 3 pairs", "larger than"),
    ],
)
def test_gain_sentence_compares_the_gain_with_the_reference_and_its_spread(mean, where, size):
    one = {"repeats": 1, "mean": mean, "min": mean, "max": mean}
    text = sentences.gain_sentence(one, 1.0, 1.0, REFERENCE_PAIRS)
    assert f"one pair the teacher added {mean:+.2f} F1, {where}" in text
    assert f"{size} the 1.8 F1 by which the gold-only student alone moves" in text
    assert "One pair shows the sign of one draw's difference" in text
    assert ("could come from the draw and the seed alone" in text) == (mean <= 1.8)
    three = {"repeats": 3, "mean": 3.8, "min": 3.2, "max": 4.5}
    many = sentences.gain_sentence(three, 1.0, 1.0, REFERENCE_PAIRS)
    assert "over 3 pairs" in many and "One pair shows" not in many
    assert sentences.gain_sentence(one, 1.0, 1.0).endswith(f"{mean:+.2f} F1.")


@pytest.mark.parametrize(
    ("mean", "verdict"),
    [
        (1.77, "the same sign, but within the 1.8 F1"),
        (2.5, "beyond the 1.8 F1 the gold-only student moves between draws: it supports"),
        (-0.4, "it does not support that for this model"),
    ],
)
def test_distillation_summary_rests_on_the_reference_and_weighs_this_pair(mean, verdict):
    one = {"repeats": 1, "mean": mean, "min": mean, "max": mean}
    meta = {"model": "runs/old/model"}
    text = sentences.distillation_summary(one, REFERENCE_PAIRS, meta, "/elsewhere/model")
    assert text.startswith("- In the committed reference (its teacher `runs/old/model`, a ")
    assert "different model) the distilled student beat the gold-only one in all 3 pairs" in text
    assert "+3.21 to +4.50 F1: distillation transfers more than the gold labels" in text
    assert f"This run's one pair gained {mean:+.2f}" in text and verdict in text
    losing = REFERENCE_PAIRS.assign(gain=[3.2, -0.5, 1.0])
    partial = sentences.distillation_summary(one, losing, meta, "/elsewhere/model")
    assert "in 2 of 3 pairs" in partial and "transfers more" not in partial
    assert "without a committed reference" in sentences.distillation_summary(one, None, None, "m")


def test_pairs_table_names_the_training_columns():
    shown = sentences.pairs_table(pd.DataFrame(columns=list(sentences.PAIR_COLUMNS)))
    assert "distilled train s" in shown.columns and "training windows" in shown.columns
    assert "distilled_s" not in shown.columns


@pytest.mark.parametrize(
    ("csr", "expected"),
    [([13.8, 7.1, 1.9], "overtakes it from 90% zeros"), ([13.8, 9.0, 5.0], "slower at every")],
)
def test_sparse_sentence_finds_the_crossing(csr, expected):
    timing = pd.DataFrame(
        {"sparsity": [0.0, 0.5, 0.9], "dense_ms": [2.75, 2.76, 3.04], "sparse_csr_ms": csr}
    )
    assert expected in sentences.sparse_sentence(timing)


def test_gpu_sentence_picks_the_fastest_gpu_row():
    rows = pd.DataFrame(
        {
            "dtype": ["fp32", "fp16", "bf16"],
            "batch_size": [16, 256, 64],
            "questions_per_s": [50.0, 4000.0, 3000.0],
            "speedup": [1.0, 80.0, 60.0],
            "f1_change": [0.0, -0.01, 0.02],
            "agreement_pct": [100.0, 99.5, 99.0],
        }
    )
    text = sentences.gpu_sentence(rows)
    assert "fp16 at batch 256, 4000 questions/s, 80.0x" in text and "99.5%" in text


def test_pruning_sentence_needs_a_margin_beyond_the_band_and_adds_the_reference():
    # the audited run: zeroed 0.92x to 1.02x, heads 1.08x and 0.99x
    curve = pruning_curve(
        [0.0, 0.3, 0.9, 0.25, 0.5], [33.9, 34.6, 31.1, 36.6, 33.7], [71.7, 68.2, 8.0, 71.7, 59.8]
    )
    reference = curve.assign(questions_per_s=[48.7, 49.6, 51.6, 55.4, 60.5])
    text = sentences.pruning_sentence(curve, reference)
    assert "1.08x (above that band by less than its width of 0.10x: not clearly faster)" in text
    assert "faster than that noise), with" not in text
    assert "0.99x (within that noise)" in text and "this run cannot tell" in text
    assert "The committed reference, in `benchmarks/reference/pruning.csv`" in text
    assert "zeroed models 1.00x to 1.06x" in text
    assert "25% of the heads removed 1.14x (faster than that noise)" in text
    slow = curve.assign(questions_per_s=[33.9, 34.6, 31.1, 25.0, 33.7])
    assert "0.74x (slower than that noise)" in sentences.pruning_sentence(slow)


def bench_rows() -> pd.DataFrame:
    """The six rows of the audited run's section 5 (speeds, F1 drops, memory)."""
    return pd.DataFrame(
        {
            "variant": [sentences.BASELINE, "pytorch int8 dynamic", "pytorch int8, sensitive fp32",
                        "onnxruntime fp32", "onnxruntime int8 dynamic", sentences.RECOMMENDED],
            "p50_ms": [38.2, 28.3, 31.5, 32.4, 17.8, 21.0],
            "batch1_speedup": [1.0, 1.35, 1.21, 1.18, 2.15, 1.82],
            "questions_per_s": [31.2, 52.6, 51.2, 25.9, 53.8, 44.4],
            "peak_extra_mb": [117.5, 107.3, 86.6, 280.0, 297.8, 301.8],
            "linear_mb": [40.6, 10.6, 17.3, 40.5, 10.2, 16.9],
            "size_mb": [86.1, 56.1, 62.8, 86.1, 55.9, 62.6],
            "f1": [71.7, 69.5, 71.3, 71.7, 69.2, 70.9],
            "f1_drop": [0.0, 2.15, 0.38, 0.0, 2.46, 0.78],
        }
    )  # fmt: skip


def test_batched_sentence_separates_latency_from_throughput():
    text = sentences.batched_sentence(bench_rows())
    assert "fp32 1.18x at batch 1, 0.83x batched" in text
    assert "every Linear layer in int8 1.59x at batch 1, 1.02x batched" in text
    assert "faster at batch 1 in 3 of 3 pairs; batched, it is slower in the **fp32** and " in text
    assert "and faster in the **every Linear layer in int8** pair." in text
    # ORT is faster batched in one pair, so its lead is not only in latency
    assert "its lead is in one question's latency" not in text and "reference" not in text
    assert "one pass per variant, one after another, measured under this run's load" in text
    assert "so the batched ratio below 1 of the **fp32** and **the sensitive" in text
    fast = bench_rows().assign(questions_per_s=[31.2, 52.6, 51.2, 40.0, 60.0, 60.0])
    both = sentences.batched_sentence(fast, bench_rows())
    assert "batched, it is faster in the **fp32**, **every Linear" in both
    assert "slower in" not in both and "may be that load" not in both
    assert "In the committed reference: fp32 1.18x" in both


def test_batched_sentence_concludes_on_latency_only_when_slower_batched_in_every_pair():
    slow = bench_rows().assign(questions_per_s=[31.2, 52.6, 51.2, 25.9, 50.0, 44.4])
    text = sentences.batched_sentence(slow)
    assert "slower batched in every one: its lead is in one question's latency" in text
    assert "may be that load rather than the backend." in text
    # the audited run: faster at batch 1 in all three pairs, slower batched in one only
    one = bench_rows().assign(questions_per_s=[31.2, 52.6, 51.2, 25.9, 60.0, 60.0])
    text = sentences.batched_sentence(one)
    assert "its lead is in one question's latency" not in text
    assert "slower in the **fp32** pair and faster in the **every Linear layer" in text
    # batched below 1 but batch-1 not above 1: no load caveat for that pair
    level = bench_rows().assign(p50_ms=[38.2, 28.3, 31.5, 38.2, 17.8, 21.0])
    assert "may be that load" not in sentences.batched_sentence(level.assign(
        questions_per_s=[31.2, 52.6, 51.2, 25.9, 60.0, 60.0]))  # fmt: skip


def test_reference_phrase_names_an_earlier_model_only_when_it_differs():
    meta = {"model": "runs/old/model"}
    assert sentences.reference_phrase("runs/old/model", meta) == "the committed reference"
    assert sentences.reference_phrase(None, meta) == "the committed reference"
    assert sentences.reference_phrase("runs/new/model", meta) == (
        "the committed reference (of an earlier model, `runs/old/model`, not this run's)"
    )
    assert "does not name" in sentences.reference_phrase("runs/new/model", {})
    earlier = "committed reference (of an earlier model, `runs/old/model`"
    rows = bench_rows()
    for text in (
        sentences.batched_sentence(rows, rows, meta, "runs/new/model"),
        sentences.peak_memory_sentence(rows, rows, meta, "runs/new/model"),
        sentences.seed_spread_sentence(REFERENCE_PAIRS, 1, meta, "runs/new/model"),
        sentences.gain_sentence(
            {"repeats": 1, "mean": 1.0, "min": 1.0, "max": 1.0},
            1.0,
            1.0,
            REFERENCE_PAIRS,
            meta,
            "runs/new/model",
        ),
    ):
        assert earlier in text
        assert "earlier model" not in text.replace(earlier, "")
    curve = pruning_curve(
        [0.0, 0.3, 0.9, 0.25, 0.5], [33.9, 34.6, 31.1, 36.6, 33.7], [71.7, 68.2, 8.0, 71.7, 59.8]
    )
    pruned = sentences.pruning_sentence(curve, curve, meta, "runs/new/model")
    assert f" The {earlier}" in pruned and "earlier" not in sentences.pruning_sentence(
        curve, curve, meta, "runs/old/model"
    )


def test_peak_memory_sentence_gives_ranges_per_backend():
    reference = bench_rows().assign(peak_extra_mb=[0.0, 0.1, 0.0, 108.0, 217.8, 219.6])
    text = sentences.peak_memory_sentence(bench_rows(), reference)
    assert "Here 86.6 to 117.5 MB for PyTorch and 280.0 to 301.8 MB for ONNX Runtime" in text
    assert "reference 0.0 to 0.1 MB for PyTorch and 108.0 to 219.6 MB" in text
    assert "`bench.peak_rss_mb`" in text and "not across runs" in text


def test_checks_sentence_explains_the_failed_best_ort_check():
    reference = bench_rows().assign(f1_drop=[0.0, 3.17, 0.76, 0.0, 0.71, -0.59])
    text = sentences.checks_sentence(bench_rows(), reference)
    assert "the fastest ONNX Runtime row, onnxruntime int8 dynamic (2.15x), lost 2.46 F1" in text
    assert f"so the best ORT row is {sentences.RECOMMENDED}, at 1.82x, under 2x" in text
    assert "the reference's onnxruntime int8 dynamic lost 0.71 F1" in text
    slow = bench_rows().assign(f1_drop=[0.0, 2.15, 0.38, 0.0, 0.5, 0.78])
    slow.loc[4, "batch1_speedup"] = 1.9
    assert "even the fastest ONNX Runtime row, onnxruntime int8 dynamic, runs at 1.90x" in (
        sentences.checks_sentence(slow)
    )
    fine = bench_rows().assign(f1_drop=[0.0, 2.15, 0.38, 0.0, 0.5, 0.78])
    assert sentences.checks_sentence(fine) == "Every int8 check passes on this run's table."
    worse = bench_rows().assign(f1_drop=[0.0, 2.15, 0.38, 0.0, 2.46, 1.5])
    worse.loc[5, ["batch1_speedup", "linear_mb"]] = [1.4, 30.0]
    text = sentences.checks_sentence(worse)
    assert (
        f"{sentences.RECOMMENDED} runs at 1.40x the baseline's batch-1 speed, under the 1.5x"
        in (text)
    )
    assert f"{sentences.RECOMMENDED}: F1 drop <= 1.0 lost" not in text
    assert f"{sentences.RECOMMENDED} lost 1.50 F1 against fp32" in text
    assert "keeps 0.74 of fp32's Linear bytes, over the 0.5 asked" in text


def test_students_sentence_compares_with_teacher_and_int8():
    students = pd.DataFrame(
        {
            "variant": [sentences.BASELINE, "student distilled", "student gold only"],
            "batch1_speedup": [1.0, 1.72, 1.80],
            "size_mb": [86.1, 65.8, 65.8],
            "f1": [71.7, 38.3, 35.1],
        }
    )
    text = sentences.students_sentence(students, bench_rows())
    assert "teacher (pytorch fp32, F1 71.7, 86.1 MB)" in text
    assert "student distilled 1.72x, F1 38.3; student gold only 1.80x, F1 35.1" in text
    assert "65.8 MB each" in text
    assert (
        "runs at 1.82x (each against its own table's fp32, timed minutes apart), with F1 -0.78"
        in (text)
    )
    assert "int8 gives up 0.80 F1 where the students give up 33.4 or more" in text
    assert "no lower than the slower student's" in text
    slow = bench_rows().assign(batch1_speedup=[1.0, 1.35, 1.21, 1.18, 2.15, 1.5])
    assert "slower student" not in sentences.students_sentence(students, slow)
