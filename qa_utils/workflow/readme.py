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


def _interval(value: float, low: float, high: float, sign: str = "") -> str:
    """'71.21 [69.90, 72.50]' (with sign '+', '+1.20 [-0.40, +2.80]')."""
    return f"{value:{sign}.2f} [{low:{sign}.2f}, {high:{sign}.2f}]"


@renderer("shift")
def render_shift(root: Path) -> str:
    """The SQuADShifts table and effective robustness of `benchmarks/shift.py`'s committed run."""
    import json

    import pandas as pd

    from qa_utils.analysis.trend import verdict

    folder = root / "benchmarks" / "reference"
    table = pd.read_csv(folder / "shift.csv")
    trend = pd.read_csv(folder / "shift_trend.csv").set_index("set")
    lines = [
        "| set | questions | EM [95% CI] | F1 [95% CI] | F1 drop against SQuAD dev [95% CI] "
        "| the published line predicts | effective robustness [95% CI] | questions/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        er = trend.loc[r.set] if r.set in trend.index else None
        lines.append(
            f"| {r.set} | {r.n:,} | {_interval(r.em, r.em_low, r.em_high)} "
            f"| {_interval(r.f1, r.f1_low, r.f1_high)} "
            f"| {'' if er is None else _interval(r.drop, r.drop_low, r.drop_high)} "
            f"| {'' if er is None else f'{er.predicted:.2f}'} "
            f"| {'' if er is None else _interval(er.er, er.er_low, er.er_high, '+')} "
            f"| {r.questions_per_second:.1f} |"
        )
    verdicts = "; ".join(
        f"{verdict(r.er_low, r.er_high)} its SQuAD F1 predicts on {name}"
        for name, r in trend.iterrows()
    )
    meta = json.loads((folder / "shift_meta.json").read_text())
    load = meta["load_average"]
    return "\n".join(lines) + (
        "\n\nAgainst the trend of the published models with a SQuAD v1.1 score "
        f"({trend['models'].min()} to {trend['models'].max()} per set; a line fitted per set on "
        f"logit-transformed F1), the quick model is {verdicts}. The model answered the "
        f"{table['n'].sum():,} questions in {meta['total_s'] / 60:.0f} minutes on the 2-core "
        f"Xeon while other jobs ran (load average {load['start']:.1f} at the start, "
        f"{load['end']:.1f} at the end)."
        "\n\n![Shifted F1 against SQuAD F1: published models, their trend and the quick model]"
        "(benchmarks/reference/shift_trend.png)\n"
    )
