"""Kept so that `python -m qa_utils.runner` still works:

Run the notebooks; see `python -m qa_utils run`.
"""

import sys

from qa_utils.cli import command_main

main = command_main("run")

if __name__ == "__main__":
    sys.exit(main())
