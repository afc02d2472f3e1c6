"""The sandbox's policy is one object (``sandbox.policy``): bubblewrap's command line,
the zygote's environment and command, the cgroups, the 'missing protections' report and
the audit are all read from it, and the audit written in its docstring and the README
say what it holds. (Before issue 23 they were spread over four modules.)"""

import os
from pathlib import Path

import pytest

from autograder import PACKAGE
from autograder.sandbox import boundary, data_view, policy
from autograder.sandbox.boundary import bwrap_arguments, bwrap_argv, zygote_command
from autograder.sandbox.limits import CELL_SECONDS, NOTEBOOK_SECONDS, SCRATCH_BYTES, Limits
from autograder.sandbox.policy import IDENTITY_BASE, course_policy

ROOT = PACKAGE.parent
IDENTITIES = (None, IDENTITY_BASE + 1)
BIND_OPTIONS = ("--ro-bind", "--ro-bind-try", "--dev-bind-try", "--symlink", "--bind", "--dev-bind")


def triples(arguments, options):
    return [(a, arguments[i + 1], arguments[i + 2]) for i, a in enumerate(arguments[:-2])
            if a in options]


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """This machine's paths made alike everywhere: data shown, a hidden folder and file
    inside it, a font cache (whether this machine has them or not)."""
    shown = tmp_path / "shown"
    folder, secret = shown / "hidden", shown / "labels"
    folder.mkdir(parents=True)
    secret.write_text("x")
    monkeypatch.setenv("MNIST_ROOT", str(tmp_path))
    monkeypatch.setattr(data_view, "shown", lambda: [str(shown)])
    monkeypatch.setattr(data_view, "hidden", lambda carving=False: [str(folder), str(secret)])
    monkeypatch.setattr(policy, "matplotlib_cache", lambda: str(tmp_path))
    return tmp_path


def test_the_audit_in_the_docstring_is_the_policys(machine):
    table = policy.audit_table()
    assert table in policy.__doc__, f"regenerate policy.py's audit table:\n{table}"


def test_the_readme_names_the_sandboxs_namespaces_and_scratch():
    words = {"user": "user", "pid": "PID", "net": "network", "ipc": "IPC", "uts": "UTS",
             "cgroup": "cgroup"}
    names = [words[n] for n in policy.UNSHARE_ALL]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"new {', '.join(names[:-1])} and {names[-1]} namespaces" in readme
    assert f"its {SCRATCH_BYTES >> 30} GiB tmpfs" in readme


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("device", [None, "cuda"])
def test_bubblewraps_command_line_is_the_policy_rendered(machine, device, identity):
    given = course_policy(device, 2, identity)
    arguments = bwrap_argv(given)
    assert arguments == bwrap_arguments(device, dict(given.env), identity)
    # its environment, after --clearenv and nothing else
    env = [(name, value) for _, name, value in triples(arguments, ("--setenv",))]
    assert env == list(given.env) and dict(env) == policy.environment(2)
    assert arguments.index("--clearenv") < arguments.index("--setenv")
    # every bind, in the policy's order (a mask after what it masks), and no other
    binds = [(b.source, b.dest) for b in (*given.binds, *given.devices) if b.mode != "empty"]
    assert [(s, d) for _, s, d in triples(arguments, BIND_OPTIONS)] == binds
    masks = [b.dest for b in given.binds if b.mode == "empty"]
    assert [d for _, d, _ in triples(arguments, ("--tmpfs",)) if d != "/tmp"] == masks
    for i, bind in enumerate(given.binds):
        if bind.why == "hidden":
            assert any(bind.dest.startswith(b.dest.rstrip("/") + "/") for b in given.binds[:i]
                       if b.why != "hidden"), bind
    assert {d for _, _, d in triples(arguments, ("--ro-bind",)) if _ == "/dev/null"} <= {
        b.dest for b in given.binds if b.why == "hidden"}
    # what it shows: the data view, the helpers, never solutions/, course/ or grading/
    assert {b.dest for b in given.binds if b.why == "data"} == set(data_view.shown())
    assert {b.dest for b in given.binds if b.why == "hidden"} == set(data_view.hidden())
    sources = [s for _, s, _ in triples(arguments, BIND_OPTIONS)]
    for secret in ("solutions", "autograder/course", "autograder/grading"):
        assert not [s for s in sources if Path(s).is_relative_to(ROOT / secret)], secret
    # its namespaces, user, scratch and hostname
    size = arguments.index("--size")
    assert arguments[size:size + 4] == ["--size", str(SCRATCH_BYTES), "--tmpfs", "/tmp"]
    assert arguments[arguments.index("--hostname") + 1] == given.hostname
    unshared = [a for a in arguments if a.startswith("--unshare-")]
    if identity is None:
        assert unshared == ["--unshare-all", "--unshare-user"]
        assert arguments[arguments.index("--uid") + 1] == str(policy.NOBODY)
    else:  # as root: no user namespace, the folders above each bind made enterable
        assert "--uid" not in arguments
        assert unshared == [f"--unshare-{n}{'-try' if n == 'cgroup' else ''}"
                            for n in given.namespaces]
        made = [i for i, a in enumerate(arguments) if a == "--dir"]
        assert made and all(arguments[i - 2:i] == ["--perms", "0755"] for i in made)


