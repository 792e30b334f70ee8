"""Run the chapter's notebooks in order with papermill: `python -m qa_utils.runner --profile quick`.

Each run gets its own folder `runs/<profile>-<timestamp>/` holding the executed notebooks,
an HTML export of each, the figures, the model and evaluation files the notebooks write,
and `summary.json` / `summary.md` with each notebook's key numbers.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from qa_utils.project.cpu import passive_openmp
from qa_utils.project.io import atomic_write_json, atomic_write_text
from qa_utils.project.paths import project_root

SUMMARIES = "summaries"


def notebooks(folder: Path | None = None) -> list[Path]:
    """The chapter's notebooks, in reading order (NN_name.ipynb)."""
    folder = folder or project_root() / "notebooks"
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def select_notebooks(only: list[str], folder: Path | None = None) -> list[Path]:
    """The notebooks to run: all, or those starting with one of `only`, each prefix matching.

    Raises:
        ValueError: a prefix matches no notebook (a typo would otherwise run nothing, status 0).
    """
    found = notebooks(folder)
    if not found:
        raise ValueError(f"{folder or project_root() / 'notebooks'}: no notebooks (NN_name.ipynb)")
    unmatched = [o for o in only if not any(n.name.startswith(o) for n in found)]
    if unmatched:
        have = ", ".join(n.name[:2] for n in found)
        raise ValueError(f"--only {' '.join(unmatched)}: no such notebook (have {have})")
    return [n for n in found if not only or any(n.name.startswith(o) for o in only)]


def record_summary(run_dir: str | Path, notebook: str, values: dict[str, Any]) -> None:
    """Called by a notebook to leave its key numbers for the run's summary."""
    atomic_write_json(Path(run_dir) / SUMMARIES / f"{notebook}.json", values)


def collect_summary(run_dir: Path) -> dict[str, dict[str, Any]]:
    """All notebooks' recorded numbers, by notebook name."""
    files = sorted((run_dir / SUMMARIES).glob("*.json"))
    return {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in files}


def summary_markdown(summary: dict[str, dict[str, Any]], header: dict[str, Any]) -> str:
    """The summary as a readable Markdown page."""
    lines = ["# Run summary", ""] + [f"- **{k}**: {v}" for k, v in header.items()] + [""]
    for notebook, values in summary.items():
        lines += [f"## {notebook}", "", "| key | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in values.items()] + [""]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def export_html(notebook: Path) -> Path:
    """Write an HTML copy of an executed notebook beside it."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    return atomic_write_text(notebook.with_suffix(".html"), body)


def run_notebook(source: Path, run_dir: Path, parameters: dict[str, Any]) -> float:
    """Execute one notebook into the run folder; return its wall time in seconds."""
    import papermill

    target = run_dir / "notebooks" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    papermill.execute_notebook(
        str(source),
        str(target),
        parameters=parameters,
        cwd=str(source.parent),
        progress_bar=False,
        kernel_name="python3",
    )
    seconds = time.perf_counter() - started
    export_html(target)
    return seconds


def failure_message(source: Path, err: Exception) -> str:
    """Name the notebook and the cell that failed, in one line."""
    cell = getattr(err, "exec_count", None)
    kind = getattr(err, "ename", type(err).__name__)
    detail = getattr(err, "evalue", str(err))
    where = f"cell [{cell}]" if cell is not None else "start-up"
    return f"{source.name} failed at {where}: {kind}: {detail}"


def run_all(
    profile: str,
    run_dir: Path,
    only: list[str],
    extra: dict[str, Any],
    folder: Path | None = None,
) -> int:
    """Run the notebooks in order; stop at the first failure. Returns a process exit code."""
    chosen = select_notebooks(only, folder)
    passive_openmp()  # inherited by every kernel: idle torch threads sleep instead of spinning
    timings: dict[str, float] = {}
    header = {"profile": profile, "run_dir": run_dir.name, "started": datetime.now().isoformat()}
    for source in chosen:
        print(f"running {source.name} ...", flush=True)
        try:
            timings[source.stem] = run_notebook(
                source, run_dir, {"PROFILE": profile, "RUN_DIR": _relative(run_dir), **extra}
            )
        except Exception as err:  # papermill raises its own error type with the failing cell
            print(failure_message(source, err), file=sys.stderr)
            return 1
        print(f"  done in {timings[source.stem]:.0f} s", flush=True)
    header["notebook_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    header["total_seconds"] = round(sum(timings.values()), 1)
    summary = collect_summary(run_dir)
    atomic_write_json(run_dir / "summary.json", {"run": header, "notebooks": summary})
    atomic_write_text(run_dir / "summary.md", summary_markdown(summary, header))
    print(f"run folder: {run_dir}")
    return 0


def _relative(run_dir: Path) -> str:
    """The run folder relative to the project root when inside it (keeps notebooks path-free)."""
    try:
        return str(run_dir.resolve().relative_to(project_root()))
    except ValueError:
        return str(run_dir.resolve())
