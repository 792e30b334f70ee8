"""Atomic writes, the seed helper and the run folder layout."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
import torch

from qa_utils.project.io import atomic_write_json, atomic_write_table, read_table
from qa_utils.project.paths import project_root
from qa_utils.project.seed import set_seed
from qa_utils.workflow.folder import setup_run


def test_set_seed_repeats_every_generator():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    set_seed(7)
    first = draw()
    set_seed(7)
    assert draw() == first
    set_seed(8)
    assert draw() != first


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.json"
    atomic_write_json(target, {"f1": 1.0})
    with pytest.raises(TypeError):
        atomic_write_json(target, {"f1": object()})
    assert json.loads(target.read_text()) == {"f1": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary left behind


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_tables_round_trip(tmp_path, suffix):
    table = pd.DataFrame({"id": ["a", "b"], "f1": [100.0, 50.0]})
    path = atomic_write_table(tmp_path / f"records{suffix}", table)
    pd.testing.assert_frame_equal(read_table(path), table)


def test_unknown_table_format_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unsupported table format '.xlsx'"):
        atomic_write_table(tmp_path / "t.xlsx", pd.DataFrame({"a": [1]}))


def test_setup_run_derives_folders_and_seed(tmp_path):
    run = setup_run("smoke", str(tmp_path / "run"), seed=3)
    assert run.profile.seed == 3
    assert run.dir == tmp_path / "run" and run.dir.is_dir()
    assert run.figures_dir.is_dir()
    assert run.model_dir == run.dir / "model"


def test_default_run_folder_is_under_the_project_from_any_subfolder(monkeypatch):
    root = project_root()
    monkeypatch.chdir(root / "notebooks")  # where Jupyter starts a notebook's kernel
    assert project_root() == root
    assert setup_run("smoke").dir == root / "runs" / "smoke"
