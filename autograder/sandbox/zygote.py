"""The zygote: a clean, warm process inside the sandbox that forks one process per
notebook (``python -m autograder.sandbox.zygote FD``, started by ``boundary.Sandbox``).

It imports numpy, torch and matplotlib and builds the recording shell once
(``notebook_process.warm_up``), rehearses once what every notebook does first
(``notebook_process.rehearse``: a figure rendered, a torch forward; no state left that
a notebook can see), then waits on its control socket. Started ``--cold`` (the
grader's pre-flight), it imports only ``PREFLIGHT_MODULES`` and skips the rehearsal. It never holds
grading state — it is started with a cleared environment, is never sent a secret, a
seed, a test or a student's cell — and it never runs student code itself: each
notebook runs in a fork of it, so every notebook starts from the same clean image.

Each notebook's fork enters namespaces of its own (``enter_namespaces``): a user
namespace (the zygote's own uid and gid mapped, nothing else) owning new mount, PID,
network, IPC and UTS namespaces. The notebook is PID 1 of
its PID namespace — it can signal no other process (the sandbox's ``/proc`` still lists
bwrap's init and this zygote: see ``boundary``'s audit), and when it ends the kernel
kills every process it left behind — and has no network but its own loopback, which is
down. Its ``/tmp`` is a tmpfs of its own (``mount_scratch``, ``Limits.scratch_bytes``),
mounted in its own mount namespace: its scratch, ``TMPDIR`` and ``HOME``. Nothing it
writes there can outlive it or be seen by the next notebook: when its last process
ends, the kernel drops the namespace and frees the tmpfs, whatever permissions the
notebook left on its files (a scratch filled and then ``chmod 000``-ed once kept 1.2 GB
of the sandbox's shared ``/tmp`` for the zygote's life).
Then it confines itself (``limits.confine``: rlimits, Landlock) and drops every
capability before any student code runs. Where the kernel refuses user namespaces
the notebook is a plain fork (the worker is told; its processes are then killed by
process group, and by cgroup as root), and its scratch is a folder of the sandbox's
``/tmp`` that ``remove_scratch`` empties after it, permissions restored first; a folder
that still cannot be removed is said to the worker (``scratch_left``), which starts a
fresh sandbox.

Control protocol (SOCK_SEQPACKET, one JSON object per message, at most 64 KiB):
  worker → zygote  {"op": "start", "id": N, "timeout": s, "limits": {...} | null,
                    "readable": [paths]} + two file descriptors (SCM_RIGHTS): the
                    notebook's ends of its wire (read, write)
                   {"op": "stop", "id": N, "grace": s}
  zygote → worker  {"ready": true, "missing": [...]}   once, after warming up
                   {"started": N, "missing": [...]}
                   {"ended": N, "signal": k | null, "exit": k | null, "killed": bool,
                    "scratch_left": "why" (only when its scratch folder stayed)}
Nothing but JSON crosses it; the zygote closes both wire descriptors after the fork.
"""

import ctypes
import json
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from autograder.sandbox.limits import ProcessGroup
from autograder.sandbox.policy import NOTEBOOK_NAMESPACES

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

CLONE_FLAGS = {"mount": 0x00020000, "uts": 0x04000000, "ipc": 0x08000000,
               "user": 0x10000000, "pid": 0x20000000, "net": 0x40000000}
NOTEBOOK_FLAGS = sum(CLONE_FLAGS[name] for name in NOTEBOOK_NAMESPACES)  # the policy's, as unshare's
MS_NOSUID, MS_NODEV, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
PR_SET_DUMPABLE = 4
MESSAGE_BYTES = 64 << 10

_libc = ctypes.CDLL(None, use_errno=True)


def enter_namespaces() -> bool:
    """Unshare a user namespace owning new mount, PID, network, IPC and UTS namespaces,
    and map this process's own uid/gid into it (nothing else). True when it worked; the
    next fork is PID 1 of the new PID namespace."""
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(ctypes.c_int(NOTEBOOK_FLAGS)) != 0:
        return False
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    return True


