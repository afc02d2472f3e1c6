"""A notebook's scratch cannot outlive it (issue 20): one that fills its scratch and
locks it (``chmod 000``) leaves the next notebook of the same zygote all of it — with a
tmpfs of its own, which the kernel frees with its namespace, and in the fallback
without namespaces, whose folder the zygote empties after restoring its permissions
(``zygote.remove_scratch``, also tested alone, as an unprivileged user)."""

import ast
import json
import os
import time

import pytest

from autograder.sandbox.boundary import Sandbox, bwrap_problem
from autograder.sandbox.limits import Limits, student_readable
from autograder.sandbox.wire import Link
from autograder.sandbox.zygote import remove_scratch

FILL_MB = 300  # of each notebook's scratch
SCRATCH_MB = 512
FILL_AND_LOCK = f"""
import os
scratch = os.environ["TMPDIR"]
def space():
    s = os.statvfs(scratch)
    return s.f_blocks * s.f_frsize, s.f_bavail * s.f_frsize
before = space()
deep = os.path.join(scratch, "deep", "er")
os.makedirs(deep)
for i in range({FILL_MB // 50}):
    with open(os.path.join(deep, f"fill{{i}}"), "wb") as f:
        f.write(bytes(50 << 20))
os.symlink("/etc", os.path.join(deep, "etc"))
filled = space()
for folder in (deep, os.path.dirname(deep), scratch):  # innermost first: then none opens
    os.chmod(folder, 0)
scratch, before, filled
"""


def run(link, source, seconds=120):
    link.deadline = time.monotonic() + seconds
    outputs = link.request("run", source)["outputs"]
    assert outputs and outputs[-1]["output_type"] == "execute_result", outputs
    return ast.literal_eval(outputs[-1]["data"]["text/plain"])


@pytest.fixture(scope="module")
def sandbox():
    if bwrap_problem():
        pytest.skip(bwrap_problem())
    box = Sandbox(optional=())  # no optional heavy module: not what this is about
    box.start()
    yield box
    box.kill()


@pytest.mark.parametrize("own_namespaces", [True, False], ids=["own-tmpfs", "folder-fallback"])
def test_a_filled_and_locked_scratch_is_all_free_for_the_next_notebook(sandbox, own_namespaces):
    """Three notebooks in turn: each finds its scratch as free as the first found it,
    fills 300 MB of it, and locks every folder of it; none is flagged, and the zygote is
    never started again for it (a fresh sandbox is the last resort: it costs a warm-up)."""
    limits = Limits(memory_bytes=2 << 30, scratch_bytes=SCRATCH_MB << 20)
    if not sandbox.alive():
        sandbox.start()
    zygote, seen = sandbox.process.pid, []
    for _ in range(3):
        notebook_id, from_child, to_child, missing = sandbox.open_notebook(
            60, limits, student_readable(), namespaces=own_namespaces)
        link = Link(to_child, from_child)
        try:
            seen.append(run(link, FILL_AND_LOCK))
        finally:
            for fd in (to_child, from_child):
                os.close(fd)
            assert sandbox.close_notebook(notebook_id) is None
        assert not [m for m in missing if "scratch" in m], missing
        assert sandbox.alive() and sandbox.process.pid == zygote
    first_free = seen[0][1][1]
    for scratch, (total, free), (_, filled) in seen:
        assert free >= first_free, (scratch, free >> 20, first_free >> 20)
        assert filled <= free - (FILL_MB << 20)
        if own_namespaces:  # its own tmpfs, of the size asked for
            assert (scratch, total, free) == ("/tmp", SCRATCH_MB << 20, SCRATCH_MB << 20)
        else:
            assert scratch.startswith("/tmp/notebook-")


def in_unprivileged_child(work):
    """``work()``'s JSON result, run in a fork that, under root, first becomes an
    unprivileged user (permissions then bind it as they bind a sandbox)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
            os.write(write, json.dumps(work()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as result:
        text = result.read()
    os.waitpid(pid, 0)
    return json.loads(text)


def locked_tree(top):
    """A scratch folder as a notebook could leave it: files in folders without any
    permission, a read-only folder, and symlinks to a folder and a file outside."""
    import tempfile
    outside = tempfile.mkdtemp(prefix="scratch-outside-")
    os.mkdir(f"{outside}/folder", 0o500)
    with open(f"{outside}/file", "w") as f:
        f.write("kept")
    os.chmod(f"{outside}/file", 0o400)
    os.makedirs(f"{top}/a/b/c")
    for folder in ("a", "a/b", "a/b/c"):
        with open(f"{top}/{folder}/data", "wb") as f:
            f.write(bytes(1 << 20))
    os.makedirs(f"{top}/read-only/inner")
    os.symlink(f"{outside}/folder", f"{top}/a/b/folder-link")
    os.symlink(f"{outside}/file", f"{top}/a/file-link")
    for folder, mode in (("a/b/c", 0), ("a/b", 0), ("a", 0), ("read-only/inner", 0o500),
                         ("read-only", 0o500), ("", 0)):
        os.chmod(f"{top}/{folder}", mode)
    return outside


def test_remove_scratch_restores_permissions_first_and_follows_no_link():
    """Unprivileged, as a zygote is: the locked folder goes entirely; the folder and
    the file its links point at keep their modes and contents."""
    def work():
        import tempfile
        top = tempfile.mkdtemp(prefix="scratch-")
        outside = locked_tree(top)
        left = remove_scratch(top)
        result = {"left": left, "exists": os.path.lexists(top),
                  "outside": [oct(os.stat(f"{outside}/{n}").st_mode & 0o777)
                              for n in ("folder", "file")],
                  "kept": open(f"{outside}/file").read()}
        os.chmod(f"{outside}/folder", 0o700)
        for name in ("folder", "file"):
            (os.rmdir if name == "folder" else os.unlink)(f"{outside}/{name}")
        os.rmdir(outside)
        return result
    assert in_unprivileged_child(work) == {"left": None, "exists": False,
                                           "outside": ["0o500", "0o400"], "kept": "kept"}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a file the zygote's user cannot remove")
def test_remove_scratch_says_what_it_could_not_remove():
    """A file in a folder of another user's (here root's) stays: said in one line, with
    the space it keeps, instead of passing silently."""
    import shutil
    import tempfile
    top = tempfile.mkdtemp(prefix="scratch-")
    try:
        os.mkdir(f"{top}/theirs")
        with open(f"{top}/theirs/kept", "wb") as f:
            f.write(bytes(3 << 20))
        os.chown(top, 65534, 65534)
        left = in_unprivileged_child(lambda: remove_scratch(top))
    finally:
        shutil.rmtree(top)
    assert left == f"a notebook's scratch folder could not be removed (3 MB left in {top})"
