"""The boundary itself, without nbgrader: what a notebook process forked by a worker's
zygote can see and do, who it is on the host, how the worker keeps time from outside,
and what happens when the zygote dies or bubblewrap is switched off."""

import os
import time

import pytest

from autograder.sandbox.boundary import (
    NOBODY,
    Sandbox,
    SandboxGone,
    bwrap_problem,
    identity_problem,
    sandbox_identity,
)
from autograder.sandbox.limits import Limits, student_readable
from autograder.sandbox.wire import Link, RemoteGone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "boundary-test-secret-41d2"
PROBE = f"""
import os, socket
facts = {{}}
facts["pid"], facts["ppid"], facts["uid"] = os.getpid(), os.getppid(), os.getuid()
me = os.readlink("/proc/self")  # its number in the sandbox's /proc
others = [int(p) for p in os.listdir("/proc") if p.isdigit() and p != me]
facts["readable"], facts["signalled"] = [], []
for pid in others:  # the sandbox's init and the zygote, in /proc but out of reach
    for name in ("environ", "mem", "fd/0", "maps"):
        try:
            open(f"/proc/{{pid}}/{{name}}", "rb").read(1)
            facts["readable"].append((pid, name))
        except OSError:
            pass
    try:  # a number means a process of its own namespace (where 1 is itself)
        os.kill(pid, 0) if pid != 1 else None
        facts["signalled"].append(pid) if pid != 1 else None
    except OSError:
        pass
facts["others"] = len(others)
facts["secret"] = any("{SECRET}" in v for v in os.environ.values())
facts["data"] = [os.environ.get(name) for name in ("MNIST_ROOT", "SPEECH_ROOT")]
facts["backend"] = os.environ.get("MPLBACKEND")
status = open("/proc/self/status").read()
facts["capabilities"] = [line.split()[1] for line in status.splitlines()
                         if line.startswith(("CapEff", "CapPrm", "CapBnd"))]
facts["shadow"] = []
for path in ("/etc/shadow", "/etc/gshadow"):  # root's alone on the host, bound in with /etc
    try:
        facts["shadow"].append(open(path, "rb").read(1))
    except OSError:
        pass
facts["solutions"] = os.path.exists("{ROOT}/solutions")
facts["tests"] = os.path.exists("{ROOT}/tests")
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 9))
    facts["udp"] = "sent"
except OSError as error:
    facts["udp"] = error.errno
facts
"""


def run(link, source, seconds=60):
    link.deadline = time.monotonic() + seconds
    return link.request("run", source)


def open_link(sandbox, timeout=10, address_space=2 << 30):
    notebook_id, from_child, to_child, missing = sandbox.open_notebook(
        timeout, Limits(memory_bytes=address_space), student_readable())
    return notebook_id, Link(to_child, from_child), missing


def close(sandbox, notebook_id, link, grace=5):
    for fd in (link.to_child, link.from_child):
        os.close(fd)
    return sandbox.close_notebook(notebook_id, grace)


def facts_of(result):
    text = result["outputs"][-1]["data"]["text/plain"]
    import ast
    return ast.literal_eval(text)


@pytest.fixture(scope="module")
def sandbox():
    if bwrap_problem():
        pytest.skip(bwrap_problem())
    os.environ["FIRSTMLP_GRADING_SECRET"] = SECRET  # the worker's: must not cross
    try:
        box = Sandbox()
        box.start()
    finally:
        del os.environ["FIRSTMLP_GRADING_SECRET"]
    yield box
    box.kill()


def test_a_notebook_sees_only_itself_and_nothing_of_the_grader(sandbox):
    notebook_id, link, missing = open_link(sandbox)
    try:
        facts = facts_of(run(link, PROBE))
    finally:
        close(sandbox, notebook_id, link)
    assert missing == []
    assert facts["pid"] == 1 and facts["ppid"] == 0  # PID 1 of its own namespace
    assert facts["others"] >= 1 and facts["readable"] == [] and facts["signalled"] == []
    assert facts["uid"] == (sandbox_identity() or NOBODY)  # as root, the sandbox's own user
    assert facts["shadow"] == []
    assert facts["capabilities"] == ["0000000000000000"] * 3
    assert not facts["secret"] and not facts["solutions"] and not facts["tests"]
    from autograder.sandbox.policy import environment  # what the grader gives, it gets
    given = environment()
    assert facts["data"] == [given.get("MNIST_ROOT"), given["SPEECH_ROOT"]]
    assert facts["backend"] == given["MPLBACKEND"]
    assert facts["udp"] != "sent"


