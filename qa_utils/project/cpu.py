"""CPU settings for a machine shared with other processes: idle OpenMP threads should sleep.

PyTorch's CPU kernels run on OpenMP threads. By default an idle libgomp thread spins for a
while before it sleeps, which is fastest on a machine of its own; on a loaded one (a laptop,
CI, 2 cores shared with other jobs) a spinning thread holds the core the other thread needs,
and small model calls become many times slower. Measured on 2 shared cores (load average
about 5, nice 10), the embedded MiniLM answering one short question took 320-2200 ms with
the default policy and 23-30 ms with ``OMP_WAIT_POLICY=PASSIVE``; a batch of 64 long windows
took 20% less time.
"""

from __future__ import annotations

import os
import sys


def passive_openmp() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless it is set already; call before importing torch.

    Returns:
        Whether the setting can take effect: False when torch (hence OpenMP) is loaded already.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return "torch" not in sys.modules
