"""Structured pruning: choose whole channels, then rebuild a physically smaller network.

    kept = select.l1_kept(model, counts)            # or slimming_kept / uniform_counts
    small, entries = rebuild.rebuild(model, name, info, kept)

`rebuild` (channel groups -> sliced state dict), `select` (which channels: L1-norm, BN scales, uniform),
`cost` (parameters and multiply-accumulates), `penalty` (network slimming's L1 on BN scales),
`presets` (the per-layer ratios of Li et al. as used by "Rethinking the Value of Network Pruning")."""
