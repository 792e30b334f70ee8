"""GPU rows: skipped without CUDA; the dtype x batch matrix runs (on the CPU) through `infer`."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from qa_utils.core.data import load_squad
from qa_utils.core.model import load_tokenizer
from qa_utils.optimize import bench, gpu
from qa_utils.project.config import get_profile
from qa_utils.project.paths import project_root


@pytest.fixture(scope="module")
def settings():
    return get_profile("smoke", eval_batch_size=2).inference


@pytest.fixture(scope="module")
def workload(settings):
    examples = load_squad("tests/fixtures/mini_squad.json").select(range(4))
    profile = get_profile("smoke")
    return bench.make_workload(examples, load_tokenizer("embedded"), profile, n_requests=0)


@pytest.fixture
def calls(monkeypatch):
    """Every `infer` call of the gpu module: (model device, autocast dtype, batch size)."""
    seen = []
    real = gpu.infer

    def spy(model, tokenizer, examples, settings, **kwargs):
        seen.append((model.device.type, kwargs.get("autocast_dtype"), settings.batch_size))
        return real(model, tokenizer, examples, settings, **kwargs)

    monkeypatch.setattr(gpu, "infer", spy)
    return seen


def test_without_cuda_nothing_runs(monkeypatch, tiny_bert, workload, settings, calls):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu.cuda_device() is None
    assert gpu.gpu_table(tiny_bert(max_positions=256), workload, settings) is None
    assert calls == []


def test_cuda_is_chosen_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert gpu.cuda_device() == "cuda"


def test_matrix_runs_every_dtype_and_batch_after_the_cpu_row(tiny_bert, workload, settings, calls):
    model = tiny_bert(max_positions=256)
    table = gpu.gpu_table(model, workload, settings, device="cpu")
    factors = gpu.BATCH_FACTORS
    expected = [("cpu", None, 2)] + [
        ("cpu", dtype, 2 * f) for dtype in gpu.DTYPES.values() for f in factors
    ]
    assert calls == expected
    assert list(table["dtype"]) == ["fp32"] + [d for d in gpu.DTYPES for _ in factors]
    assert list(table["batch_size"]) == [2] + [2 * f for _ in gpu.DTYPES for f in factors]
    first = table.iloc[0]
    assert (first["speedup"], first["f1_change"], first["agreement_pct"]) == (1.0, 0.0, 100.0)
    assert (table["questions_per_s"] > 0).all()
    # fp32 at another batch size answers exactly as the CPU row: batching changes no answer.
    assert (table[table["dtype"] == "fp32"]["agreement_pct"] == 100.0).all()


def test_model_is_back_on_the_cpu_after_the_matrix(tiny_bert, workload, settings, monkeypatch):
    model = tiny_bert(max_positions=256)
    moves = []
    real_to = model.to
    monkeypatch.setattr(model, "to", lambda device: moves.append(device) or real_to(device))
    gpu.device_table(model, workload, settings, "cpu")
    assert moves[-1] == "cpu"


def test_benchmark_prints_no_cuda_and_exits_0(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    path = project_root() / "benchmarks" / "gpu.py"
    spec = importlib.util.spec_from_file_location("benchmark_gpu", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--model", "embedded", "--out", "/nonexistent/never-written"]) == 0
    assert capsys.readouterr().out.strip() == module.NO_CUDA
