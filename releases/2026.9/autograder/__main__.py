"""``python -m autograder check NOTEBOOK``: the student's self-check, the same in the
repository and in a release (the instructor's commands are ``firstmlp``)."""

import sys

from autograder.student.selfcheck import main

sys.exit(main())
