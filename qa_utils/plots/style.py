"""The one figure style of the project: a few named sizes, one DPI, one way to save.

Every plot helper in `qa_utils.plots` starts its figure with `new_figure`, so a figure's size
is one of `SIZES` and its layout is matplotlib's constrained layout; notebooks and reports
write figures with `save_figure`, so every PNG has the same DPI and is written atomically.
Figures come from pyplot, and `register_png_display` gives IPython one PNG rendering of every
Figure (the same DPI as the saved files), so `display(fig)` shows a picture in every notebook
whatever matplotlib backend the kernel has (inline, or Agg on a headless machine).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from qa_utils.project.io import atomic_path

SIZES: dict[str, tuple[float, float]] = {
    "single": (8.0, 4.5),  # one axes: bars, lines, a scatter
    "wide": (12.0, 4.5),  # a row of panels, or one axes with many bars
    "tall": (8.0, 9.0),  # panels stacked on a shared x axis
    "square": (9.0, 8.0),  # a matrix (heatmap, confusion matrix) with its row labels
    "grid": (16.0, 9.0),  # a 2 x 4 grid of panels
}
DPI = 100


def new_figure(size: str, nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Figure, Any]:
    """A pyplot figure of a named size with constrained layout, and its axes.

    Args:
        size: A key of `SIZES`.
        nrows: Rows of axes.
        ncols: Columns of axes.
        **kwargs: Passed on to `plt.subplots` (sharex, height_ratios, ...).

    Returns:
        The figure and its axes: one Axes, or an array of them as `plt.subplots` gives.
    """
    if size not in SIZES:
        raise ValueError(f"unknown figure size {size!r}; use one of {sorted(SIZES)}")
    return plt.subplots(nrows, ncols, figsize=SIZES[size], dpi=DPI, layout="constrained", **kwargs)


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write `fig` as a PNG at `DPI` to `path` atomically, close it, and return the path.

    A closed figure can still be shown (`display(fig)` in a notebook), but pyplot forgets it,
    so it is not shown twice and does not hold memory.
    """
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    plt.close(fig)
    return Path(path)


def png_bytes(fig: Figure) -> bytes:
    """`fig` as PNG bytes at `DPI`, as `save_figure` writes it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    return buffer.getvalue()


def register_png_display(shell: Any = None) -> bool:
    """Make IPython show every Figure as a PNG (`png_bytes`), whatever the matplotlib backend.

    The inline backend registers its own PNG formatter, but a kernel started with another
    backend (MPLBACKEND=Agg) would show `<Figure size ...>` text instead of the picture.

    Args:
        shell: the IPython shell; None takes the running one.

    Returns:
        Whether a shell was found (False outside IPython: nothing to do).
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # IPython is optional outside notebooks
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.formatters["image/png"].for_type(Figure, png_bytes)
    return True


register_png_display()
