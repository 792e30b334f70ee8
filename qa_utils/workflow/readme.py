"""The README's results, generated from committed result files: `python -m qa_utils publish --readme`.

A generated block sits between two markers in README.md::

    <!-- generated:NAME -->
    ...text written by the renderer registered as NAME...
    <!-- /generated:NAME -->

Each renderer reads committed files only (`benchmarks/reference/*`, the published run's summary)
and returns the block's text, so a figure in the README cannot drift from its source: the
README-sync test renders every block and fails when the committed README differs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from qa_utils.project.paths import REPO_ROOT

BLOCK = re.compile(
    r"(<!-- generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /generated:(?P=name) -->)", re.S
)

Renderer = Callable[[Path], str]
RENDERERS: dict[str, Renderer] = {}
"""Block name -> function of the repository root returning the block's text."""


def renderer(name: str) -> Callable[[Renderer], Renderer]:
    """Register a function as the renderer of the README block `name`."""

    def register(function: Renderer) -> Renderer:
        RENDERERS[name] = function
        return function

    return register


def render_readme(text: str, root: Path = REPO_ROOT) -> str:
    """`text` with every generated block re-rendered from the files under `root`."""

    def fill(match: re.Match) -> str:
        name = match["name"]
        if name not in RENDERERS:
            raise KeyError(f"README.md: block {name!r} has no renderer in qa_utils.workflow.readme")
        body = RENDERERS[name](root).rstrip("\n") + "\n"
        return match[1] + body + match[4]

    return BLOCK.sub(fill, text)


@renderer("unanswerable")
def unanswerable_block(root: Path) -> str:
    """The four-way SQuAD 2.0 comparison (`benchmarks/reference/unanswerable.csv`)."""
    # The chapter module loads torch; only this block needs it.
    from qa_utils.chapter.unanswerable import comparison_table, reference_comparison

    rows = reference_comparison(root / "benchmarks" / "reference")
    if rows is None:
        return "_No committed comparison yet (`benchmarks/reference/unanswerable.csv`)._"
    overall = rows[rows["group"] == "all"].drop_duplicates("way").set_index("way")
    table = comparison_table(rows).drop(columns="questions")
    started = overall["start"].fillna("").astype(str)
    table["trained on (unanswerable)"] = [
        f"{int(n):,} ({int(u):,})" + (f", from the {s}" if s else "")
        for n, u, s in zip(
            overall["train_questions"], overall["train_unanswerable"], started, strict=True
        )
    ]
    n = int(overall["n"].iloc[0])
    note = (
        f"F1 on {n:,} questions of the report half (articles no way trained or tuned on), "
        "95% bootstrap intervals; threshold: null score minus best span score (inf: never "
        "abstains), chosen on the validation slice."
    )
    return table.to_markdown() + "\n\n" + note
