"""The `analyse` report's figures: the comparison figure knows the resamples behind its p."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from qa_utils.analysis.tables import compare_tables
from qa_utils.workflow.report import figure_makers


def test_comparison_figure_labels_the_p_value_floor_of_its_resamples():
    rng = np.random.default_rng(0)
    ours = pd.DataFrame({"id": [f"q{i}" for i in range(60)], "em": rng.choice([0.0, 100.0], 60)})
    ours["f1"] = ours["em"]
    comparison = compare_tables(ours, ours.assign(em=0.0, f1=0.0), 50)
    result = SimpleNamespace(overall=pd.DataFrame({"em": [50.0], "f1": [50.0]}),
                             calibration=None, ece=None)  # fmt: skip
    for resamples, label in ((50, "p ≤ 0.02"), (1000, "p = 0.020")):
        fig = figure_makers(result, comparison, ("a", "b"), resamples)["comparison"]()
        drawn = " ".join(t.get_text() for t in fig.axes[0].texts)
        plt.close(fig)
        assert label in drawn, (resamples, drawn)
