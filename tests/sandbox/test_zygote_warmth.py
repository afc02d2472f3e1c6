"""Issue 24's warmth: the zygote rehearses a notebook's first steps before any fork and
leaves nothing a notebook can see; the pre-flight's zygote starts cold; the zygote
waits for a notebook's exit on its pidfd; the pool takes the later notebooks first."""

import os
import random
import signal
import sys
import time

import pytest

from autograder.grading.pool import later_first
from autograder.grading.run import Task
from autograder.sandbox.boundary import Sandbox, SandboxGone, bwrap_problem, zygote_command
from autograder.sandbox.limits import Limits, student_readable
from autograder.sandbox.notebook_process import rehearse, warm_up
from autograder.sandbox.policy import course_policy
from autograder.sandbox.wire import Link
from autograder.sandbox.zygote import stop_notebook, wait_for_exit


def test_the_rehearsal_leaves_no_state_a_notebook_could_see():
    import matplotlib.pyplot as plt
    import nbformat.validator
    import numpy as np
    import torch
    shell = warm_up()
    random.seed(7)
    np.random.seed(7)
    torch.manual_seed(7)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.random.get_rng_state())
    figures, names, count = plt.get_fignums(), set(shell.user_ns), shell.execution_count
    threads = torch.get_num_threads()
    nbformat.validator.validators.clear()  # as in a process that never recorded an output

    rehearse(shell)

    assert random.getstate() == states[0]
    assert (np.random.get_state()[1] == states[1]).all()
    assert torch.equal(torch.random.get_rng_state(), states[2])
    assert plt.get_fignums() == figures == []
    assert set(shell.user_ns) == names and shell.execution_count == count
    assert torch.get_num_threads() == threads
    assert nbformat.validator.validators, "the outputs' validator is compiled before any fork"


def run(link, source, seconds=60):
    link.deadline = time.monotonic() + seconds
    return link.request("run", source)


def lookup(sandbox, source, name):
    """``name`` after ``source`` ran in a fresh notebook forked by ``sandbox``."""
    notebook_id, from_child, to_child, _ = sandbox.open_notebook(30, Limits(), student_readable())
    link = Link(to_child, from_child)
    try:
        run(link, source)
        link.deadline = time.monotonic() + 30
        return link.request("lookup", name)
    finally:
        os.close(from_child)
        os.close(to_child)
        sandbox.close_notebook(notebook_id)


PEEK = ("import sys\nimport nbformat.validator as v\n"
        "seen = ['autograder.student.components' in sys.modules, bool(v.validators), "
        "'torchvision' in sys.modules]")


@pytest.mark.parametrize("warm", [True, False], ids=["worker", "pre-flight"])
def test_a_workers_zygote_is_warm_and_the_pre_flights_is_cold(warm):
    if bwrap_problem():
        pytest.skip(bwrap_problem())
    sandbox = Sandbox(warm=warm, optional=[])
    try:
        sandbox.start()
        # warm: the course's helpers imported and the validator compiled before the fork (the cell
        # itself records no output), no optional module; cold: none, the cell still runs
        assert lookup(sandbox, PEEK, "seen") == [warm, warm, False]
    finally:
        sandbox.kill()


def test_a_notebooks_first_backward_and_first_error_import_nothing():
    """What a notebook does first was imported by its zygote: autograd's first backward
    (torch's symbolic shapes, sympy: 0.3-0.5 s) and the first traceback shown (IPython's
    stack inspection, pygments' formatters), before issue 24 imported by each notebook."""
    if bwrap_problem():
        pytest.skip(bwrap_problem())
    sandbox = Sandbox(optional=[])
    try:
        sandbox.start()
        notebook_id, from_child, to_child, _ = sandbox.open_notebook(30, Limits(), student_readable())
        link = Link(to_child, from_child)
        try:
            run(link, "import sys\nbefore = set(sys.modules)")
            run(link, "import torch\nx = torch.ones(3, requires_grad=True)\n(x * x).sum().backward()")
            shown = run(link, "def f():\n    raise NotImplementedError('not yet')\nf()")
            assert [o["ename"] for o in shown["outputs"]] == ["NotImplementedError"]
            assert len(shown["outputs"][0]["traceback"]) > 1  # formatted, frame by frame
            run(link, "new = sorted(set(sys.modules) - before)")
            link.deadline = time.monotonic() + 30
            assert link.request("lookup", "new") == []
        finally:
            os.close(from_child)
            os.close(to_child)
            sandbox.close_notebook(notebook_id)
    finally:
        sandbox.kill()


