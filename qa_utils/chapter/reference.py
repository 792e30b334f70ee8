"""Published SQuAD v1.1 dev-set scores, to put our own numbers in context."""

from __future__ import annotations

import pandas as pd

# (system, EM, F1) on the SQuAD v1.1 development set.
PUBLISHED = (
    ("BERT-base (Devlin et al., 2019)", 80.8, 88.5),
    ("DistilBERT (Sanh et al., 2019)", 77.7, 85.8),
    ("Human (Rajpurkar et al., 2016)", 80.3, 90.5),
)


def published_table(exact_match: float, f1: float, label: str) -> pd.DataFrame:
    """Our EM/F1 in a table with the published reference numbers."""
    rows = [*PUBLISHED, (label, round(exact_match, 2), round(f1, 2))]
    return pd.DataFrame(rows, columns=["system", "exact_match", "f1"])
