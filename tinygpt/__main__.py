"""`python -m tinygpt COMMAND ...` runs the package CLI."""

import sys

from tinygpt.cli import main

sys.exit(main())
