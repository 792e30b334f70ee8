"""Kept so that `python -m qa_utils.metrics DATASET PREDICTIONS` works like the official script.

The metrics live in `qa_utils.core.metrics` (re-exported here for old imports); the command is
`python -m qa_utils score`.
"""

import sys

from qa_utils.cli import command_main
from qa_utils.core.metrics import *  # noqa: F403

main = command_main("score")

if __name__ == "__main__":
    sys.exit(main())
