"""autograder/grading/executor.py on its own: the run of one notebook against a fake
notebook process (no sandbox, no kernel), so what the executor promises is held here
and not only inside slow end-to-end grading: each cell's outputs come from the process,
sanitised; a notebook that stops leaves every cell it did not finish with an error that
says why; the judge decides test cells; a sandbox lost under a notebook is the
grader's failure (``SandboxLost``), never a score."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.grading import executor
from autograder.grading.executor import SandboxLost, execute_in_sandbox, explain_stop, outputs_from
from autograder.sandbox.boundary import SandboxGone
from autograder.sandbox.wire import RemoteGone


class FakeLink:
    """The wire as the executor uses it: ``request(kind, *args)``; ``script`` maps a
    cell's source to its answer, or to an exception the process "raises"."""

    def __init__(self, script):
        self.script, self.sent, self.deadline = script, [], None

    def request(self, kind, *args):
        self.sent.append((kind, *args))
        if kind != "run":
            return None
        answer = self.script.get(args[0], {"outputs": [], "count": len(self.sent)})
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeChild:
    def __init__(self, script, missing=(), lost=False, reason=None):
        self.link, self.missing, self.lost, self.reason = FakeLink(script), list(missing), lost, reason
        self.closed, self.grace = False, None

    def close(self, limit=5):
        self.closed, self.grace = True, limit
        return self.reason


def starter(child):
    return lambda timeout, limits, readable: child


def graded_cell(source, grade_id="t"):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": grade_id, "points": 1}
    return cell


def stdout(text):
    return {"outputs": [{"output_type": "stream", "name": "stdout", "text": text}], "count": 1}


def test_each_code_cell_gets_its_own_outputs_and_count_markdown_is_not_sent():
    notebook = new_notebook(cells=[new_markdown_cell("# title"), new_code_cell("a = 1"),
                                   new_code_cell("print(a)")])
    child = FakeChild({"a = 1": {"outputs": [], "count": 1}, "print(a)": stdout("1\n")})
    execute_in_sandbox(notebook, start=starter(child))
    assert [s for s in child.link.sent if s[0] == "run"] == [("run", "a = 1"), ("run", "print(a)")]
    assert notebook.cells[2].outputs[0]["text"] == "1\n"
    assert notebook.cells[1].execution_count == 1
    assert child.closed
    nbformat.validate(notebook)


def test_a_timeout_marks_that_cell_and_every_later_one_and_runs_none_of_them():
    notebook = new_notebook(cells=[new_code_cell("ok = 1"), new_code_cell("while True: pass"),
                                   new_code_cell("after = 2"), graded_cell("assert ok")])
    child = FakeChild({"while True: pass": RemoteGone("timeout")})
    execute_in_sandbox(notebook, start=starter(child))
    runs = [s[1] for s in child.link.sent if s[0] == "run"]
    assert runs == ["ok = 1", "while True: pass"]  # nothing after the cell that wedged
    assert notebook.cells[0].outputs == []
    for cell in notebook.cells[1:]:
        (error,) = cell.outputs
        assert error["ename"] == "NotebookStopped" and cell.execution_count is None
        assert error["evalue"] == explain_stop("timeout")
        assert "time limit" in error["evalue"]
    assert child.grace == 0  # wedged past its deadline: killed at once, not given 5 s more


def test_a_notebook_that_ran_to_the_end_is_given_time_to_exit():
    child = FakeChild({})
    execute_in_sandbox(new_notebook(cells=[new_code_cell("x = 1")]), start=starter(child))
    assert child.closed and child.grace == 5


def test_a_process_that_ends_says_so_with_the_reason_close_gives():
    notebook = new_notebook(cells=[new_code_cell("import os; os._exit(0)"), new_code_cell("x = 1")])
    child = FakeChild({"import os; os._exit(0)": RemoteGone("ended")}, reason="killed by SIGKILL")
    execute_in_sandbox(notebook, start=starter(child))
    assert notebook.cells[1].outputs[0]["evalue"] == explain_stop("killed by SIGKILL")
    assert "killed by SIGKILL" in notebook.cells[1].outputs[0]["evalue"]
    assert "os._exit" in explain_stop("ended")


def test_the_judge_decides_each_test_cell_and_the_process_is_reset_after_it():
    notebook = new_notebook(cells=[new_code_cell("x = 1"), graded_cell("assert x == 1", "t1")])
    judged = []

    def judge(cell, link):
        judged.append(cell.metadata["nbgrader"]["grade_id"])
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="verdict\n")]
    child = FakeChild({})
    execute_in_sandbox(notebook, judge=judge, start=starter(child))
    assert judged == ["t1"]
    assert notebook.cells[1].outputs[0]["text"] == "verdict\n"
    assert child.link.sent[-1] == ("reset",)


def test_the_judge_still_runs_on_a_test_cell_the_notebook_never_reached():
    """A stopped notebook's test cell is judged (and so recorded), from its error output."""
    notebook = new_notebook(cells=[new_code_cell("boom"), graded_cell("assert True", "t1")])
    seen = []
    child = FakeChild({"boom": RemoteGone("timeout")})
    execute_in_sandbox(notebook, judge=lambda cell, link: seen.append(cell.outputs[0]["ename"]),
                       start=starter(child))
    assert seen == ["NotebookStopped"]


