import os

os.environ.setdefault("XLA_FLAGS", os.environ.get("XLA_FLAGS", ""))
os.environ.setdefault("MPLBACKEND", "Agg")
