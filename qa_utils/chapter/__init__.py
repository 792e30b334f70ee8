"""Helpers that exist for one notebook of the chapter: classic metrics on a classification
task (concepts), n-gram perplexity (lm), data lengths (curves), published scores (reference),
the sentences notebook 05 renders from its measurements (optimize) and those of notebook 06's
distribution-shift part (shift)."""
