"""The boundary between the grader and a student's notebook.

    grader ──spawn──▶ grading worker ──bwrap──▶ zygote ──fork──▶ notebook process
    (trusted)         (trusted: nbgrader,       (sandbox:        (sandbox: PID 1 of its
                       gradebook, secret,        warm, clean,     own user/PID/net/IPC/UTS
                       seeds, the judge)         never runs       namespaces; rlimits,
                                                 student code)    Landlock, no capabilities)

What the boundary rests on: bubblewrap (``bwrap``, what Flatpak uses) starts the
zygote in new user, PID, network, IPC, UTS and cgroup namespaces, with a new session
(no terminal to inject into), ``--die-with-parent``, a cleared environment, no file
descriptors but the ones passed, a fresh ``/proc``, a minimal ``/dev``, a private
tmpfs ``/tmp`` (2 GiB) and, read-only, only: the system directories, the Python environment,
``autograder/student/`` and ``autograder/sandbox/`` (never ``solutions/``,
the course sources or the nbgrader course folder) and the data sets without the labels
the grader measures with (``data_view``). Inside, every
process is ``nobody`` (uid 65534) with no capabilities. Run by a normal user, the
sandbox is that user's (the kernel's per-user process limit applies to each
notebook); run by root, it is root's uid without any capability, so cgroups around the
whole sandbox cap its processes (root ignores the per-user limit) and its memory, tmpfs
included (a notebook's own address-space limit is per process). Each
notebook then gets its own namespaces from the zygote (``zygote.enter_namespaces``). What it does not give:
protection from kernel bugs, or from another tenant of a shared GPU
(``--device cuda`` binds the NVIDIA device files in).

Where bubblewrap cannot start (not installed, or no user namespaces), the zygote is a
plain child of the worker, with the same clean environment and the same per-notebook
layers (rlimits, Landlock, a pids cgroup as root); every notebook's record says so.

Audit of every channel across the boundary (who reads what the student controls):
  * the pool's queues (grader ↔ worker) carry pickles between two trusted processes
    only; no notebook process holds them, and what a worker returns is strings
    (student, assignment, ok, the last line of an error);
  * the wire (two pipes per notebook): JSON headers and ``.npy`` payloads read with
    ``allow_pickle=False``, size-capped, under a deadline (``wire``); never pickle,
    never ``eval``;
  * the control socket (worker ↔ zygote): JSON only, one message ≤ 64 KiB, read under
    a deadline; the notebook's process has closed its copy before any student code;
  * the notebook's outputs: cell outputs arrive on the wire as JSON and are sanitised
    (``sanitize``) before they enter a notebook, a feedback page or a report;
  * files: the notebook writes only its scratch folder on the sandbox's tmpfs, which
    the grader never reads; it reads only what is bound in;
  * signals and /proc: the notebook sees no process of the grader (PID namespace),
    and the worker's pool queues, pipes and sockets are never inherited (bwrap is
    started with every other descriptor closed). Its ``/proc`` is the sandbox's: it
    lists bwrap's init and the zygote, which the notebook can neither signal (another
    PID namespace) nor read beyond their command lines (another user namespace; the
    zygote is not dumpable) — a fresh ``/proc`` per notebook cannot be mounted under
    bwrap's read-only parts of it;
  * time: every deadline is kept by the worker, outside; a stopped or wedged notebook
    or zygote is killed from there, and a zygote that dies is started again.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

from autograder import PACKAGE, SANDBOX, STUDENT
from autograder.sandbox.limits import ProcessGroup

NOBODY = 65534
PROCESSES = 160  # the zygote's tasks and one notebook's (64 by default), as root
ZYGOTE_MB = 2048  # the zygote's own memory, on top of a notebook's (as root: a cgroup)
SCRATCH_BYTES = 2 << 30  # the sandbox's tmpfs /tmp: notebooks' scratch folders
GROUP_PREFIX = "firstmlp-sandbox-"
STARTUP_SECONDS = 180  # importing torch on a loaded machine
REPLY_SECONDS = 20


def sandbox_modules():
    """The helper code the sandbox may read: the package's ``__init__``, the student
    side (``autograder/student/``) and the sandbox's own (``autograder/sandbox/``)."""
    return [PACKAGE / "__init__.py", STUDENT, SANDBOX]


def python_dirs():
    """Where this interpreter and its packages live (the venv included)."""
    import site
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    return sorted(d for d in dirs if d and Path(d).exists())


