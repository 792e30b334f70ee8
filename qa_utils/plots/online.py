"""The figure of notebook 06's online evaluation: a replayed question stream that shifts.

"Rolling quality, latency and the drift alarm": three panels on the stream position of the
curves from `qa_utils.serving.replay.online_curves`, rolling EM/F1 under delayed feedback, the
CUSUM statistic of `qa_utils.serving.drift` with its threshold, and latency percentiles with
throughput, with the shift and the alarm marked on each.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from qa_utils.plots.style import new_figure


def plot_online(
    curves: pd.DataFrame,
    shift_at: int | None = None,
    alarm_at: int | None = None,
    threshold: float | None = None,
) -> Figure:
    """Rolling EM/F1, the CUSUM statistic, and latency/throughput along the stream."""
    fig, (quality, cusum, speed) = new_figure("tall", 3, 1, sharex=True)
    quality.plot(curves["seq"], curves["f1"], label="F1")
    quality.plot(curves["seq"], curves["em"], label="EM", alpha=0.7)
    quality.set(
        ylabel="rolling score (%)", ylim=(0, 100), title="Online quality (delayed feedback)"
    )
    cusum.plot(curves["seq"], curves["cusum"], color="tab:purple", label="CUSUM statistic")
    if threshold is not None:
        cusum.axhline(threshold, color="tab:red", linestyle=":", label="threshold h")
    cusum.set(ylabel="CUSUM (std units)")
    speed.plot(curves["seq"], curves["latency_p50"], label="latency p50")
    speed.plot(curves["seq"], curves["latency_p95"], label="latency p95")
    speed.set(ylabel="latency (ms)", xlabel="request (position in the stream)")
    rate = speed.twinx()
    rate.plot(
        curves["seq"], curves["throughput_rps"], color="tab:green", alpha=0.5, label="throughput"
    )
    rate.set_ylabel("requests / s")
    for ax in (quality, cusum, speed):
        if shift_at is not None:
            ax.axvline(shift_at, color="black", linestyle="--", label="shift starts")
        if alarm_at is not None:
            ax.axvline(alarm_at, color="tab:red", label="drift alarm")
        ax.legend(loc="lower left", fontsize=8)
    rate.legend(loc="lower right", fontsize=8)
    return fig
