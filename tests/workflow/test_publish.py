"""Publishing executed notebooks: papermill traces and unpublishable outputs are removed."""

from __future__ import annotations

import json

import nbformat
import pytest

from qa_utils import cli
from qa_utils.workflow import publish


def executed_notebook() -> nbformat.NotebookNode:
    params = nbformat.v4.new_code_cell("SEED = 0", metadata={"tags": ["parameters"]})
    injected = nbformat.v4.new_code_cell("SEED = 1", metadata={"tags": ["injected-parameters"]})
    work = nbformat.v4.new_code_cell("print(1)", metadata={"papermill": {"duration": 1.0}})
    work.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="F1 71.2\n"),
        nbformat.v4.new_output("stream", name="stderr", text="100%|####| 5/5\n"),
        nbformat.v4.new_output("stream", name="stdout", text="saved /work/main/runs/x\n"),
        nbformat.v4.new_output(
            "display_data", data={publish.WIDGET: {"model_id": "a"}, "text/plain": "bar"}
        ),
        nbformat.v4.new_output("execute_result", data={"text/plain": "'runs/quick/model'"}),
    ]
    notebook = nbformat.v4.new_notebook(cells=[params, injected, work])
    notebook.metadata["papermill"] = {"parameters": {"SEED": 1}}
    return notebook


def test_traces_progress_bars_and_machine_paths_are_dropped(tmp_path):
    folder = tmp_path / "run" / "notebooks"
    folder.mkdir(parents=True)
    nbformat.write(executed_notebook(), folder / "01_demo.ipynb")
    (written,) = publish.publish(tmp_path / "run", tmp_path)
    notebook = nbformat.read(written, as_version=4)
    assert [c.source for c in notebook.cells] == ["SEED = 0", "print(1)"]
    assert "papermill" not in notebook.metadata
    assert "papermill" not in notebook.cells[1].metadata
    kept = notebook.cells[1].outputs
    assert [o.get("text") or o["data"]["text/plain"] for o in kept] == [
        "F1 71.2\n",
        "'runs/quick/model'",
    ]


def test_a_folder_without_executed_notebooks_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no executed notebooks"):
        publish.publish(tmp_path, tmp_path)
    assert cli.main(["publish", str(tmp_path)]) == 2
    assert "no executed notebooks" in capsys.readouterr().err


def test_an_unreadable_notebook_changes_nothing_in_the_target(tmp_path):
    folder = tmp_path / "run" / "notebooks"
    folder.mkdir(parents=True)
    nbformat.write(executed_notebook(), folder / "01_demo.ipynb")
    (folder / "02_broken.ipynb").write_text('{"cells": [')  # cut off while copying
    target = tmp_path / "notebooks"
    target.mkdir()
    (target / "01_demo.ipynb").write_text("the committed notebook")
    with pytest.raises(ValueError, match=r"02_broken.ipynb: not a readable notebook"):
        publish.publish(tmp_path / "run", target)
    assert (target / "01_demo.ipynb").read_text() == "the committed notebook"
    assert [p.name for p in target.iterdir()] == ["01_demo.ipynb"]  # no temporary files


def test_the_run_summary_is_published_beside_the_notebooks(tmp_path):
    run = tmp_path / "run"
    (run / "notebooks").mkdir(parents=True)
    nbformat.write(executed_notebook(), run / "notebooks" / "01_demo.ipynb")
    summary = {"run": {"notebook_seconds": {"01_demo": 1.5}}, "notebooks": {"01_demo": {"f1": 1}}}
    (run / "summary.json").write_text(json.dumps(summary))
    target = tmp_path / "docs" / "published_run.json"
    written = publish.publish(run, tmp_path / "notebooks", target)
    assert written[-1] == target and json.loads(target.read_text()) == summary


@pytest.mark.parametrize(
    ("summary", "message"),
    [(None, "not a readable run summary"), ({"run": {}}, "field run.notebook_seconds missing")],
)
def test_a_run_without_a_usable_summary_publishes_nothing(tmp_path, summary, message):
    run = tmp_path / "run"
    (run / "notebooks").mkdir(parents=True)
    nbformat.write(executed_notebook(), run / "notebooks" / "01_demo.ipynb")
    if summary is not None:
        (run / "summary.json").write_text(json.dumps(summary))
    target = tmp_path / "notebooks"
    with pytest.raises(ValueError, match=message):
        publish.publish(run, target, tmp_path / "published_run.json")
    assert not target.exists() and not (tmp_path / "published_run.json").exists()
