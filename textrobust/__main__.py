"""``python -m textrobust`` (also under ``accelerate launch -m textrobust`` and ``torchrun -m``)."""

import sys

from textrobust.cli import main

if __name__ == "__main__":
    sys.exit(main())