def mount_scratch(size: int) -> bool:
    """In the notebook's own mount namespace (``enter_namespaces``): a fresh tmpfs of
    ``size`` bytes on ``/tmp``, the notebook's alone (mode 0700). Nothing it mounts
    reaches the sandbox (the namespace's mounts are made private first); the kernel
    frees it with the namespace. True when mounted."""
    if _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    options = f"size={int(size)},mode=0700".encode()
    return bool(_libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, options) == 0)


def remove_scratch(path: str) -> str | None:
    """Remove a scratch folder however its notebook left it, symlinks never followed:
    every folder in it is given back to its owner (u+rwx) first, so that a ``chmod 000``
    cannot keep it. None once ``path`` is gone, else why it is not (one line)."""
    try:
        os.chmod(path, 0o700, follow_symlinks=False)
        for _, folders, _, fd in os.fwalk(path, follow_symlinks=False):
            for name in folders:  # a link to a folder is listed too, never entered
                try:
                    if not stat.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                        os.chmod(name, 0o700, dir_fd=fd, follow_symlinks=False)
                except (OSError, ValueError):  # gone, or a link after all (ValueError)
                    pass
    except (OSError, NotImplementedError):
        pass
    shutil.rmtree(path, ignore_errors=True)
    if not os.path.lexists(path):
        return None
    kept = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                kept += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return f"a notebook's scratch folder could not be removed ({kept >> 20} MB left in {path})"


def start_notebook(shell: "InteractiveShell", message: dict[str, Any], wire_fds: list[int],
                   control: socket.socket) -> tuple[int | None, str | None, bool, "ProcessGroup | None"]:
    """Fork the notebook's process (through an intermediate that enters the
    namespaces, mounts the notebook's scratch and forks again, so that the notebook is
    PID 1 of its own); returns (pid, scratch folder for the zygote to remove — None for
    a tmpfs of the notebook's own —, isolated, group). The intermediate exits at once:
    the zygote is a subreaper, so the notebook's process becomes its child."""
    from autograder.sandbox.limits import SCRATCH_BYTES, Limits, ProcessGroup
    from autograder.sandbox.notebook_process import child_main

    limits = Limits(**message["limits"]) if message.get("limits") else None
    isolate_namespaces = message.get("namespaces", True)
    report_read, report_write = os.pipe()
    group: ProcessGroup | None = None
    if limits and os.geteuid() == 0:  # root ignores RLIMIT_NPROC: a pids cgroup caps it
        group = ProcessGroup(f"firstmlp-zygote-{os.getpid()}-{message['id']}", limits.processes)
    intermediate = os.fork()
    if intermediate == 0:
        status = 1
        try:
            control.close()
            os.close(report_read)
            # the zygote is not dumpable, so its forks' /proc/self files are root's: this
            # one writes its uid_map there (as root, the sandbox's user is not root)
            _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
            isolated = isolate_namespaces and enter_namespaces()
            own = isolated and mount_scratch(limits.scratch_bytes if limits else SCRATCH_BYTES)
            scratch = "/tmp" if own else tempfile.mkdtemp(prefix=f"notebook-{message['id']}-")
            pid = os.fork()
            if pid == 0:
                os.close(report_write)
                try:
                    child_main(shell, wire_fds[1], wire_fds[0], message["timeout"], scratch,
                               limits, message.get("readable", []), group if not isolated else None)
                finally:
                    os._exit(0)
            os.write(report_write, json.dumps({"pid": pid, "isolated": bool(isolated),
                                               "scratch": None if own else scratch}).encode())
            status = 0
        finally:
            os._exit(status)
    for fd in (*wire_fds, report_write):
        os.close(fd)
    os.waitpid(intermediate, 0)
    try:
        report = json.loads(os.read(report_read, 4096) or b"{}")
    finally:
        os.close(report_read)
    return report.get("pid"), report.get("scratch"), bool(report.get("isolated")), group


