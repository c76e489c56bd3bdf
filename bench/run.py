"""Entry point of ``make bench``: ``.venv/bin/python bench/run.py [--quick] [--duration S] [--rounds N]``.

See bench/README.md and ``bench/main.py``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.main import main

if __name__ == "__main__":
    sys.exit(main())