def test_hidden_tests_are_not_sent_to_the_notebooks_process():
    source = "assert f(1) == 1\n### BEGIN HIDDEN TESTS\nassert f(2) == secret\n### END HIDDEN TESTS\n"
    notebook = new_notebook(cells=[graded_cell(source)])
    child = FakeChild({})
    execute_in_sandbox(notebook, start=starter(child))
    (sent,) = [s[1] for s in child.link.sent if s[0] == "run"]
    assert "secret" not in sent and "assert f(1) == 1" in sent


def test_earlier_work_is_offered_first_as_a_probe_of_data():
    earlier = (["01", "02"], "02", {"01": {"cells": []}})
    child = FakeChild({})
    execute_in_sandbox(new_notebook(cells=[new_code_cell("x = 1")]), earlier=earlier,
                       start=starter(child))
    assert child.link.sent[0] == ("probe", "autograder.student.earlier:provide", *earlier)


def test_what_the_sandbox_could_not_apply_is_flagged():
    flags = []
    execute_in_sandbox(new_notebook(), flag=flags.append,
                       start=starter(FakeChild({}, missing=["no Landlock"])))
    assert flags == ["sandbox incomplete: no Landlock"]


def test_a_sandbox_that_cannot_start_or_is_lost_is_the_graders_failure():
    def cannot_start(timeout, limits, readable):
        raise SandboxGone("bwrap: no user namespaces")
    with pytest.raises(SandboxLost, match="could not start"):
        execute_in_sandbox(new_notebook(cells=[new_code_cell("x = 1")]), start=cannot_start)
    lost = FakeChild({"x = 1": RemoteGone("ended")}, lost=True)
    with pytest.raises(SandboxLost, match="outside it"):
        execute_in_sandbox(new_notebook(cells=[new_code_cell("x = 1")]), start=starter(lost))
    assert lost.closed


def test_outputs_are_sanitised_and_anything_unreadable_says_so():
    dirty = {"outputs": [{"output_type": "display_data", "metadata": {},
                          "data": {"text/html": "<b onclick='x()'>hi</b><script>steal()</script>"}}]}
    (html,) = outputs_from(dirty)
    page = html["data"]["text/html"]
    assert "<script" not in page and "onclick" not in page and "hi" in page
    assert "no outputs" in outputs_from(None)[0]["text"]
    assert "no outputs" in outputs_from({"outputs": "not a list"})[0]["text"]


def test_a_count_that_is_not_a_plain_int_is_not_kept():
    notebook = new_notebook(cells=[new_code_cell("a"), new_code_cell("b")])
    child = FakeChild({"a": {"outputs": [], "count": True}, "b": {"outputs": [], "count": -3}})
    execute_in_sandbox(notebook, start=starter(child))
    assert [c.execution_count for c in notebook.cells] == [None, None]


def test_the_cell_deadline_is_within_the_notebooks(monkeypatch):
    """Each request's deadline is the cell's limit, never past the notebook's."""
    monkeypatch.setattr(executor.time, "monotonic", lambda: 100.0)
    child = FakeChild({})
    deadlines = []
    original = child.link.request

    def record(kind, *args):
        deadlines.append(child.link.deadline)
        return original(kind, *args)
    child.link.request = record
    execute_in_sandbox(new_notebook(cells=[new_code_cell("a"), new_code_cell("b")]),
                       timeout=600, notebook_timeout=5, start=starter(child))
    assert deadlines == [105.0, 105.0]


@pytest.mark.slow
def test_time_limits_in_the_real_sandbox():
    """Through bubblewrap and the zygote: a Python loop past its limit is stopped in the
    notebook's process (CellTimeout, and the notebook goes on); a cell that never gives
    control back (here: it ignores the alarm, as a loop in C code would) is killed by the
    executor, and it and every later cell
    say so, while earlier cells keep their outputs and the grader goes on (no SandboxLost)."""
    from autograder.grading.executor import SandboxedNotebook
    from autograder.sandbox.boundary import Sandbox, bwrap_problem
    if bwrap_problem():
        pytest.skip(bwrap_problem())
    box = Sandbox(optional=())  # no optional heavy module: not what this is about
    notebook = new_notebook(cells=[
        new_code_cell("while True: pass"), new_code_cell("print('after')"),
        new_code_cell("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True: pass"),
        new_code_cell("print('never')")])
    try:
        execute_in_sandbox(notebook, timeout=3, notebook_timeout=120,
                           start=lambda t, limits, readable: SandboxedNotebook(t, limits, readable,
                                                                               sandbox=box))
    finally:
        box.kill()
    looped, after, wedged, never = (cell.outputs for cell in notebook.cells)
    assert [(o.get("ename"), o.get("evalue")) for o in looped] == [
        ("CellTimeout", "this cell ran longer than the 3 s limit")]
    assert after[0]["text"] == "after\n"
    for outputs in (wedged, never):
        assert [(o.get("ename"), o.get("evalue")) for o in outputs] == [
            ("NotebookStopped", explain_stop("timeout"))]