def test_a_zygote_imports_only_the_optional_modules_the_runs_notebooks_name(tmp_path):
    from autograder.course.course_dir import CourseDir
    from autograder.grading.pool import optional_modules
    from autograder.grading.run import GradingRun
    from autograder.sandbox.notebook_process import HEAVY_MODULES, needed_modules, warm_modules
    assert needed_modules(["from sklearn.metrics import accuracy_score"]) == ["sklearn.metrics"]
    assert needed_modules(["x = load_mnist()"]) == ["torchvision"]
    assert needed_modules(["import numpy as np"]) == []
    assert warm_modules(None) == HEAVY_MODULES
    assert "torchvision" not in warm_modules([]) and "torch" in warm_modules([])
    assert "sklearn.metrics" in warm_modules(["sklearn.metrics"])
    assert zygote_command(course_policy(), 3, False, optional=["b", "a"])[-2:] == \
        ["--optional", "a,b"]

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    course = CourseDir(tmp_path)
    for name, code in (("01", "import numpy as np"), ("05", "import sklearn.metrics")):
        course.release(name).parent.mkdir(parents=True)
        nbformat.write(new_notebook(cells=[new_code_cell(code)]), str(course.release(name)))
    run = GradingRun(course)
    assert optional_modules(run, [Task("ann", "01", "d")]) == []
    assert optional_modules(run, [Task("ann", "01", "d"), Task("bob", "05", "d")]) == \
        ["sklearn.metrics"]
    assert optional_modules(run, [Task("ann", "07", "d")]) is None  # unreadable: all


def test_the_pre_flight_starts_its_zygote_cold(monkeypatch):
    from autograder.grading import executor
    started = []

    def start(self):
        started.append(self.warm)
        raise SandboxGone("stop here")
    monkeypatch.setattr(Sandbox, "start", start)
    assert executor.sandbox_problem() == "stop here"
    assert started == [False]
    policy = course_policy()
    assert zygote_command(policy, 3, False, warm=False)[-2:] == ["3", "--cold"]
    assert zygote_command(policy, 3, False)[-1] == "3"


def forked(seconds):
    pid = os.fork()
    if pid == 0:
        time.sleep(seconds)
        os._exit(0)
    return pid


def test_the_zygote_wakes_when_a_notebook_ends_and_kills_one_past_its_grace():
    pid = forked(0.2)
    started = time.monotonic()
    assert wait_for_exit(pid, started + 30)
    assert time.monotonic() - started < 20  # woken by the exit, not by the deadline
    assert stop_notebook(pid, None, None, grace=5) == {"signal": None, "exit": 0, "killed": False}

    pid = forked(60)
    assert not wait_for_exit(pid, time.monotonic() + 0.1)
    ended = stop_notebook(pid, None, None, grace=0.2)
    assert ended["killed"] and ended["signal"] == signal.SIGKILL


def test_the_pool_takes_the_later_notebooks_first():
    manifest = {"assignments": [{"name": n} for n in ("01", "02", "03")]}
    tasks = [Task(s, a, "d") for s in ("ann", "bob") for a in ("01", "03", "02", "x")]
    ordered = later_first(tasks, manifest)
    assert [t.assignment for t in ordered] == ["03", "03", "02", "02", "01", "01", "x", "x"]
    assert [t.student for t in ordered if t.assignment == "03"] == ["ann", "bob"]
    assert sorted(ordered, key=tasks.index) == tasks  # the same tasks, reordered only
    assert later_first(tasks, {}) == tasks


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
