"""Live updates: the broker interface, its backends and per-socket writers (SPEC §7)."""
