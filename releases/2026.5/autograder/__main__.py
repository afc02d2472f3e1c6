"""``python -m autograder check NOTEBOOK``: the student self-check."""

import sys

from autograder.selfcheck import main

sys.exit(main())
