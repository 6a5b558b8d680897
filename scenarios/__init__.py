"""Paper scenarios for the ``irsjax`` CLI (registered as ``irsjax.scenarios`` entry points)."""
