"""Online evaluation: the HTTP service (app, harness), replaying a question stream against it
with delayed feedback (replay), and detecting a drop in quality (drift)."""
