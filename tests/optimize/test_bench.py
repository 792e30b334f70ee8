"""The benchmark harness: same questions for every variant, one table, one plot, metadata."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from qa_utils import plots
from qa_utils.core.data import load_squad
from qa_utils.core.model import load_tokenizer
from qa_utils.optimize import bench, quantize
from qa_utils.optimize import onnx as onnx_tools
from qa_utils.project.config import get_profile


@pytest.fixture(scope="module")
def profile():
    return get_profile("smoke", eval_batch_size=8)


@pytest.fixture(scope="module")
def workload(profile):
    examples = load_squad("tests/fixtures/mini_squad.json").select(range(6))
    return bench.make_workload(examples, load_tokenizer("embedded"), profile, n_requests=4)


@pytest.fixture(scope="module")
def variants(tiny_bert):
    model = tiny_bert(max_positions=256)
    return [
        bench.torch_variant("fp32", model),
        bench.torch_variant("int8", quantize.quantize_int8(model)),
    ]


@pytest.fixture(scope="module")
def results(variants, workload, profile):
    return bench.benchmark(variants, workload, profile, n_requests=6, warmup=1)


def test_workload_has_one_request_per_question_with_all_its_windows(workload):
    assert len(workload.requests) == 4
    for question_id, request in zip(workload.examples["id"], workload.requests, strict=False):
        assert set(request["example_id"]) == {question_id}
    assert sum(len(r) for r in workload.requests) <= len(workload.features)


@pytest.mark.slow
def test_interleaved_latencies_time_every_request_of_every_variant(variants, workload):
    times = bench.interleaved_latencies(
        variants, workload.requests, n_requests=7, warmup=0, block=3
    )
    assert {name: len(t) for name, t in times.items()} == {"fp32": 7, "int8": 7}
    assert all(t > 0 for ts in times.values() for t in ts)


@pytest.mark.slow
def test_results_table_has_one_row_per_variant_relative_to_the_first(results):
    table, answers = results
    assert list(table["variant"]) == ["fp32", "int8"]
    expected = {
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "batch1_qps",
        "questions_per_s",
        "size_mb",
        "linear_mb",
        "parameters",
        "nonzero_parameters",
        "peak_extra_mb",
        "exact_match",
        "f1",
        "batch1_speedup",
        "f1_drop",
        "agreement_pct",
    }
    assert expected <= set(table.columns)
    assert table.loc[0, "batch1_speedup"] == 1.0
    assert table.loc[0, "agreement_pct"] == 100.0
    assert (table["p50_ms"] <= table["p99_ms"]).all()
    assert table.loc[1, "linear_mb"] < table.loc[0, "linear_mb"]
    assert set(answers["fp32"]) == set(answers["int8"])


@pytest.mark.slow
def test_onnx_variant_is_measured_beside_pytorch_with_the_same_answers(
    variants, workload, profile, tmp_path
):
    path = onnx_tools.export_onnx(variants[0].model, tmp_path / "m.onnx")
    variant = bench.onnx_variant("ort", path, variants[0].model.config, threads=1)
    assert variant.size_mb == pytest.approx(path.stat().st_size / bench.MB)
    assert variant.parameters == pytest.approx(variants[0].parameters, rel=0.01)
    table, _ = bench.benchmark([variants[0], variant], workload, profile, n_requests=2, warmup=0)
    assert table.loc[1, "agreement_pct"] == 100.0
    assert table.loc[1, "f1_drop"] == pytest.approx(0.0)


def test_peak_memory_sees_a_large_allocation():
    result, peak = bench.peak_rss_mb(lambda: float(torch.ones(64 * 1024 * 1024 // 4).sum()))
    assert result == 64 * 1024 * 1024 // 4
    assert peak > 32


@pytest.mark.slow
def test_write_bench_writes_csv_markdown_and_metadata(results, profile, tmp_path):
    table, _ = results
    meta = bench.bench_metadata(profile, n_questions=6, n_requests=6)
    paths = bench.write_bench(table, tmp_path, meta, stem="b")
    assert pd.read_csv(paths["csv"])["variant"].tolist() == ["fp32", "int8"]
    assert paths["md"].read_text(encoding="utf-8").startswith("| variant")
    saved = json.loads(paths["meta"].read_text(encoding="utf-8"))
    assert {"hardware", "versions", "torch_threads"} <= set(saved)
    assert saved["hardware"]["cpu_count"] >= 1
    assert bench.reference_results("b", tmp_path)["variant"].tolist() == ["fp32", "int8"]
    assert bench.reference_results("missing", tmp_path) is None


def test_reference_metadata_and_checks(tmp_path):
    (tmp_path / "b_meta.json").write_text('{"load_average": [4.0, 3.0, 2.0]}')
    (tmp_path / "b_checks.txt").write_text("kept: [a]\nPASS  x >= 1: 2\nFAIL  y <= 1: 3\n")
    assert bench.reference_metadata("b", tmp_path)["load_average"][0] == 4.0
    assert bench.reference_checks("b", tmp_path) == ["PASS  x >= 1: 2", "FAIL  y <= 1: 3"]
    assert bench.reference_metadata("c", tmp_path) is None
    assert bench.reference_checks("c", tmp_path) is None


@pytest.mark.slow
def test_tradeoff_plot_is_a_fixed_size_figure(results):
    figure = plots.plot_tradeoff(results[0])
    assert isinstance(figure, Figure)
    assert tuple(figure.get_size_inches()) == plots.SIZES["single"]
    assert len(figure.axes[0].texts) == 2


@pytest.mark.slow
def test_f1_scorer_gives_the_batched_f1_of_a_model(variants, workload, profile, results):
    table, _ = results
    score = bench.f1_scorer(workload, profile)
    for variant in variants:
        expected = table.set_index("variant").loc[variant.name, "f1"]
        assert score(variant.name, variant.model) == pytest.approx(expected)


def checks_table(recommended_speedup: float, dynamic_drop: float) -> pd.DataFrame:
    """A results table with the rows the acceptance checks read."""
    return pd.DataFrame(
        {
            "variant": [
                bench.BASELINE,
                "onnxruntime fp32",
                "onnxruntime int8 dynamic",
                bench.RECOMMENDED,
            ],
            "batch1_speedup": [1.0, 1.2, 2.4, recommended_speedup],
            "f1_drop": [0.0, 0.0, dynamic_drop, 0.5],
            "linear_mb": [40.0, 40.0, 10.0, 17.0],
        }
    )


def test_acceptance_checks_the_recommended_and_the_best_ort_variant():
    lines = bench.acceptance(checks_table(1.9, 0.7))
    assert lines == [
        f"PASS  {bench.RECOMMENDED}: batch-1 speedup >= 1.5: 1.90",
        f"PASS  {bench.RECOMMENDED}: F1 drop <= 1.0: 0.50",
        f"PASS  {bench.RECOMMENDED}: Linear bytes / fp32 <= 0.5: 0.42",
        "PASS  best ORT (onnxruntime int8 dynamic): batch-1 speedup >= 2: 2.40",
        "PASS  best ORT (onnxruntime int8 dynamic): F1 drop <= 1.0: 0.70",
    ]
    # The fastest ORT variant loses too much F1: the best is the fastest one within a point.
    lossy = bench.acceptance(checks_table(1.9, 2.5))
    assert f"FAIL  best ORT ({bench.RECOMMENDED}): batch-1 speedup >= 2: 1.90" in lossy
    assert bench.best_ort(checks_table(1.4, 2.5)).name == bench.RECOMMENDED
    assert bench.acceptance(checks_table(1.4, 0.7))[0].startswith("FAIL")


def test_acceptance_adds_the_distillation_gain_in_every_pair():
    pairs = pd.DataFrame({"gain": [3.0, 1.5]})
    lines = bench.acceptance(checks_table(1.9, 0.7), pairs)
    assert lines[-2:] == [
        "PASS  distilled - gold-only student F1 >= 2 (mean of 2 pairs): 2.25",
        "FAIL  ... and in every pair (smallest gain): 1.50",
    ]
    one = bench.check_lines(bench.distillation_checks(pd.DataFrame({"gain": [1.77]})))
    assert one[0] == "FAIL  distilled - gold-only student F1 >= 2 (mean of 1 pair): 1.77"
    assert len(bench.acceptance(checks_table(1.9, 0.7), pd.DataFrame())) == 5


def test_acceptance_reproduces_the_committed_reference_lines():
    table, pairs = bench.reference_results(), bench.reference_results("distillation")
    committed = bench.reference_checks()
    if table is None or pairs is None or committed is None:
        pytest.skip("no committed reference run")
    assert bench.acceptance(table, pairs) == committed


def test_linear_byte_parts_add_up_and_int8_shrinks_only_the_weights(tiny_bert):
    model = tiny_bert()
    quantized = quantize.quantize_int8(model)
    fp32, int8 = bench.linear_byte_parts(model), bench.linear_byte_parts(quantized)
    assert fp32["total"] == quantize.linear_bytes(model)
    assert int8["total"] == quantize.linear_bytes(quantized)
    for parts in (fp32, int8):
        assert sum(parts[k] for k in ("weights", "biases", "scales", "headers")) == parts["total"]
        assert parts["headers"] > 0
    assert int8["weights"] * 4 == fp32["weights"]
    assert int8["biases"] == fp32["biases"] > 0
    assert fp32["scales"] == 0 < int8["scales"]
