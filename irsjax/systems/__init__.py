"""System models: the physics of one realisation, pure and per-sample (no batching)."""
