"""``python -m clln_theory``: the ``clln-theory`` command (`clln_theory.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
