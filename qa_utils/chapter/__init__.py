"""Helpers that exist for one notebook of the chapter: classic metrics on a classification
task (concepts), n-gram perplexity (lm), data lengths (curves), published scores and one
question's windows (reference), the sentences notebook 05 renders from its measurements
(optimize), those of notebook 06's distribution-shift part (shift), and the SQuAD 2.0 dev split
and four-way comparison (unanswerable, shared with its benchmark)."""
