"""Helpers only the tests use (moved out of autograder/, which ships no test-only code):
a submission's per-cell scores from the gradebook, and stock nbgrader's grading of the
reference and the blank release as two students."""

from pathlib import Path

import nbformat

from autograder.course import nbgrader_course  # its functions looked up when called: patchable
from autograder.course.course_dir import CourseDir


def cell_scores(course_dir, assignment, student):
    """{grade_id: (score, max_score)} for every graded cell of one submission."""
    from nbgrader.api import Gradebook

    with Gradebook(CourseDir(course_dir).gradebook_url) as gradebook:
        notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.score, g.max_score) for g in notebook.grades}


REFERENCE_STUDENT, BLANK_STUDENT = "reference", "blank"


def grade_reference_and_blank(course_dir, on_assignment=None):
    """Build the course, generate every assignment, submit the completed reference
    and the untouched release as two students, and autograde them with stock nbgrader
    and its stock settings (``use_stock_settings``; `firstmlp grade-demo` grades them
    through the grader).
    Returns {assignment: {student: (score, max_score)}}."""
    course_dir = Path(course_dir).resolve()
    assignments = nbgrader_course.make_course_dir(course_dir)
    nbgrader_course.use_stock_settings(course_dir)  # the notebooks' own tests, in the kernel
    nbgrader_course.generate_assignments(course_dir, assignments)
    results = {}
    for assignment in assignments:
        release, source = CourseDir(course_dir).release(assignment), CourseDir(course_dir).source(assignment)
        completed = nbgrader_course.completed_notebook(release, source)
        nbgrader_course.submit(course_dir, REFERENCE_STUDENT, assignment, completed)
        blank = nbformat.read(str(release), as_version=4)
        nbgrader_course.submit(course_dir, BLANK_STUDENT, assignment, blank)
        nbgrader_course.autograde(course_dir, assignment)
        results[assignment] = nbgrader_course.gradebook_scores(course_dir, assignment)
        if on_assignment is not None:
            on_assignment(assignment, results[assignment])
    return results
