"""Helpers that exist for one notebook of the chapter: classic metrics on a classification
task (concepts), n-gram perplexity (lm), data lengths (curves), published scores (reference),
the SQuAD 2.0 dev split and four-way comparison (unanswerable, shared with its benchmark)."""
