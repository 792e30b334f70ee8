"""Kept so that `python -m qa_utils.serve` still works:

Serve a model over HTTP; see `python -m qa_utils serve`.
"""

import sys

from qa_utils.cli import command_main

main = command_main("serve")

if __name__ == "__main__":
    sys.exit(main())