@pytest.mark.parametrize("bubblewrap", [True, False])
def test_the_sandbox_starts_what_the_policy_says(monkeypatch, bubblewrap):
    """Sandbox.start runs the policy's command, in its environment, within its cgroups."""
    seen = {}

    class Started(Exception):
        pass

    def popen(command, env, **_):
        seen.update(command=command, env=env)
        raise Started

    problem = None if bubblewrap else "switched off"
    monkeypatch.setattr(boundary, "bwrap_problem", lambda device=None: problem)
    monkeypatch.setattr(boundary.subprocess, "Popen", popen)
    box = boundary.Sandbox(device="cpu", threads=2, memory_mb=512)
    try:
        with pytest.raises(Started):
            box.start()
        groups = [(g.controller, g.path) for g in box.groups]
    finally:
        box.kill()
    given = course_policy("cpu", 2, boundary.sandbox_identity(), memory_mb=512,
                          bubblewrap=bubblewrap)
    assert seen["env"] == dict(given.env) == policy.environment(2)
    fd = seen["command"][-1]
    assert seen["command"][-len(zygote_command(given, fd, bubblewrap)):] == \
        zygote_command(given, fd, bubblewrap)
    assert ("bwrap" in seen["command"]) == bubblewrap
    if os.geteuid() == 0:
        assert [c for c, _ in groups] == [c for c, _ in given.cgroups]
        assert dict(given.cgroups)["memory"] == (512 + policy.ZYGOTE_MB) << 20


def test_what_the_sandbox_could_not_apply_is_read_from_the_policy():
    given = course_policy()
    assert policy.missing(given, None, [True, True]) == []
    said = policy.missing(given, "not installed", [True, False])
    assert said[0].startswith("no bubblewrap sandbox (not installed)")
    assert said[-1].startswith("the sandbox's memory are not capped")
    assert policy.missing(given, None, []) == []  # a normal user makes no cgroup


def test_each_limit_is_stated_once_and_grading_uses_it():
    from autograder.grading.warm_execute import WarmExecute
    assert WarmExecute().limits() == Limits()
    assert (WarmExecute().timeout, WarmExecute().notebook_timeout) == (CELL_SECONDS,
                                                                       NOTEBOOK_SECONDS)
    assert WarmExecute().memory_mb << 20 == Limits().memory_bytes
    assert course_policy().rlimits == Limits().rlimits()


def test_landlock_reads_what_grading_sends():
    from autograder.grading.warm_execute import WarmExecute
    bubblewrap = boundary.bwrap_problem(None) is None
    assert list(course_policy(bubblewrap=bubblewrap).landlock_read) == WarmExecute().readable()


def test_each_notebooks_namespaces_are_the_policys():
    from autograder.sandbox.zygote import CLONE_FLAGS, NOTEBOOK_FLAGS
    assert NOTEBOOK_FLAGS == sum(CLONE_FLAGS[n] for n in course_policy().notebook_namespaces)
    assert set(course_policy().notebook_namespaces) == set(CLONE_FLAGS)
