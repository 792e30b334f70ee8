"""CPU settings for a machine shared with other processes: idle OpenMP threads should sleep.

PyTorch's CPU kernels run on OpenMP threads. By default an idle libgomp thread spins for a
while before it sleeps, which is fastest on a machine of its own; on a loaded one (a laptop,
CI, 2 cores shared with other jobs) a spinning thread holds the core the other thread needs,
and small model calls become many times slower. Measured on 2 shared cores (load average
about 5, nice 10), the embedded MiniLM answering one short question took 320-2200 ms with
the default policy and 23-30 ms with ``OMP_WAIT_POLICY=PASSIVE``; a batch of 64 long windows
took 20% less time.

On cores of its own the default is faster for heavy work, by how much is not settled: 40
quick-profile training steps (640 questions) took 88 s with the default policy, 89 s with ACTIVE
and 122 s with PASSIVE (`python -m qa_utils train --profile quick --train-questions 640
--dev-questions 16`, once each, 2026-11-30), but another process's tests overlapped the PASSIVE
run; the two full quick trainings of that day ran at 2.4 s per step with PASSIVE and 2.27 s with
the default, each beside light load. So the notebook runner leaves the default (the notebooks
run alone), while the CLI's `serve` and the benchmarks that share the machine with a load
generator set PASSIVE.
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
