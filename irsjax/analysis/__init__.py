"""Closed-form and numerical analytical results of the papers, in JAX."""
