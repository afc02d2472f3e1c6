"""autograder/course/markers.py on its own: a region runs from its BEGIN line to its END
line, both whole lines that may be indented, with text allowed after BEGIN (as
nbgrader's own regex); what is not a whole marker line is no region."""

from autograder.course.markers import HIDDEN_REGION, SOLUTION_REGION, is_marker_line


def test_regions_are_whole_lines_indented_or_not_with_text_after_begin():
    source = ("def f(x):\n    ### BEGIN SOLUTION  (model answer)\n    return x\n"
              "    ### END SOLUTION\nprint(f(1))")
    (inside,) = SOLUTION_REGION.findall(source)
    assert inside == "    return x\n"
    assert SOLUTION_REGION.sub("", source) == "def f(x):\nprint(f(1))"


def test_a_hidden_region_at_the_end_without_a_newline_is_cut_whole():
    source = "check(f)\n### BEGIN HIDDEN TESTS\ncheck(f, seed=7)\n### END HIDDEN TESTS"
    assert HIDDEN_REGION.sub("", source) == "check(f)\n"


def test_a_marker_inside_a_line_or_a_string_is_no_region():
    source = 'print("### BEGIN HIDDEN TESTS")\nx = 1\nprint("### END HIDDEN TESTS")\n'
    assert HIDDEN_REGION.sub("", source) == source
    assert is_marker_line("   ### END SOLUTION  ") and not is_marker_line("# ### END SOLUTION")
