import sys

from analysis_py.cli import main

sys.exit(main())