def stop_notebook(pid: int | None, scratch: str | None, group: "ProcessGroup | None",
                  grace: float) -> dict[str, object]:
    """Wait up to ``grace`` seconds for the notebook's process, then kill it (and, as
    PID 1 of its namespace, everything it started, its tmpfs freed with it); remove its
    scratch folder where it had one on the sandbox's ``/tmp``."""
    from autograder.sandbox.notebook_process import reap_children
    deadline = time.monotonic() + grace
    killed, status = False, None
    while pid:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline or not wait_for_exit(pid, deadline):
            killed = True
            target: Callable[[], None]
            for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    target()
                except (ProcessLookupError, PermissionError):
                    pass
            _, status = os.waitpid(pid, 0)
            break
    if pid:
        try:
            os.killpg(pid, signal.SIGKILL)  # without a PID namespace: its process group
        except (ProcessLookupError, PermissionError):
            pass
    if group is not None:
        group.kill_all()
    reap_children(patience=0)  # without a PID namespace: orphans come back to the zygote
    left = remove_scratch(scratch) if scratch else None
    ended: dict[str, object] = {"signal": None, "exit": None, "killed": killed}
    if status is not None:
        ended.update(signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                     exit=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None)
    return dict(ended, scratch_left=left) if left else ended


def wait_for_exit(pid: int, deadline: float) -> bool:
    """Sleep until the child ``pid`` has exited (its pidfd readable: woken the moment it
    ends, not at the next tick of a 10 ms poll, as before issue 24) or ``deadline``
    (monotonic) passes; False only when the deadline passed first. Without pidfds
    (Linux < 5.3), one 10 ms tick."""
    import select
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        time.sleep(0.01)
        return True
    try:
        ended, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        return bool(ended)
    finally:
        os.close(fd)


def missing_here() -> list[str]:
    """What this sandbox cannot apply to a notebook, in words."""
    from autograder.sandbox.limits import landlock_abi
    missing = []
    if landlock_abi() < 1:
        missing.append("file access is not restricted inside the sandbox (this kernel has no "
                       "Landlock)")
    return missing


def serve(control: socket.socket, warm: bool = True, optional: list[str] | None = None) -> None:
    """Warm up (``warm``: the heavy imports, of the optional ones only ``optional``
    (None: all), and a rehearsal of a notebook's first steps; else only what the
    grader's pre-flight needs, ``PREFLIGHT_MODULES``), say ready, then serve the worker's messages until it
    hangs up."""
    from autograder.sandbox.limits import become_subreaper
    from autograder.sandbox.notebook_process import (
        PREFLIGHT_MODULES,
        rehearse,
        warm_modules,
        warm_up,
    )

    shell = warm_up(warm_modules(optional) if warm else PREFLIGHT_MODULES)
    if warm:
        rehearse(shell)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace, no /proc/<pid>/mem of the zygote
    become_subreaper()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    control.send(json.dumps({"ready": True, "missing": missing_here()}).encode())
    running: dict[object, tuple[int | None, str | None, ProcessGroup | None]] = {}
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, MESSAGE_BYTES, 2)
        except OSError:
            return
        if not data:
            return
        message = json.loads(data)
        if message.get("op") == "start" and len(fds) == 2:
            pid, scratch, isolated, group = start_notebook(shell, message, fds, control)
            running[message["id"]] = (pid, scratch, group)
            missing = [] if isolated else [
                "no PID, network or IPC namespace of its own (the kernel refused a user "
                "namespace): processes it leaves are killed by process group"
                + (" and cgroup" if group is not None and group.path else "")]
            control.send(json.dumps({"started": message["id"], "missing": missing}).encode())
        elif message.get("op") == "stop" and message.get("id") in running:
            pid, scratch, group = running.pop(message["id"])
            ended = stop_notebook(pid, scratch, group, float(message.get("grace", 5)))
            control.send(json.dumps(dict(ended, ended=message["id"])).encode())
        else:
            for fd in fds:
                os.close(fd)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(argv[0]))
    try:
        optional = argv[argv.index("--optional") + 1].split(",") \
            if "--optional" in argv[1:-1] else None
        serve(control, warm="--cold" not in argv[1:], optional=optional)
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