def sandbox_environment(device=None, threads=None):
    """The zygote's whole environment: nothing of the grader's (no secret)."""
    from autograder.sandbox import data_view
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(Path.home()),
           "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONNOUSERSITE": "1",
           "PYTHONDONTWRITEBYTECODE": "1", **data_view.environment(),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    if device:
        env["FIRSTMLP_DEVICE"] = device
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def bwrap_arguments(device=None, env=None):
    """bubblewrap's command line, up to the command: what the sandbox is given (its
    environment is ``env`` and nothing else: ``--clearenv``, then ``--setenv``)."""
    arguments = ["bwrap", "--unshare-all", "--unshare-user", "--uid", str(NOBODY), "--gid",
                 str(NOBODY), "--die-with-parent", "--new-session", "--clearenv"]
    for name, value in sorted((env or {}).items()):
        arguments += ["--setenv", name, value]
    arguments += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(SCRATCH_BYTES), "--tmpfs", "/tmp",
                 "--hostname", "notebook"]
    for path in ("/usr", "/etc", "/opt"):
        arguments += ["--ro-bind-try", path, path]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = os.path.realpath(f"/{link}")
        arguments += (["--symlink", target, f"/{link}"] if target != f"/{link}"
                      else ["--ro-bind-try", f"/{link}", f"/{link}"])
    for path in python_dirs():
        arguments += ["--ro-bind", path, path]
    from autograder.sandbox import data_view  # after the Python environment: it masks in it
    arguments += data_view.bwrap_arguments()
    cache = matplotlib_cache()
    if cache:
        arguments += ["--ro-bind", cache, "/tmp/matplotlib"]
    for module in sandbox_modules():
        arguments += ["--ro-bind-try", str(module), str(module)]
    if device and str(device).startswith("cuda"):
        arguments += ["--ro-bind-try", "/sys", "/sys"]
        for name in sorted(os.listdir("/dev")):
            if name.startswith(("nvidia", "dri")):
                arguments += ["--dev-bind-try", f"/dev/{name}", f"/dev/{name}"]
    return arguments


def matplotlib_cache():
    """The grader's matplotlib font cache (read-only in the sandbox: no rebuild)."""
    try:
        import matplotlib
        cache = matplotlib.get_cachedir()
        return cache if any(Path(cache).glob("fontlist-*.json")) else None
    except Exception:
        return None


@lru_cache(maxsize=None)
def bwrap_problem(device=None):
    """None when bubblewrap starts a sandbox here, else why it cannot (one line)."""
    if os.environ.get("FIRSTMLP_NO_BUBBLEWRAP"):
        return "switched off by FIRSTMLP_NO_BUBBLEWRAP"
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    try:
        result = subprocess.run([*bwrap_arguments(device), "--", sys.executable, "-c", "pass"],
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return f"bubblewrap could not start ({type(error).__name__}: {error})"
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1][:200]
        return f"bubblewrap could not start a sandbox here ({detail})"
    return None


class SandboxGone(Exception):
    """The zygote died, stopped answering, or broke its protocol."""


