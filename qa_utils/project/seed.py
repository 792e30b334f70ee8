"""The project's one seeding helper."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and PyTorch so that a run can be repeated.

    Samplers still take their own explicit seed; this covers everything else
    (weight initialisation, dropout, shuffling inside libraries).
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
