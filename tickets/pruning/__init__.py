"""Pruning building blocks: masks, layer-ratio rules (`RATIOS`), scorers (`SCORERS`) and sanity
checks (`CHECKS`). Methods (`METHODS`) are recipes over these, in `tickets.pruning.methods`.

Import the submodules directly (`from tickets.pruning.ratios import keep_counts`); this package
file imports nothing heavy so the CLI stays light."""
