"""Kept so that `python -m qa_utils.analysis DATASET PREDICTIONS --out DIR` still works.

It runs `python -m qa_utils analyse` without importing the command line from this lower stage.
"""

import runpy
import sys

sys.argv[1:1] = ["analyse"]
runpy.run_module("qa_utils", run_name="__main__")
