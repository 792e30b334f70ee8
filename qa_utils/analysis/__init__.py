"""What the per-example table says: answer types, slices, tables of metrics with intervals,
and the statistics they rest on (bootstrap, paired tests, calibration)."""
