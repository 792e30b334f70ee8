"""Robustness: perturbations that keep the gold answer valid (perturb), scoring a model under
them (probes), and scores by article and topic (shift)."""
