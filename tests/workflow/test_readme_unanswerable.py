"""Tests for the README's SQuAD 2.0 block (qa_utils.workflow.readme.unanswerable_block)."""

from __future__ import annotations

import math

import pandas as pd

from qa_utils.workflow.readme import render_readme, unanswerable_block


def _reference(root) -> None:
    """A committed comparison of two ways, as benchmarks/unanswerable.py writes it."""
    rows = []
    for way, threshold, start, trained, unanswerable in (
        ("v1.1 model, never abstains", math.inf, None, 16000, 0),
        ("route (a)", -1.25, "v1.1 model", 3000, 1000),
    ):
        for group, f1 in (("all", 61.04), ("HasAns", 70.0), ("NoAns", 52.0)):
            rows.append(
                {"way": way, "group": group, "n": 3000, "f1": f1, "f1_low": f1 - 1.5}
                | {"f1_high": f1 + 1.5, "threshold": threshold, "abstained": 0.25}
                | {"start": start, "train_questions": trained, "train_unanswerable": unanswerable}
            )
    folder = root / "benchmarks" / "reference"
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / "unanswerable.csv", index=False)


def test_block_tabulates_the_committed_comparison(tmp_path):
    _reference(tmp_path)
    block = unanswerable_block(tmp_path)
    assert "| route (a) " in block and "61.0 [59.5, 62.5]" in block and "52.0 [50.5, 53.5]" in block
    assert "3,000 (1,000), from the v1.1 model" in block and "| 16,000 (0) " in block
    assert "F1 on 3,000 questions of the report half" in block


def test_block_says_when_nothing_is_committed(tmp_path):
    assert "No committed comparison yet" in unanswerable_block(tmp_path)


def test_render_readme_fills_the_block(tmp_path):
    _reference(tmp_path)
    text = "x\n<!-- generated:unanswerable -->\nSTALE\n<!-- /generated:unanswerable -->\ny\n"
    rendered = render_readme(text, tmp_path)
    assert "STALE" not in rendered and "| route (a) " in rendered and rendered.endswith("-->\ny\n")
