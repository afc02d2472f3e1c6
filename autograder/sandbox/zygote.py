"""The zygote: a clean, warm process inside the sandbox that forks one process per
notebook (``python -m autograder.sandbox.zygote FD``, started by ``boundary.Sandbox``).

It imports numpy, torch and matplotlib and builds the recording shell once
(``notebook_process.warm_up``), then waits on its control socket. It never holds
grading state — it is started with a cleared environment, is never sent a secret, a
seed, a test or a student's cell — and it never runs student code itself: each
notebook runs in a fork of it, so every notebook starts from the same clean image.

Each notebook's fork enters namespaces of its own (``enter_namespaces``): a user
namespace owning new PID, network, IPC and UTS namespaces. The notebook is PID 1 of
its PID namespace — it can signal no other process (the sandbox's ``/proc`` still lists
bwrap's init and this zygote: see ``boundary``'s audit), and when it ends the kernel
kills every process it left behind — and has no network but its own loopback, which is
down.
Then it confines itself (``limits.confine``: rlimits, Landlock) and drops every
capability before any student code runs. Where the kernel refuses user namespaces
the notebook is a plain fork (the worker is told; its processes are then killed by
process group, and by cgroup as root).

Control protocol (SOCK_SEQPACKET, one JSON object per message, at most 64 KiB):
  worker → zygote  {"op": "start", "id": N, "timeout": s, "limits": {...} | null,
                    "readable": [paths]} + two file descriptors (SCM_RIGHTS): the
                    notebook's ends of its wire (read, write)
                   {"op": "stop", "id": N, "grace": s}
  zygote → worker  {"ready": true, "missing": [...]}   once, after warming up
                   {"started": N, "missing": [...]}
                   {"ended": N, "signal": k | null, "exit": k | null, "killed": bool}
Nothing but JSON crosses it; the zygote closes both wire descriptors after the fork.
"""

import ctypes
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time

CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER = 0x04000000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
NOTEBOOK_NAMESPACES = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
PR_SET_DUMPABLE = 4
MESSAGE_BYTES = 64 << 10

_libc = ctypes.CDLL(None, use_errno=True)


def enter_namespaces():
    """Unshare a user namespace owning new PID, network, IPC and UTS namespaces, and
    map this process's own uid/gid into it (nothing else). True when it worked; the
    next fork is PID 1 of the new PID namespace."""
    uid, gid = os.getuid(), os.getgid()
    if _libc.unshare(ctypes.c_int(NOTEBOOK_NAMESPACES)) != 0:
        return False
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    return True


def start_notebook(shell, message, wire_fds, control):
    """Fork the notebook's process (through an intermediate that enters the
    namespaces and forks again, so that the notebook is PID 1 of its own); returns
    (pid, scratch, isolated). The intermediate exits at once: the zygote is a
    subreaper, so the notebook's process becomes its child."""
    from autograder.sandbox.notebook_process import child_main
    from autograder.sandbox.limits import Limits, ProcessGroup

    scratch = tempfile.mkdtemp(prefix=f"notebook-{message['id']}-")
    limits = Limits(**message["limits"]) if message.get("limits") else None
    isolate_namespaces = message.get("namespaces", True)
    report_read, report_write = os.pipe()
    group = None
    if limits and os.geteuid() == 0:  # root ignores RLIMIT_NPROC: a pids cgroup caps it
        group = ProcessGroup(f"firstmlp-zygote-{os.getpid()}-{message['id']}", limits.processes)
    intermediate = os.fork()
    if intermediate == 0:
        status = 1
        try:
            control.close()
            os.close(report_read)
            isolated = isolate_namespaces and enter_namespaces()
            pid = os.fork()
            if pid == 0:
                os.close(report_write)
                try:
                    child_main(shell, wire_fds[1], wire_fds[0], message["timeout"], scratch,
                               limits, message.get("readable", []), group if not isolated else None)
                finally:
                    os._exit(0)
            os.write(report_write, json.dumps({"pid": pid, "isolated": bool(isolated)}).encode())
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
    return report.get("pid"), scratch, bool(report.get("isolated")), group


def stop_notebook(pid, scratch, group, grace):
    """Wait up to ``grace`` seconds for the notebook's process, then kill it (and, as
    PID 1 of its namespace, everything it started); clean its scratch folder."""
    from autograder.sandbox.notebook_process import reap_children
    deadline = time.monotonic() + grace
    killed, status = False, None
    while pid:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            killed = True
            for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    target()
                except (ProcessLookupError, PermissionError):
                    pass
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.01)
    if pid:
        try:
            os.killpg(pid, signal.SIGKILL)  # without a PID namespace: its process group
        except (ProcessLookupError, PermissionError):
            pass
    if group is not None:
        group.kill_all()
    reap_children(patience=0)  # without a PID namespace: orphans come back to the zygote
    shutil.rmtree(scratch, ignore_errors=True)
    if status is None:
        return {"signal": None, "exit": None, "killed": killed}
    return {"signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None, "killed": killed}


def missing_here():
    """What this sandbox cannot apply to a notebook, in words."""
    from autograder.sandbox.limits import landlock_abi
    missing = []
    if landlock_abi() < 1:
        missing.append("file access is not restricted inside the sandbox (this kernel has no "
                       "Landlock)")
    return missing


def serve(control):
    from autograder.sandbox.notebook_process import warm_up
    from autograder.sandbox.limits import become_subreaper

    shell = warm_up()
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace, no /proc/<pid>/mem of the zygote
    become_subreaper()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    control.send(json.dumps({"ready": True, "missing": missing_here()}).encode())
    running = {}
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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(argv[0]))
    try:
        serve(control)
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
