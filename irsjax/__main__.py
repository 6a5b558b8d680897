"""``python -m irsjax ...`` is the ``irsjax`` command."""
from irsjax.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
