"""The run's context is handed in, never read from the environment: the student side's
device, the notebook's environment, and a worker set up once per process."""

import torch

from autograder.grading import pool
from autograder.sandbox import policy
from autograder.student.oracle import resolve_device


def test_the_checks_device_is_not_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("FIRSTMLP_DEVICE", "meta")  # a variable a notebook could set
    expected = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == torch.device("cpu")


def test_the_notebook_environment_carries_nothing_of_firstmlps():
    env = policy.environment(threads=2)
    assert not [name for name in env if name.startswith("FIRSTMLP")]
    assert dict(policy.course_policy(device="cpu", threads=2).env) == env


def test_a_worker_is_set_up_once_per_process(monkeypatch):
    import autograder.sandbox.boundary as boundary

    built = []

    class FakeSandbox:
        def alive(self):
            return True

    monkeypatch.setattr(pool, "_READY", None)
    monkeypatch.setattr(pool, "die_with_parent", lambda: None)
    monkeypatch.setattr(boundary, "worker_sandbox",
                        lambda device, threads, *rest: built.append((device, threads)) or FakeSandbox())
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    import nbgrader.api
    import nbgrader.nbgraderformat.common
    for module, name in ((nbgrader.api, "create_engine"), (nbgrader.nbgraderformat.common, "jsonschema")):
        monkeypatch.setattr(module, name, getattr(module, name))  # warm_nbgrader's, undone after
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    pool.worker_init("cpu", 1)  # from the local pool's initializer
    pool.worker_init("cpu", 1)  # grade_one, for the same worker
    assert built == [("cpu", 1)]
    pool.worker_init(None, 2)  # another run's settings in a reused process: set up again
    assert built == [("cpu", 1), (None, 2)]
