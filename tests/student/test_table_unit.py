"""autograder/student/table.py on its own: the terminal's tables and points as every
view of a grade shows them."""

from autograder.student.table import format_table, points


def test_columns_are_padded_to_their_widest_cell_with_a_rule_under_the_header():
    assert format_table(["student", "score"], [["ada", "3/4"], ["bartholomew", 12]]).splitlines() == [
        "student      score", "-----------  -----", "ada          3/4", "bartholomew  12"]


def test_points_say_what_a_person_has_still_to_grade():
    assert points(72.0, 74.0) == "72/74"
    assert points(1.5, 4, by_hand=2) == "1.5/4 (2 to grade by hand)"
