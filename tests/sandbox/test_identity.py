"""Who student code is on the host when the grader runs as root (issue 20): a user of
its own (``boundary.sandbox_identity``), dropped to before the zygote starts
(``drop_to``), which must be able to read what the sandbox is given — else the grader
refuses in one line, before anything is graded (``identity_problem``)."""

import os
import subprocess

import pytest

from autograder.grading import pool
from autograder.grading.grader import GraderEnvironmentError, check_data
from autograder.sandbox import boundary


@pytest.fixture
def reads(monkeypatch):
    """What the sandbox is given to read, set by the test; the sandbox's own user made
    up where the test is not run as root."""
    given = []
    monkeypatch.setattr(boundary, "sandbox_reads", lambda device=None: given)
    if os.geteuid() != 0:
        monkeypatch.setattr(boundary, "sandbox_identity", lambda: boundary.IDENTITY_BASE + 1)
    boundary.forget_identity_answers()
    yield given
    boundary.forget_identity_answers()


def test_the_first_path_its_user_cannot_read_is_named(reads, tmp_path):
    tree = tmp_path / "tree"
    (tree / "open" / "deeper").mkdir(parents=True)
    (tree / "open" / "deeper" / "fine.py").write_text("")
    reads.append(str(tree))
    assert boundary.identity_problem(None, True) is None
    (tree / "open" / "deeper" / "fine.py").chmod(0o600)
    boundary.forget_identity_answers()
    assert f"cannot read {tree}/open/deeper/fine.py " in boundary.identity_problem(None, True)
    (tree / "open" / "deeper" / "fine.py").chmod(0o644)
    (tree / "open").chmod(0o700)
    boundary.forget_identity_answers()
    assert f"cannot read {tree}/open " in boundary.identity_problem(None, True)


def test_without_bubblewrap_the_folders_above_count_too(reads):
    """bubblewrap makes the folders above what it binds (``open_parents``); without it,
    the host's must be open to the sandbox's user."""
    import shutil
    import tempfile
    base = tempfile.mkdtemp()  # in /tmp, whose folders above are open (unlike tmp_path's)
    try:
        os.chmod(base, 0o755)
        os.makedirs(f"{base}/above/data")
        reads.append(f"{base}/above/data")
        os.chmod(f"{base}/above", 0o711)  # enterable, not listable: enough
        assert boundary.identity_problem(None, False) is None
        os.chmod(f"{base}/above", 0o700)
        boundary.forget_identity_answers()
        assert boundary.identity_problem(None, True) is None
        assert f"cannot read {base}/above " in boundary.identity_problem(None, False)
    finally:
        shutil.rmtree(base)


def test_a_local_worker_takes_the_graders_answer_instead_of_walking(reads, tmp_path, monkeypatch):
    """A local worker handed the grader's answers (``pool.local_worker_init``) does not
    walk again; a setting the grader never asked about (a worker without bubblewrap)
    is walked."""
    tree = tmp_path / "tree"
    tree.mkdir(mode=0o755)
    reads.append(str(tree))
    assert boundary.identity_problem(None, True) is None  # the grader's
    answers = boundary.identity_answers()
    boundary.forget_identity_answers()  # a fresh worker process
    walked = []
    walk = boundary.walk_identity_problem
    monkeypatch.setattr(boundary, "walk_identity_problem",
                        lambda *setting: walked.append(setting) or walk(*setting))
    (tree / "now-closed").write_text("")
    (tree / "now-closed").chmod(0o600)  # a walk now would find it
    monkeypatch.setattr(pool, "worker_init", lambda *args: None)  # no sandbox started here
    pool.local_worker_init(dict(os.environ), identity=answers)
    assert boundary.identity_problem(None, True) is None
    assert walked == []
    assert "cannot read" in boundary.identity_problem(None, False)  # walked: a problem found
    assert walked == [(None, False)]


def test_the_data_check_walks_again_after_the_preflight(reads, tmp_path):
    """The pre-flight's sandbox walks before the data check makes the corpus or fetches
    MNIST: a file made between the two that the sandbox's user cannot read is still
    refused by the data check (whose answer the local workers are handed)."""
    tree = tmp_path / "tree"
    tree.mkdir(mode=0o755)
    reads.append(str(tree))
    assert boundary.identity_problem(None, boundary.bwrap_problem(None) is None) is None
    (tree / "corpus.npz").write_text("")
    (tree / "corpus.npz").chmod(0o600)  # made by root with umask 077, after the pre-flight
    with pytest.raises(GraderEnvironmentError, match=f"cannot read {tree}/corpus.npz "):
        check_data(tmp_path / "course", {"01_perceptron"})


def test_the_grader_refuses_to_grade_in_one_line(reads, tmp_path):
    secret = tmp_path / "weights.npy"
    secret.write_bytes(b"x")
    secret.chmod(0o600)
    reads.append(str(secret))
    with pytest.raises(GraderEnvironmentError) as refused:
        check_data(tmp_path / "course", {"01_perceptron"})
    message = str(refused.value)
    assert "\n" not in message and message.endswith("; nothing was graded")
    assert f"cannot read {secret} " in message and "run the grader as a normal user" in message


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")
def test_drop_to_leaves_no_group_capability_or_way_back():
    identity = boundary.IDENTITY_BASE + os.getpid()
    command = [*boundary.drop_to(identity), "/bin/sh", "-c", "id -u; id -g; id -G; cat /proc/self/status"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()
    status = dict(line.split(":", 1) for line in out[3:])
    assert out[:3] == [str(identity)] * 3  # its own gid is its only group
    assert status["Uid"].split() == status["Gid"].split() == [str(identity)] * 4
    for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[name], 16) == 0, name
    assert status["NoNewPrivs"].strip() == "1"
