"""`python -m analysis_py`: the xp command line."""

import sys

from analysis_py.cli import main

sys.exit(main())
