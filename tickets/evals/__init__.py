"""Evaluations of trained networks beyond test accuracy (the Random Pruning paper's §5): calibration,
out-of-distribution detection and adversarial robustness. Each runs as its own `eval` stage on a
finished training stage (see `tickets.domain`); `specs` declares them, `run` executes one, `metrics`,
`oodsets`, `attacks` and `figures` hold the parts. Importing this package imports no torch."""
