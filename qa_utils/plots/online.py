"""Online evaluation of a served model: replay a question stream, score delayed feedback, drift.

A replay client sends the questions of a stream to a running `qa_utils.serve` service at a
controlled rate (open loop: request i is due at i / rate seconds, whatever happened to the
earlier ones), from a bounded pool of client threads, for at most `max_requests` requests and
`max_seconds` seconds. Gold answers come back as delayed feedback: the answer to request i
is known once request i + D has been sent, as labels trickle in after the fact in a real
service. From the log this module derives, per position in the stream:

- rolling EM/F1 over the last `window` requests whose feedback has arrived (official
  `exact_match_score` / `f1_score`, in percent), so quality curves lag by D requests;
- rolling latency percentiles (p50, p95) over the last `window` requests, and throughput
  (completed requests per second over the last few seconds);
- the one-sided CUSUM of `qa_utils.drift` on per-request F1: an alarm at feedback index j is
  raised at stream position j + D, so the detection delay in requests is D plus the
  detector's own delay (about h / (delta - k) shifted scores, see `qa_utils.drift`).

A stream can switch in the middle to perturbed questions (`make_stream` with a perturbation
from `qa_utils.robustness`) to watch the curves move and the detector fire.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure


ONLINE_SIZE = (10.0, 9.0)


def plot_online(
    curves: pd.DataFrame,
    shift_at: int | None = None,
    alarm_at: int | None = None,
    threshold: float | None = None,
) -> Figure:
    """Rolling EM/F1, the CUSUM statistic, and latency/throughput along the stream."""
    import matplotlib.pyplot as plt

    fig, (quality, cusum, speed) = plt.subplots(3, 1, figsize=ONLINE_SIZE, sharex=True)
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
    fig.tight_layout()
    return fig
