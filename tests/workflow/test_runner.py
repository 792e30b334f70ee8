"""The notebook runner: parameters reach the notebook, metrics come back, failures are named."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from qa_utils.core.data import load_squad
from qa_utils.project.config import get_profile
from qa_utils.training.train import train
from qa_utils.workflow.runner import (
    collect_summary,
    record_summary,
    refresh_explorer,
    run_all,
    select_notebooks,
    summary_html,
    summary_markdown,
    timing_header,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "mini_squad.json"


@pytest.mark.slow
def test_papermill_injects_parameters_and_the_notebook_records_metrics(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_SQUAD_DEV", str(FIXTURE))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    run_dir = tmp_path / "run"
    profile = get_profile("smoke", max_length=128, doc_stride=32)
    train(profile, load_squad(FIXTURE), run_dir / "model")
    code = run_all("smoke", run_dir, ["03"], {"DEV_QUESTIONS": 7}, folder=ROOT / "notebooks")
    assert code == 0
    recorded = json.loads((run_dir / "summaries" / "03_evaluation_metrics.json").read_text())
    assert recorded["questions"] == 7  # the injected value, not the profile's 32
    metrics = json.loads((run_dir / "eval" / "metrics.json").read_text())
    assert recorded["f1"] == round(metrics["f1"], 2)
    assert (run_dir / "notebooks" / "03_evaluation_metrics.html").is_file()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["notebooks"]["03_evaluation_metrics"]["questions"] == 7
    # the explorer of the 7 evaluated questions, linked from the summary pages
    assert summary["run"]["explorer"] == "explorer/index.html"
    assert explorer_questions(run_dir) == 7
    assert "[Prediction explorer](explorer/index.html)" in (run_dir / "summary.md").read_text()
    assert "href='explorer/index.html'" in (run_dir / "summary.html").read_text()


def explorer_questions(run_dir: Path) -> int:
    """How many questions the run's explorer shows (from its index data script)."""
    text = (run_dir / "explorer" / "data" / "index.js").read_text(encoding="utf-8")
    index = json.loads(text.removeprefix("window.EXPLORER_DATA = ").removesuffix(";\n"))
    return sum(article["questions"] for article in index["articles"])


def test_the_explorer_is_written_once_predictions_exist_and_kept_until_they_change(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("QA_SQUAD_DEV", str(ROOT / "tests" / "fixtures" / "analysis_squad.json"))
    run_dir = tmp_path / "run"
    assert refresh_explorer(run_dir, use_spacy=False) is None  # nothing evaluated yet
    predictions = run_dir / "eval" / "predictions.json"
    predictions.parent.mkdir(parents=True)
    predictions.write_text(json.dumps({"v1": "1902", "r2": "slate", "m4": "June"}))
    index = refresh_explorer(run_dir, use_spacy=False)
    assert index == run_dir / "explorer" / "index.html" and explorer_questions(run_dir) == 3
    written = index.stat().st_mtime_ns
    assert refresh_explorer(run_dir, use_spacy=False) == index
    assert index.stat().st_mtime_ns == written  # up to date: not rewritten


def test_summary_pages_link_the_explorer_and_escape_values():
    summary = {"03_evaluation_metrics": {"model": "<b>x</b>", "f1": 61.234}}
    header = {"profile": "smoke"}
    page = summary_html(summary, header, explorer=True)
    assert "<a href='explorer/index.html'>Prediction explorer</a>" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<td>61.23</td>" in page
    assert "href='notebooks/03_evaluation_metrics.html'" in page
    assert "(explorer/index.html)" in summary_markdown(summary, header, explorer=True)
    assert "explorer" not in summary_markdown(summary, header)


def _notebook(path: Path, *sources: str) -> None:
    notebook = new_notebook(cells=[new_code_cell(s) for s in sources])
    notebook.cells[0].metadata["tags"] = ["parameters"]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, path)


@pytest.mark.slow
def test_runner_stops_at_the_first_failing_notebook_and_names_its_cell(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_fine.ipynb", 'PROFILE = ""\nRUN_DIR = ""', "x = 1")
    _notebook(
        folder / "02_broken.ipynb",
        'PROFILE = ""\nRUN_DIR = ""',
        "y = 2",
        "raise RuntimeError('no model here')",
    )
    _notebook(folder / "03_never.ipynb", 'PROFILE = ""\nRUN_DIR = ""', "z = 3")
    code = run_all("smoke", tmp_path / "run", [], {}, folder=folder)
    assert code == 1
    error = capsys.readouterr().err
    assert "02_broken.ipynb failed at cell [" in error
    assert "RuntimeError: no model here" in error
    assert (tmp_path / "run" / "notebooks" / "01_fine.ipynb").is_file()
    assert not (tmp_path / "run" / "notebooks" / "03_never.ipynb").exists()


def test_summary_collects_each_notebooks_numbers(tmp_path):
    record_summary(tmp_path, "03_evaluation_metrics", {"f1": 61.234, "questions": 10})
    summary = collect_summary(tmp_path)
    assert summary == {"03_evaluation_metrics": {"f1": 61.234, "questions": 10}}
    page = summary_markdown(summary, {"profile": "smoke"})
    assert "| f1 | 61.23 |" in page and "**profile**: smoke" in page


def test_unknown_profile_is_rejected_by_the_command_line(capsys):
    from qa_utils.runner import main

    with pytest.raises(SystemExit):
        main(["--profile", "turbo"])
    assert "invalid choice: 'turbo'" in capsys.readouterr().err


def test_only_prefixes_must_each_match_a_notebook():
    folder = ROOT / "notebooks"
    assert [n.name[:2] for n in select_notebooks(["02", "05"], folder)] == ["02", "05"]
    assert len(select_notebooks([], folder)) == 7
    with pytest.raises(ValueError, match=r"--only 9 08: no such notebook \(have 01, 02, 03"):
        select_notebooks(["01", "9", "08"], folder)


def test_a_rerun_keeps_the_full_runs_times_and_records_its_own(tmp_path):
    first = timing_header(tmp_path, {"01_a": 10.0, "02_b": 20.0})
    assert first == {"notebook_seconds": {"01_a": 10.0, "02_b": 20.0}, "total_seconds": 30.0}
    (tmp_path / "summary.json").write_text(json.dumps({"run": first}), encoding="utf-8")
    again = timing_header(tmp_path, {"02_b": 2.5})
    assert again["notebook_seconds"] == {"01_a": 10.0, "02_b": 20.0}
    assert again["total_seconds"] == 30.0 and again["rerun_seconds"] == {"02_b": 2.5}
    (tmp_path / "summary.json").write_text(json.dumps({"run": again}), encoding="utf-8")
    third = timing_header(tmp_path, {"01_a": 11.0})
    assert third["rerun_seconds"] == {"01_a": 11.0, "02_b": 2.5}
    (tmp_path / "summary.json").write_text("{not json", encoding="utf-8")
    assert "rerun_seconds" not in timing_header(tmp_path, {"01_a": 1.0})
