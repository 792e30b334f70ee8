"""Run the chapter's notebooks in order with papermill: `python -m qa_utils.runner --profile quick`.

Each run gets its own folder `runs/<profile>-<timestamp>/` holding the executed notebooks,
an HTML export of each, the figures, the model and evaluation files the notebooks write,
the prediction explorer (`explorer/index.html`, written as soon as a notebook has written
`eval/predictions.json`), and `summary.json` / `summary.md` / `summary.html` with each
notebook's key numbers and links to the explorer and the notebooks' HTML.
"""

from __future__ import annotations

import html
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from qa_utils.analysis.answer_types import load_spacy
from qa_utils.analysis.tables import InputFileError
from qa_utils.core.data import resolve_squad_source
from qa_utils.project.io import atomic_write_json, atomic_write_text
from qa_utils.project.paths import project_root
from qa_utils.project.system import hardware_info
from qa_utils.workflow.explore import explore, load_inputs

SUMMARIES = "summaries"


EXPLORER = "explorer/index.html"
"""The run's prediction explorer, relative to the run folder."""


EXPLORER_TEXT = "every evaluated question, its gold answers and the model's answer in the passage"


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


def summary_markdown(
    summary: dict[str, dict[str, Any]], header: dict[str, Any], explorer: bool = False
) -> str:
    """The summary as a readable Markdown page (linking the explorer when the run has one)."""
    lines = ["# Run summary", ""] + [f"- **{k}**: {v}" for k, v in header.items()] + [""]
    if explorer:
        lines += [f"[Prediction explorer]({EXPLORER}): {EXPLORER_TEXT}", ""]
    for notebook, values in summary.items():
        lines += [f"## {notebook}", "", "| key | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in values.items()] + [""]
    return "\n".join(lines)


def summary_html(
    summary: dict[str, dict[str, Any]], header: dict[str, Any], explorer: bool = False
) -> str:
    """The summary as an HTML page that links the explorer and each notebook's HTML export."""
    e = html.escape
    parts = [
        "<!doctype html><meta charset='utf-8'><title>Run summary</title>",
        "<h1>Run summary</h1>",
    ]
    parts += ["<ul>", *(f"<li><b>{e(k)}</b>: {e(str(v))}</li>" for k, v in header.items()), "</ul>"]
    if explorer:
        parts.append(f"<p><a href='{EXPLORER}'>Prediction explorer</a>: {e(EXPLORER_TEXT)}</p>")
    for notebook, values in summary.items():
        link = f"<a href='notebooks/{e(notebook)}.html'>{e(notebook)}</a>"
        rows = "".join(f"<tr><td>{e(k)}</td><td>{e(_fmt(v))}</td></tr>" for k, v in values.items())
        parts += [f"<h2>{link}</h2>", f"<table border='1'>{rows}</table>"]
    return "\n".join(parts) + "\n"


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def export_html(notebook: Path) -> Path:
    """Write an HTML copy of an executed notebook beside it."""
    # nbconvert and papermill load only when notebooks run (seconds; the summary needs none).
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    return atomic_write_text(notebook.with_suffix(".html"), body)


def run_notebook(source: Path, run_dir: Path, parameters: dict[str, Any]) -> float:
    """Execute one notebook into the run folder; return its wall time in seconds."""
    # See export_html: papermill loads only when notebooks run.
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
    # OpenMP's default wait policy, unless the caller exported OMP_WAIT_POLICY: the notebooks run
    # alone, and PASSIVE made quick training slower on idle cores (qa_utils.project.cpu).
    timings: dict[str, float] = {}
    header = {"profile": profile, "run_dir": run_dir.name, "started": datetime.now().isoformat()}
    header["omp_wait_policy"] = os.environ.get("OMP_WAIT_POLICY", "default")
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
        refresh_explorer(run_dir)
    header |= timing_header(run_dir, {k: round(v, 1) for k, v in timings.items()})
    header["hardware"] = hardware_info()
    summary = collect_summary(run_dir)
    explorer = (run_dir / EXPLORER).is_file()
    if explorer:
        header["explorer"] = EXPLORER
    atomic_write_json(run_dir / "summary.json", {"run": header, "notebooks": summary})
    atomic_write_text(run_dir / "summary.md", summary_markdown(summary, header, explorer))
    atomic_write_text(run_dir / "summary.html", summary_html(summary, header, explorer))
    print(f"run folder: {run_dir}")
    return 0


def timing_header(run_dir: Path, timings: dict[str, float]) -> dict[str, Any]:
    """Notebook times for the summary; a rerun in a finished folder keeps the full run's times.

    Rerunning some notebooks in a finished run folder (`--run-dir X --only 01`, after a fix to
    their text) reuses what the folder already holds (a trained model), so its times are not
    those of the whole sequence: `notebook_seconds` keeps the first complete run's times and
    `rerun_seconds` records the reruns' own.
    """
    earlier: dict[str, Any] = {}
    path = run_dir / "summary.json"
    if path.is_file():
        try:
            earlier = json.loads(path.read_text(encoding="utf-8"))["run"]
        except (OSError, ValueError, KeyError, TypeError):
            earlier = {}
    first = earlier.get("notebook_seconds") if isinstance(earlier, dict) else None
    if not isinstance(first, dict) or not first:
        return {"notebook_seconds": timings, "total_seconds": round(sum(timings.values()), 1)}
    seconds = first | {k: v for k, v in timings.items() if k not in first}
    rerun = (earlier.get("rerun_seconds") or {}) | {k: v for k, v in timings.items() if k in first}
    header: dict[str, Any] = {"notebook_seconds": dict(sorted(seconds.items()))}
    header["total_seconds"] = round(sum(seconds.values()), 1)
    if rerun:
        header["rerun_seconds"] = dict(sorted(rerun.items()))
    return header


def refresh_explorer(run_dir: Path, use_spacy: bool = True) -> Path | None:
    """Write the run's explorer when eval/predictions.json is newer than it; return its index.

    The run's notebooks may evaluate a subset of the dev set (the profile's dev_questions), so
    the explorer shows the questions that have a prediction. A failure is reported, not
    raised: the notebooks' results stand without their explorer. Answer types come from spaCy
    like notebook 04's (`use_spacy=False`: the rule-based typing).
    """
    predictions = run_dir / "eval" / "predictions.json"
    records = run_dir / "eval" / "records.parquet"
    index = run_dir / EXPLORER
    if not predictions.is_file():
        return None
    if index.is_file() and index.stat().st_mtime >= predictions.stat().st_mtime:
        return index
    try:
        dataset = Path(resolve_squad_source("validation"))
        found = records if records.is_file() else None
        inputs = load_inputs(dataset, predictions, records=found, only_predicted=True)
        site = explore(inputs, index.parent, load_spacy() if use_spacy else None)
    except (InputFileError, OSError, ValueError) as err:
        print(f"  explorer not written: {err}", file=sys.stderr, flush=True)
        return None
    print(f"  explorer: {site.questions} questions in {index}", flush=True)
    return index


def _relative(run_dir: Path) -> str:
    """The run folder relative to the project root when inside it (keeps notebooks path-free)."""
    try:
        return str(run_dir.resolve().relative_to(project_root()))
    except ValueError:
        return str(run_dir.resolve())
