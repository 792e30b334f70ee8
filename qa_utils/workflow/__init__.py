"""Running the chapter: run folders (folder), the notebook runner (runner), publishing executed
notebooks (publish), and the analysis report written by `qa_utils analyse` (report)."""
