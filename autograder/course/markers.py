"""The marker lines of a source notebook, defined once for the build, the leak scan,
the grader and the feedback: nbgrader's solution and hidden-test regions and the stub
it leaves in a student's cell.

A region runs from its BEGIN line to its END line, both whole lines that may be
indented; text after BEGIN on its line is allowed (nbgrader's own regex allows it).
"""

import re

SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_TESTS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
ALL = (*SOLUTION, *HIDDEN_TESTS)
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def region_pattern(markers):
    """Each region of ``markers``: group 1 is its inside; the match ends with the END
    line's newline when there is one."""
    begin, end = (re.escape(m) for m in markers)
    return re.compile(rf"^[ \t]*{begin}[^\n]*\n(.*?)^[ \t]*{end}[ \t]*(?:\n|\Z)", re.M | re.S)


SOLUTION_REGION = region_pattern(SOLUTION)
HIDDEN_REGION = region_pattern(HIDDEN_TESTS)


def is_marker_line(line):
    return line.strip() in ALL
