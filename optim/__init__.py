"""Optimisers for IRS phase, power and beamformer design (imports irsjax, never the reverse)."""
