"""The README's shift block is rendered from the committed benchmark tables, never typed."""

from __future__ import annotations

import pandas as pd

from qa_utils.workflow.readme import RENDERERS, render_readme


def write_reference(root, er_low: float) -> None:
    """Committed shift.csv and shift_trend.csv of a two-set run under `root`."""
    folder = root / "benchmarks" / "reference"
    folder.mkdir(parents=True)
    pd.DataFrame({
        "set": ["squad/dev", "squadshifts/reddit"], "n": [10570, 9803],
        "em": [60.0, 40.0], "em_low": [59.0, 39.0], "em_high": [61.0, 41.0],
        "f1": [72.0, 55.5], "f1_low": [71.0, 54.5], "f1_high": [73.0, 56.5],
        "drop": [0.0, 16.5], "drop_low": [0.0, 15.1], "drop_high": [0.0, 17.9],
        "questions_per_second": [45.0, 38.25],
    }).to_csv(folder / "shift.csv", index=False)  # fmt: skip
    pd.DataFrame({
        "set": ["squadshifts/reddit"], "models": [63], "predicted": [51.25], "er": [4.25],
        "er_low": [er_low], "er_high": [6.0],
    }).to_csv(folder / "shift_trend.csv", index=False)  # fmt: skip
    meta = '{"total_s": 1138.2, "load_average": {"start": 5.67, "end": 6.5}}'
    (folder / "shift_meta.json").write_text(meta)


def test_the_shift_block_shows_every_set_its_er_and_the_verdict(tmp_path):
    write_reference(tmp_path, er_low=2.5)
    text = RENDERERS["shift"](tmp_path)
    assert "| squadshifts/reddit | 9,803 | 40.00 [39.00, 41.00] | 55.50 [54.50, 56.50] " in text
    assert "| 16.50 [15.10, 17.90] | 51.25 | +4.25 [+2.50, +6.00] | 38.2 |" in text
    assert "| squad/dev | 10,570 |" in text
    assert "more robust than its SQuAD F1 predicts on squadshifts/reddit" in text
    assert "the 20,373 questions in 19 minutes" in text and "(load average 5.7 at" in text
    assert "(63 to 63 models per set" in text and "shift_trend.png" in text


def test_the_block_follows_the_files_not_the_readme(tmp_path):
    write_reference(tmp_path, er_low=-1.0)
    stale = "<!-- generated:shift -->\nmore robust than typed by hand\n<!-- /generated:shift -->"
    rendered = " ".join(render_readme(stale, tmp_path).split())  # the README wraps prose
    unclear = "not measurably more or less robust (the interval holds 0) than its SQuAD F1"
    assert f"{unclear} predicts on squadshifts/reddit" in rendered
    assert "typed by hand" not in rendered
