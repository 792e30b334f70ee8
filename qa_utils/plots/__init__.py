"""Every figure of the project: one module per subject, one style for all of them.

A plot helper takes a table made elsewhere in `qa_utils` and returns a matplotlib Figure of
one of the fixed sizes of `style` (which also owns the DPI); a notebook shows it and keeps it
with `save_figure(fig, run.figures_dir / NAME)`. Modules: `concepts` (notebooks 01 and 03),
`training` (02), `analysis` (04 and the `analyse` report), `optimize` (05), `robustness`,
`shift` and `online` (06), `unanswerable` (SQuAD 2.0 in the `analyse` report). They import
from lower stages of the package; nothing below `qa_utils.workflow` imports them.
"""

from qa_utils.plots.adapt import plot_adaptation
from qa_utils.plots.analysis import (
    plot_answer_type_confusion,
    plot_comparison,
    plot_error_categories,
    plot_reliability,
    plot_slice,
    plot_slice_grid,
)
from qa_utils.plots.concepts import (
    plot_against_published,
    plot_confusion,
    plot_cv_compare,
    plot_perplexity_curve,
    plot_prevalence_sweep,
    plot_simulated_online,
)
from qa_utils.plots.online import plot_online
from qa_utils.plots.optimize import plot_pruning, plot_tradeoff
from qa_utils.plots.robustness import plot_robustness
from qa_utils.plots.shift import plot_domain_slices, plot_shift_trend
from qa_utils.plots.style import DPI, SIZES, new_figure, save_figure
from qa_utils.plots.training import plot_learning_curves, plot_lengths, plot_training_curve
from qa_utils.plots.unanswerable import (
    plot_abstain_confusion,
    plot_coverage_risk,
    plot_threshold_curve,
)

__all__ = [
    "DPI",
    "SIZES",
    "new_figure",
    "plot_abstain_confusion",
    "plot_adaptation",
    "plot_against_published",
    "plot_answer_type_confusion",
    "plot_comparison",
    "plot_confusion",
    "plot_coverage_risk",
    "plot_cv_compare",
    "plot_domain_slices",
    "plot_error_categories",
    "plot_learning_curves",
    "plot_lengths",
    "plot_online",
    "plot_perplexity_curve",
    "plot_prevalence_sweep",
    "plot_pruning",
    "plot_reliability",
    "plot_robustness",
    "plot_shift_trend",
    "plot_simulated_online",
    "plot_slice",
    "plot_slice_grid",
    "plot_threshold_curve",
    "plot_tradeoff",
    "plot_training_curve",
    "save_figure",
]
