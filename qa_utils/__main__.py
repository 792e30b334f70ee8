"""`python -m qa_utils COMMAND ...`: see `qa_utils.cli`."""

import sys

from qa_utils.cli import main

sys.exit(main())
