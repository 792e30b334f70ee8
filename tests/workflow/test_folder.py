"""The run folder layout: derived folders, seed, and the project root from any subfolder."""

from __future__ import annotations

import datasets
import huggingface_hub
import pytest
from transformers.utils import logging as transformers_logging

from qa_utils.project.paths import project_root
from qa_utils.workflow.folder import setup_run


def test_setup_run_derives_folders_and_seed(tmp_path):
    run = setup_run("smoke", str(tmp_path / "run"), seed=3)
    assert run.profile.seed == 3
    assert run.dir == tmp_path / "run" and run.dir.is_dir()
    assert run.figures_dir.is_dir()
    assert run.model_dir == run.dir / "model"
    # the notebooks' own tables stay out of evaluate's folder, which it replaces as a whole
    assert run.tables_dir.is_dir() and run.tables_dir != run.eval_dir


def test_default_run_folder_is_under_the_project_from_any_subfolder(monkeypatch):
    root = project_root()
    monkeypatch.chdir(root / "notebooks")  # where Jupyter starts a notebook's kernel
    assert project_root() == root
    assert setup_run("smoke").dir == root / "runs" / "smoke"


@pytest.fixture
def bars_restored():
    """Turn the libraries' progress bars back on after a test that turns them off."""
    yield
    datasets.enable_progress_bars()
    transformers_logging.enable_progress_bar()


def test_setup_run_turns_off_the_libraries_progress_bars(tmp_path, bars_restored):
    datasets.enable_progress_bars()
    transformers_logging.enable_progress_bar()
    setup_run("smoke", str(tmp_path / "run"))
    assert datasets.are_progress_bars_disabled()
    assert not transformers_logging.is_progress_bar_enabled()
    assert huggingface_hub.utils.are_progress_bars_disabled()
