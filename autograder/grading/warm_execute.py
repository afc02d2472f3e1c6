"""The nbgrader side of grading: a warm, sandboxed stand-in for nbgrader's ``Execute``
preprocessor. It runs the trusted notebook (``executor``), lets the judge decide each
test cell (``judge``) and saves the record (``record``)."""

from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from autograder.course.course_dir import CourseDir
from autograder.grading.executor import execute_in_sandbox
from autograder.grading.stages import EARLIER, RECORDS, stage
from autograder.sandbox.limits import Limits
from autograder.sandbox.wire import Link
from autograder.settings import nbgrader_trait

DEFAULT = Limits()  # each limit's default, stated once (``sandbox.limits``)


class WarmExecute(NbGraderPreprocessor):  # type: ignore[misc]  # nbgrader has no types: its classes are Any
    """nbgrader preprocessor: run the notebook with ``execute_in_sandbox``.

    With ``course_root`` set (the grader sets it), the notebook is the one
    ``trusted_notebook`` made of the submission, each test cell's points follow the
    grader's verdict (``judge.judge_cell``), and what happened is written to
    ``<course_root>/firstmlp/verdicts/<student>/<assignment>.json`` for the report."""

    timeout = nbgrader_trait("timeout")
    notebook_timeout = nbgrader_trait("notebook_timeout")
    course_root = Unicode("", help="the nbgrader course folder (trusted notebooks)").tag(config=True)
    secret = Unicode("", help="the grading run's secret: set in memory by the grader, never "
                              "in a config file").tag(config=True)
    device = Unicode("", help="the torch side's device (empty: the checks' default)").tag(config=True)
    isolate = nbgrader_trait("isolate")
    memory_mb = nbgrader_trait("memory_mb")
    cpu_seconds = nbgrader_trait("cpu_seconds")
    processes = Integer(DEFAULT.processes, help="processes and threads per notebook").tag(config=True)
    output_kb = Integer(DEFAULT.output_bytes >> 10,
                        help="recorded stdout/stderr per notebook").tag(config=True)

    def limits(self) -> Limits | None:
        if not self.isolate:
            return None
        return Limits(cpu_seconds=self.cpu_seconds, memory_bytes=self.memory_mb << 20,
                      processes=self.processes, output_bytes=self.output_kb << 10)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources.get("nbgrader", {})
        assignment, student = info.get("assignment"), info.get("student")
        if not self.course_root or not CourseDir(self.course_root).release(assignment).exists():
            return execute_in_sandbox(nb, self.timeout, self.notebook_timeout,
                                   limits=self.limits(), readable=self.readable()), resources
        from autograder.course.build import load_manifest
        from autograder.grading.earlier_work import earlier_work
        from autograder.grading.judge import grading_seed, judge_test_cell  # torch: a worker's
        from autograder.grading.record import GradingRecord
        with stage(RECORDS):
            record = GradingRecord.load(self.course_root, student, assignment)
        seed = grading_seed(student, assignment, self.secret)
        names = [a["name"] for a in load_manifest()["assignments"]]

        def judge(cell: NotebookNode, link: Link) -> None:
            judge_test_cell(cell, link, seed, record, self.secret, self.device or None)
        with stage(EARLIER):
            earlier = earlier_work(self.course_root, student, assignment, names)
        execute_in_sandbox(nb, self.timeout, self.notebook_timeout, limits=self.limits(),
                           readable=self.readable(), judge=judge, flag=record.flag,
                           earlier=(names, assignment, earlier))
        with stage(RECORDS):
            record.save()
        return nb, resources

    def readable(self) -> list[str]:
        """What Landlock lets the notebook read: the policy's set (``policy.landlock_read``)
        for this machine, with the hidden data carved out where bubblewrap cannot start."""
        from autograder.sandbox.boundary import bwrap_problem
        from autograder.sandbox.policy import landlock_read
        return landlock_read(bubblewrap=bwrap_problem(self.device or None) is None)