def test_what_one_notebook_leaves_the_next_cannot_find(sandbox):
    first, link, _ = open_link(sandbox)
    run(link, "import os, subprocess\nopen('left.txt', 'w').write('x')\n"
              "pid = os.fork()\nif pid == 0:\n    import time; time.sleep(600)\n"
              "import os; os.environ['LEFT'] = '1'")
    close(sandbox, first, link)
    second, link, _ = open_link(sandbox)
    try:
        facts = facts_of(run(link, "import os, glob\n{'files': glob.glob('/tmp/**/left.txt', "
                                   "recursive=True), 'env': os.environ.get('LEFT'), "
                                   "'forked': [p for p in range(2, 50) "
                                   "if os.path.exists(f'/proc/self/task/../../{p}/status') "
                                   "and 'sleep' in open(f'/proc/{p}/cmdline').read()]}"))
    finally:
        close(sandbox, second, link)
    assert facts == {"files": [], "env": None, "forked": []}


def test_a_wedged_notebook_is_killed_from_outside_and_the_next_one_runs(sandbox):
    notebook_id, link, _ = open_link(sandbox, timeout=2)
    with pytest.raises(RemoteGone, match="timeout"):
        run(link, "sum(iter(int, 1))", seconds=4)  # C loop: SIGALRM never gets a chance
    reason = close(sandbox, notebook_id, link, grace=1)
    assert "was stopped" in reason
    notebook_id, link, _ = open_link(sandbox)
    try:
        assert run(link, "1 + 1")["outputs"][0]["data"]["text/plain"] == "2"
    finally:
        close(sandbox, notebook_id, link)


@pytest.mark.slow
def test_a_dead_zygote_is_started_again():
    if bwrap_problem():
        pytest.skip(bwrap_problem())
    box = Sandbox(optional=())  # no optional heavy module: not what this is about
    try:
        box.start()
        notebook_id, link, _ = open_link(box)
        box.process.kill()  # the whole sandbox goes: the notebook with it
        with pytest.raises(RemoteGone):
            run(link, "1 + 1", seconds=20)
        assert "restarted" in close(box, notebook_id, link)
        notebook_id, link, _ = open_link(box)  # a fresh zygote
        assert run(link, "2 + 2")["outputs"][0]["data"]["text/plain"] == "4"
        close(box, notebook_id, link)
    finally:
        box.kill()


def test_without_bubblewrap_every_notebook_says_so(monkeypatch):
    """...or, as root, where the sandbox's own user cannot reach this Python (a pyenv
    under /root), the sandbox refuses to start, in one line that names the folder."""
    monkeypatch.setenv("FIRSTMLP_NO_BUBBLEWRAP", "1")
    bwrap_problem.cache_clear()
    box = Sandbox()
    try:
        if identity_problem(None, False):
            with pytest.raises(SandboxGone, match=r"^student code runs as uid \d+, not root, "
                                                  r"and that user cannot read /[^\n]*$"):
                box.start()
            return
        box.start()
        notebook_id, link, missing = open_link(box)
        assert any("no bubblewrap sandbox (switched off by FIRSTMLP_NO_BUBBLEWRAP)" in m
                   for m in missing), missing
        assert run(link, "3 * 3")["outputs"][0]["data"]["text/plain"] == "9"
        close(box, notebook_id, link)
    finally:
        box.kill()
        bwrap_problem.cache_clear()


