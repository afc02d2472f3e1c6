"""autograder/grading/stages.py: each stage's own seconds, per recording (a fake clock,
no timed assertions), and the grading code's stages reaching the task's result: the
executor's and ``grade_one``'s on fakes (fast), a graded notebook's end to end (slow)."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.grading import pool, stages
from autograder.grading.stages import (
    CELLS,
    CHECKS,
    EARLIER,
    FEEDBACK,
    FORK,
    INTAKE,
    NBGRADER,
    ONCE,
    ORDER,
    RECORDS,
    SANITISE,
    TRUSTED,
    recording,
    recording_now,
    stage,
)


@pytest.fixture
def clock(monkeypatch):
    """A clock that moves only when told: ``clock.tick(seconds)``."""
    class Clock:
        now = 0.0

        def tick(self, seconds):
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(stages, "perf_counter", lambda: fake.now)
    return fake


def test_without_a_recording_a_stage_records_nothing(clock):
    assert not recording_now()
    with stage(CELLS):
        clock.tick(1)
    with recording() as seconds:
        assert recording_now()
    assert seconds == {} and not recording_now()


def test_spans_of_a_stage_add_up_and_an_inner_stage_is_taken_out_of_the_outer(clock):
    with recording() as seconds:
        for _ in range(3):
            with stage(CELLS):
                clock.tick(2)
        with stage(NBGRADER):
            clock.tick(1)
            with stage(CHECKS):
                clock.tick(5)
                with stage(SANITISE):
                    clock.tick(0.5)
            clock.tick(1)
    assert seconds == {CELLS: 6, NBGRADER: 2, CHECKS: 5, SANITISE: 0.5}
    assert sum(seconds.values()) == clock.now  # the stages add up to the time recorded


def test_a_stage_that_raises_is_recorded_and_closed(clock):
    with recording() as seconds:
        with stage(NBGRADER):
            with pytest.raises(ValueError):
                with stage(CELLS):
                    clock.tick(3)
                    raise ValueError("the student's")
            clock.tick(1)  # the outer stage's again, not the one that raised
    assert seconds == {CELLS: 3, NBGRADER: 1}


def test_each_recording_is_its_own_task(clock):
    with recording() as first:
        with stage(CELLS):
            clock.tick(1)
    with recording() as second:
        with stage(CHECKS):
            clock.tick(2)
    assert first == {CELLS: 1} and second == {CHECKS: 2}
    with recording() as outer:
        with recording() as inner:
            with stage(CELLS):
                clock.tick(4)
        with stage(CHECKS):
            clock.tick(1)
    assert inner == {CELLS: 4} and outer == {CHECKS: 1}


def test_a_stage_decorates_a_function(clock):
    @stage(INTAKE)
    def read():
        clock.tick(2)
        return "read"
    with recording() as seconds:
        assert read() == "read" and read() == "read"
    assert seconds == {INTAKE: 4}


def test_the_executor_records_the_fork_the_earlier_work_the_cells_and_the_checks():
    from autograder.grading.executor import execute_in_sandbox
    from tests.grading.test_executor_unit import FakeChild, graded_cell, starter
    notebook = new_notebook(cells=[new_code_cell("x = 1"), graded_cell("check(x)")])
    with recording() as seconds:
        execute_in_sandbox(notebook, start=starter(FakeChild({})), judge=lambda cell, link: None,
                           earlier=(["01"], "01", {}))
    assert set(seconds) == {FORK, EARLIER, CELLS, SANITISE, CHECKS}


@pytest.fixture
def worker(tmp_path, monkeypatch):
    """``grade_one`` with nbgrader faked: its autograde runs a cell and a check."""
    from autograder.course.course_dir import CourseDir
    from autograder.grading.run import GradingRun, Task

    class API:
        def autograde(self, *args, **kwargs):
            with stage(CELLS), stage(CHECKS):
                pass
            return {"success": True}

        def generate_feedback(self, *args, **kwargs):
            return {"success": True}

    monkeypatch.setattr(pool, "worker_init", lambda *args: None)
    monkeypatch.setattr(pool, "make_api", lambda run: API())
    run = GradingRun(CourseDir(tmp_path))
    return run, Task("ada", "01_perceptron", "d1g357")


def test_a_task_returns_its_stages_when_the_run_asks_and_only_then(worker):
    from dataclasses import replace
    run, task = worker
    assert "stages" not in pool.grade_one(run, task)
    result = pool.grade_one(replace(run, timings=True), task)
    assert result["ok"] and set(result["stages"]) == {NBGRADER, CELLS, CHECKS, FEEDBACK, RECORDS}
    assert "stages" not in json.loads(run.course.done("ada", "01_perceptron").read_text())


def test_a_recording_grader_asks_its_workers_for_their_stages(worker, monkeypatch):
    run, task = worker
    asked = []
    monkeypatch.setattr(pool, "run_local", lambda run, tasks, on_done: asked.append(run.timings))
    pool.run_tasks(run, [task], progress=False)
    with recording():
        pool.run_tasks(run, [task], progress=False)
    assert asked == [False, True]


@pytest.mark.slow
def test_a_graded_notebook_carries_each_stage(tmp_path, prepared_course):
    from autograder.course.build import load_manifest
    from autograder.course.course_dir import CourseDir
    from autograder.course.nbgrader_course import completed_notebook
    from autograder.course.release import RELEASES
    from autograder.grading.grader import grade
    course, submitted = tmp_path / "course", tmp_path / "submitted" / "ada" / "01_perceptron"
    prepared_course(course)
    submitted.mkdir(parents=True)
    release = RELEASES / load_manifest()["version"] / "01_perceptron.ipynb"
    nbformat.write(completed_notebook(release, CourseDir(course).source("01_perceptron")),
                   str(submitted / "01_perceptron.ipynb"))
    with recording() as grader_side:
        (outcome,), _, _ = grade(tmp_path / "submitted", course, workers=1, progress=False)
    assert outcome.score == outcome.max_score > 0
    assert set(outcome.stages) == set(ORDER) - {INTAKE, TRUSTED}
    assert {INTAKE, TRUSTED, *ONCE} <= set(grader_side)  # and the grader's, once per run
