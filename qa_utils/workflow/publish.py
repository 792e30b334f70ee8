"""Copy executed notebooks into `notebooks/` for readers: `python -m qa_utils.publish RUN_DIR`.

The committed notebooks carry the outputs of a real run, but not its traces: papermill's
injected-parameters cell and metadata, progress bars (stderr and widget outputs) and any output
that shows a machine path. The parameters cell keeps its defaults, so the notebook still runs
top to bottom in JupyterLab as committed. The run's `summary.json` (each notebook's recorded
numbers and wall time, the hardware) is committed beside them as
`docs/results/published_run.json`, from which the README's run figures are generated
(`qa_utils.workflow.readme`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from qa_utils.project.io import atomic_write_json, atomic_write_text
from qa_utils.project.paths import project_root

MACHINE_PATH = re.compile(r"(?<![\w.])/(work|root|home|tmp|Users|var|opt)/")

WIDGET = "application/vnd.jupyter.widget-view+json"


def keep_output(output: dict) -> bool:
    """False for progress bars (stderr, widgets) and for outputs that show a machine path."""
    if output.get("name") == "stderr" or WIDGET in output.get("data", {}):
        return False
    text = output.get("text", "") + "".join(
        v if isinstance(v, str) else "".join(v)
        for k, v in output.get("data", {}).items()
        if k.startswith("text/")
    )
    return not MACHINE_PATH.search(text)


def strip_run_traces(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook without papermill's traces and unpublishable outputs (changed in place)."""
    notebook.cells = [
        c for c in notebook.cells if "injected-parameters" not in c.metadata.get("tags", [])
    ]
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if keep_output(o)]
    return notebook


def publish(
    run_dir: str | Path, target: str | Path | None = None, summary: str | Path | None = None
) -> list[Path]:
    """Write the run's executed notebooks, stripped, over the ones in `target`.

    With `summary` (a file path), the run's `summary.json` is written there too. Every input is
    read and checked before anything is written, and each file is written atomically: an
    unreadable notebook or summary changes nothing.
    """
    sources = sorted((Path(run_dir) / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"{run_dir}: no executed notebooks under notebooks/")
    folder = Path(target or project_root() / "notebooks")
    stripped = {source.name: strip_run_traces(read_notebook(source)) for source in sources}
    recorded = run_summary(run_dir) if summary else None
    written = [atomic_write_text(folder / name, notebook_text(nb)) for name, nb in stripped.items()]
    if summary:
        written.append(atomic_write_json(summary, recorded))
    return written


def notebook_text(notebook: nbformat.NotebookNode) -> str:
    """The notebook as `nbformat.write` writes it (JSON ending in a newline)."""
    return nbformat.writes(notebook).rstrip("\n") + "\n"


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, naming the file when it is not one."""
    try:
        return nbformat.read(path, as_version=4)
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise ValueError(f"{path}: not a readable notebook ({err})") from None


def run_summary(run_dir: str | Path) -> dict:
    """The run's summary.json (written by `run` when every notebook has run), checked.

    Raises:
        ValueError: the file is missing, not JSON, or lacks the per-notebook wall times.
    """
    path = Path(run_dir) / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable run summary ({err})") from None
    if not isinstance(summary, dict) or "notebook_seconds" not in summary.get("run", {}):
        raise ValueError(f"{path}: field run.notebook_seconds missing (not written by `run`?)")
    return summary