@pytest.mark.skipif(os.geteuid() != 0, reason="cgroups around the sandbox are made as root")
@pytest.mark.slow
def test_memory_is_capped_for_the_whole_sandbox_not_per_process():
    """Four processes of 1 GB each, every page written, under a sandbox capped at
    0.5 GB + the zygote's 2 GB: not all of them live; the sandbox goes on; the
    notebook's tmpfs is capped too."""
    if bwrap_problem():
        pytest.skip(bwrap_problem())
    box = Sandbox(memory_mb=512, optional=())
    try:
        box.start()
        assert not [m for m in box.missing if "not capped" in m], box.missing
        notebook_id, link, _ = open_link(box, timeout=60)
        code = ("import os\nalive = 0\npids = []\nfor _ in range(4):\n    pid = os.fork()\n"
                "    if pid == 0:\n        hog = bytearray(1 << 30)\n"
                "        for i in range(0, len(hog), 4096):\n            hog[i] = 1\n"
                "        os._exit(0)\n    pids.append(pid)\n"
                "for pid in pids:\n    _, status = os.waitpid(pid, 0)\n"
                "    alive += os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0\nalive")
        try:  # the kernel's OOM killer picks within the sandbox's group: a hog, or the
            alive = run(link, code, seconds=120)["outputs"][-1]["data"]["text/plain"]
            assert int(alive) < 4
        except RemoteGone:
            pass  # notebook itself, which holds torch's pages; either way the cap held
        close(box, notebook_id, link)
        notebook_id, link, _ = open_link(box, 60, 8 << 30)  # the notebook itself: killed,
        with pytest.raises(RemoteGone):                     # and the reason says memory
            run(link, "hog = bytearray(3 << 30)\nfor i in range(0, len(hog), 4096):\n"
                      "    hog[i] = 1", seconds=120)
        assert "memory limit (512 MB" in close(box, notebook_id, link)
        notebook_id, link, _ = open_link(box, timeout=60)  # the sandbox goes on
        assert run(link, "6 * 7")["outputs"][-1]["data"]["text/plain"] == "42"
        close(box, notebook_id, link)
        notebook_id, link, _ = open_link(box, timeout=60)  # 15 files of 200 MB: 3 GB
        try:
            full = run(link, "try:\n    for i in range(15):\n        with open(f'big{i}', 'wb') "
                             "as f:\n            f.write(bytes(200 << 20))\n    'written'\n"
                             "except OSError as error:\n    error.errno", seconds=120)
            assert "'written'" not in str(full["outputs"])  # ENOSPC, or out of memory
        except RemoteGone:
            pass  # killed by the memory cap: the tmpfs pages count against it
        close(box, notebook_id, link)
    finally:
        box.kill()
    assert not [g for g in box.groups if g.path and os.path.exists(g.path)]


def host_view(pid):
    """(uids, effective capabilities, command line) of a process, as the host sees it."""
    status = open(f"/proc/{pid}/status").read().splitlines()
    field = {line.split(":")[0]: line.split(":", 1)[1].split() for line in status}
    command = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
    return [int(u) for u in field["Uid"]], field["CapEff"][0], command


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox's own user is made for a root grader")
def test_as_root_student_code_runs_as_an_unprivileged_user_of_its_own(sandbox):
    """Seen from the host: the zygote and the notebook run as the sandbox's own uid (no
    account has it, no other process), with no capability; only bubblewrap's own
    processes are root's, and they hold no capability either."""
    identity = sandbox_identity()
    assert identity and identity != NOBODY
    notebook_id, link, _ = open_link(sandbox)
    try:
        inside = facts_of(run(link, "import os\nos.getuid(), os.getgid(), os.getgroups()"))
        processes = host_processes()
        parents = {pid: parent for pid, (parent, _) in processes.items()}
        below, todo = [], [sandbox.process.pid]
        while todo:
            above = todo.pop()
            children = [pid for pid, parent in parents.items() if parent == above]
            below, todo = below + children, todo + children
        seen = [host_view(pid) for pid in below]
    finally:
        close(sandbox, notebook_id, link)
    assert inside == (identity, identity, [])  # its own gid, no other group
    students = [(uids, caps) for uids, caps, command in seen if not command.startswith("bwrap")]
    assert len(students) >= 2  # the zygote and the notebook
    assert students == [([identity] * 4, "0000000000000000")] * len(students)
    assert all(caps == "0000000000000000" for _, caps, _ in seen)  # bwrap's own: root's
    of_identity = {pid for pid, (_, uid) in processes.items() if uid == identity}
    assert of_identity <= set(below)  # no process outside the sandbox has its uid


def host_processes():
    """{pid: (parent pid, uid)} of the host's processes, those that exit while they are
    read left out (a busy machine starts and ends processes all the time)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
            uid = os.stat(f"/proc/{entry}").st_uid
        except OSError:  # gone meanwhile
            continue
        found[int(entry)] = (int(stat.rsplit(")", 1)[1].split()[1]), uid)
    return found
