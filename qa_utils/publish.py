"""Kept so that `python -m qa_utils.publish` still works:

Publish a run's notebooks; see `python -m qa_utils publish`.
"""

import sys

from qa_utils.cli import command_main

main = command_main("publish")

if __name__ == "__main__":
    sys.exit(main())