class Sandbox:
    """The worker's zygote: started on first use, started again after it dies."""

    def __init__(self, device=None, threads=None, use_bwrap=True, memory_mb=None):
        self.device, self.threads, self.use_bwrap = device, threads, use_bwrap
        self.memory_mb = memory_mb or int(os.environ.get("FIRSTMLP_SANDBOX_MEMORY_MB", 6144))
        self.process = self.control = self.log = None
        self.groups, self.missing, self.ids, self.oom_seen = [], [], 0, 0

    # ---- lifecycle -------------------------------------------------------------------

    def start(self):
        self.kill()
        problem = bwrap_problem(self.device) if self.use_bwrap else "not asked for"
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = [sys.executable, "-m", "autograder.sandbox.zygote", str(child.fileno())]
        env = sandbox_environment(self.device, self.threads)
        if problem is None:
            command = [*bwrap_arguments(self.device, env), "--", *command]
        name = f"{GROUP_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
        root = problem is None and os.geteuid() == 0
        self.groups = [ProcessGroup(name, PROCESSES),
                       ProcessGroup(name, (self.memory_mb + ZYGOTE_MB) << 20, "memory")] \
            if root else []
        joined = [os.path.join(g.path, "cgroup.procs") for g in self.groups if g.path]
        if joined:  # join before anything starts
            command = ["/bin/sh", "-c", 'for g in "$0" "$1"; do echo $$ > "$g" || exit 1; done; '
                       'shift; exec "$@"', *(joined + joined)[:2], *command]
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            command, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True,
            env=env, cwd="/")
        child.close()
        self.control = parent
        hello = self.receive(STARTUP_SECONDS)
        if not hello.get("ready"):
            raise SandboxGone("the sandbox did not start")
        self.missing = [] if problem is None else [
            f"no bubblewrap sandbox ({problem}): the notebook ran in the grader's own PID, "
            "network and IPC namespaces, with rlimits, Landlock and a pids cgroup only"]
        if problem is not None:  # data_view's policy, by Landlock alone
            from autograder.sandbox.data_view import unprotected
            self.missing += unprotected()
        for group, what in zip(self.groups, ("processes", "memory")):
            if not group.path:
                self.missing.append(f"the sandbox's {what} are not capped as a whole (no "
                                    "cgroup could be made)")
        self.missing += [str(m) for m in hello.get("missing", [])]

    def oom_kills(self):
        """Processes killed so far for the sandbox's memory cap (0 where none is set)."""
        return sum(g.oom_kills() for g in self.groups if g.controller == "memory")

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """Kill the sandbox (bwrap takes every process in it along)."""
        if self.process is not None:
            for kill in (lambda: os.killpg(self.process.pid, signal.SIGKILL), self.process.kill):
                try:
                    kill()
                except (ProcessLookupError, PermissionError, OSError):
                    pass
            self.process.wait()
        for group in self.groups:
            group.kill_all()
        if self.control is not None:
            self.control.close()
        if self.log is not None:
            self.log.close()
        self.process = self.control = self.log = None
        self.groups = []

    def startup_error(self):
        """The last lines the zygote wrote to stderr (why it did not start)."""
        if self.log is None:
            return ""
        self.log.seek(0)
        lines = self.log.read()[-4000:].decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    # ---- messages ----------------------------------------------------------------------

    def receive(self, seconds):
        self.control.settimeout(seconds)
        try:
            data = self.control.recv(64 << 10)
        except (OSError, socket.timeout) as error:
            self.fail(f"no answer from the sandbox ({type(error).__name__})")
        if not data:
            self.fail("the sandbox ended")
        try:
            message = json.loads(data)
        except ValueError:
            self.fail("the sandbox broke its protocol")
        if not isinstance(message, dict):
            self.fail("the sandbox broke its protocol")
        return message

    def fail(self, reason):
        detail = self.startup_error()
        self.kill()
        raise SandboxGone(f"{reason}{': ' + detail if detail else ''}")

    # ---- notebooks -----------------------------------------------------------------------

    def open_notebook(self, timeout, limits=None, readable=()):
        """A new notebook process: (id, wire read fd, wire write fd, missing)."""
        from dataclasses import asdict
        if not self.alive():
            self.start()
        self.ids += 1
        self.oom_seen = self.oom_kills()
        to_child_read, to_child_write = os.pipe()
        from_child_read, from_child_write = os.pipe()
        message = {"op": "start", "id": self.ids, "timeout": timeout,
                   "limits": asdict(limits) if limits else None, "readable": list(readable)}
        try:
            socket.send_fds(self.control, [json.dumps(message).encode()],
                            [to_child_read, from_child_write])
        except OSError:
            self.fail("the sandbox ended")
        finally:
            os.close(to_child_read)
            os.close(from_child_write)
        reply = self.receive(REPLY_SECONDS)
        if reply.get("started") != self.ids:
            self.fail("the sandbox broke its protocol")
        missing = self.missing + [str(m) for m in reply.get("missing", [])]
        return self.ids, from_child_read, to_child_write, missing

    def close_notebook(self, notebook_id, grace=5):
        """Stop a notebook (killed past ``grace`` s); None for a clean exit, else why it
        stopped. A zygote that does not answer is killed and started again later."""
        try:
            self.control.send(json.dumps({"op": "stop", "id": notebook_id, "grace": grace}).encode())
            reply = self.receive(grace + REPLY_SECONDS)
        except (OSError, SandboxGone, AttributeError):
            self.kill()
            return "the sandbox stopped answering and was restarted"
        if reply.get("ended") != notebook_id:
            self.kill()
            return "the sandbox broke its protocol and was restarted"
        if reply.get("killed"):
            return f"the notebook ran longer than {grace} s after the grader hung up and was stopped"
        if isinstance(reply.get("signal"), int):
            if reply["signal"] == signal.SIGKILL and self.oom_kills() > self.oom_seen:
                return (f"the notebook went over its memory limit ({self.memory_mb} MB for the "
                        "notebook and everything it started) and the kernel killed it")
            return f"the notebook was killed by signal {reply['signal']}"
        if isinstance(reply.get("exit"), int) and reply["exit"] != 0:
            return f"the notebook's process exited with status {reply['exit']}"
        return None


_SANDBOX = None


def worker_sandbox(device=None, threads=None):
    """This worker's sandbox (one zygote per grading worker), killed, cgroups and all,
    when the worker exits."""
    global _SANDBOX
    if _SANDBOX is None:
        import atexit
        _SANDBOX = Sandbox(device or os.environ.get("FIRSTMLP_DEVICE"),
                           threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or None)
        atexit.register(_SANDBOX.kill)
    return _SANDBOX


def remove_stale_groups():
    """The cgroups of sandboxes whose worker is gone (a grader killed with SIGKILL)."""
    def alive(pid):
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    for prefix in (GROUP_PREFIX, "firstmlp-zygote-"):  # sandboxes; notebooks without bwrap
        ProcessGroup.remove_stale(prefix, alive)
