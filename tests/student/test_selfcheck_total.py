"""The self-check's total is the grade table's: every point of the notebook in the
denominator, written answers (graded by hand) named beside it, not left out."""

import nbformat

from autograder.student.selfcheck import check_notebook, markdown_report, report


def graded_cell(cell, grade_id, points):
    cell.metadata["nbgrader"] = {"grade": True, "solution": cell.cell_type == "markdown",
                                 "grade_id": grade_id, "points": points, "locked": False,
                                 "schema_version": 3}
    return cell


def test_a_notebook_worth_10_with_a_written_point_says_9_of_10(tmp_path):
    path = tmp_path / "n.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[
        graded_cell(nbformat.v4.new_code_cell("assert 6 * 7 == 42"), "test_ok", 9),
        graded_cell(nbformat.v4.new_markdown_cell("Because it is linear."), "q_why", 1)]),
        str(path))
    results = check_notebook(path)
    text = report(path, results)
    assert "Points from the visible tests: 9/10 (1 to grade by hand)." in text
    assert text.endswith("Written answers (1 point) are graded by hand.")
    assert markdown_report(path, results).startswith(
        "### n.ipynb: 9/10 (1 to grade by hand) points (visible tests)")
