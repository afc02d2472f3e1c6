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


def hand_in(course_dir, students=(REFERENCE_STUDENT, BLANK_STUDENT), generate=True):
    """Build the course, generate every assignment (``generate=False``: a folder whose
    release is already generated from these sources), switch it to stock nbgrader's own
    settings (``use_stock_settings``: the notebooks' own tests, in the kernel; `firstmlp
    grade-demo` grades them through the grader), and submit every assignment for
    ``students``: REFERENCE_STUDENT the completed reference, BLANK_STUDENT the untouched
    release. Returns the assignments, in course order."""
    course_dir = Path(course_dir).resolve()
    assignments = nbgrader_course.make_course_dir(course_dir)
    nbgrader_course.use_stock_settings(course_dir)
    if generate:
        nbgrader_course.generate_assignments(course_dir, assignments)
    for assignment in assignments:
        release, source = CourseDir(course_dir).release(assignment), CourseDir(course_dir).source(assignment)
        for student in students:
            notebook = (nbgrader_course.completed_notebook(release, source) if student == REFERENCE_STUDENT
                        else nbformat.read(str(release), as_version=4))
            nbgrader_course.submit(course_dir, student, assignment, notebook)
    return assignments


def autograde_in_turn(course_dir, assignments):
    """Stock `nbgrader autograde` of each assignment in turn (one process each, its
    students one after another; a later notebook imports the earlier ones autograded
    beside it). Returns {assignment: {student: (score, max_score)}}."""
    results = {}
    for assignment in assignments:
        nbgrader_course.autograde(course_dir, assignment)
        results[assignment] = nbgrader_course.gradebook_scores(course_dir, assignment)
    return results


def local_dask_cluster(allowed_failures=None):
    """A Dask LocalCluster on 127.0.0.1 only — what ``--scheduler`` reaches: 2 worker
    processes of 1 thread each (beside their nannies), no dashboard (bokeh is not
    installed; the scheduler's status routes take a free port, not 8787). With
    ``allowed_failures``, its scheduler gives a task up after that many worker deaths
    (read once, when the scheduler starts)."""
    import dask
    from distributed import LocalCluster
    config = {} if allowed_failures is None else {
        "distributed.scheduler.allowed-failures": allowed_failures}
    with dask.config.set(config):
        return LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                            host="127.0.0.1", dashboard_address="127.0.0.1:0")
