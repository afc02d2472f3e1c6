"""The boundary between the grader and a student's notebook.

    grader ──fork*──▶ grading worker ──bwrap──▶ zygote ──fork──▶ notebook process
    (trusted)         (trusted: nbgrader,       (sandbox:        (sandbox: PID 1 of its
                       gradebook, secret,        warm, clean,     own user/mount/PID/net/
                       seeds, the judge)         never runs       IPC/UTS namespaces, its
                                                 student code)    own tmpfs /tmp; rlimits,
                                                                  Landlock, no capabilities)
    * of the grader's forkserver, a fresh interpreter that imported only the workers'
      third-party modules, where the sandbox is bubblewrap; else spawned
      (``pool.forkserver_is_safe``); a Dask worker is the cluster's.

What the boundary rests on: bubblewrap (``bwrap``, what Flatpak uses) starts the
zygote in new mount, PID, network, IPC, UTS and cgroup namespaces, with a new session
(no terminal to inject into), ``--die-with-parent``, a cleared environment, no file
descriptors but the ones passed, a fresh ``/proc``, a minimal ``/dev``, a private
tmpfs ``/tmp`` (2 GiB: the zygote's; a notebook's scratch only where it cannot have a
tmpfs of its own) and, read-only, only: the system directories, the Python environment,
``autograder/student/`` and ``autograder/sandbox/`` (never ``solutions/``,
the course sources or the nbgrader course folder) and the data sets without the labels
the grader measures with (``data_view``). No process in it has a capability.

Who student code is on the host. Run by a normal user, bubblewrap also makes a user
namespace, in which that user is ``nobody`` (uid 65534): the sandbox is that user's,
and the kernel's per-user process limit applies to each notebook. Run by root, student
code is never root: bubblewrap mounts as root, without a user namespace (one would map
host root in, as it did before issue 20, when ``/etc/shadow`` could be read through the
bound ``/etc`` and printed into feedback), and the command it runs first drops, for
good, to the sandbox's own uid and gid (``sandbox_identity``: one per worker, no
account's, no other process's; no supplementary group, no capability,
``no_new_privs``: ``drop_to``). Host files only root may read stay unreadable, and the
grader refuses to grade, in one line, where that user cannot read what the sandbox is
given (``identity_problem``). Cgroups made by root before the drop cap the whole
sandbox's processes and memory, tmpfs included (a notebook's own address-space limit is
per process). Each notebook then gets namespaces of its own from the zygote
(``zygote.enter_namespaces``), and a tmpfs ``/tmp`` of its own as scratch, which the
kernel frees when its last process ends, whatever it did to its files. What it does
not give: protection from kernel bugs, or from another tenant of a shared GPU
(``--device cuda`` binds the NVIDIA device files in).

Where bubblewrap cannot start (not installed, or no user namespaces), the zygote is a
plain child of the worker, with the same clean environment, the same drop to the
sandbox's own user as root (whose Python must then be reachable through the host's
folders: else the grader refuses), and the same per-notebook layers (rlimits, Landlock,
its own tmpfs where user namespaces exist, cgroups around the zygote as root); every
notebook's record says so.

What the sandbox is given — binds, devices, environment, namespaces, rlimits, Landlock
and cgroups — is one object, ``policy.Policy`` (its audit table is in ``policy``);
bubblewrap's command line and the fallback's are rendered from it here (``bwrap_argv``,
``zygote_command``).

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
  * files: the notebook writes only its scratch, a tmpfs ``/tmp`` of its own in a mount
    namespace of its own (else a folder of the sandbox's ``/tmp`` that the zygote
    empties after it, permissions restored first), which the grader never reads and
    the next notebook never sees; it reads only what is bound in, and as root's
    sandbox only what every user may read;
  * signals and /proc: the notebook sees no process of the grader (PID namespace),
    and the worker's pool queues, pipes and sockets are never inherited (bwrap is
    started with every other descriptor closed). Its ``/proc`` is the sandbox's: it
    lists bwrap's init and the zygote, which the notebook can neither signal (another
    PID namespace) nor read beyond their command lines (another user namespace, and
    as root's sandbox another user; the zygote is not dumpable) — a fresh ``/proc`` per
    notebook cannot be mounted under bwrap's read-only parts of it;
  * time: every deadline is kept by the worker, outside; a stopped or wedged notebook
    or zygote is killed from there, and a zygote that dies is started again.
"""

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import IO, Any, NoReturn

from autograder.sandbox.limits import MEMORY_MB, Limits, ProcessGroup
from autograder.sandbox.policy import (
    IDENTITY_BASE,
    NOBODY,  # noqa: F401 (the sandbox's user, named here too)
    UNSHARE_ALL,
    Policy,
    course_policy,
    missing,
)

GROUP_PREFIX = "firstmlp-sandbox-"
STARTUP_SECONDS = 180  # importing torch on a loaded machine
REPLY_SECONDS = 20


def sandbox_identity() -> int | None:
    """The host uid and gid (one number) that student code runs as when the grader is
    root; None for a normal user, whose sandbox is that user's, as before.

    Not root's: a sandbox user mapped to host root read every root-only file bound in
    (``/etc/shadow``). Not ``nobody`` either: daemons and other containers' unmapped ids
    run as 65534, and a process can signal, ptrace or read the files of another of its
    uid wherever no namespace separates them (the fallback without bubblewrap). So each
    worker's sandbox gets a uid of its own, ``IDENTITY_BASE`` + the worker's pid: no
    account has it (systemd's uid conventions leave 0x70000000–0x7ffdffff unused), no
    process but this sandbox's runs as it (a live pid is unique, pid_max ≤ 2²²), two
    workers' notebooks cannot reach each other, and the kernel's per-user process limit
    (RLIMIT_NPROC, which root ignored) counts this sandbox's processes only. It owns no
    file and belongs to no group: it reads what every user may read."""
    if os.geteuid() != 0:
        return None
    return IDENTITY_BASE + os.getpid()


DROP = ("import ctypes, os, sys\n"
        "identity, libc = int(sys.argv[1]), ctypes.CDLL(None)\n"
        "for capability in range(64):\n"
        "    libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP\n"
        "os.setgroups([])\n"
        "os.setresgid(identity, identity, identity)\n"
        "os.setresuid(identity, identity, identity)  # clears every capability\n"
        "if libc.prctl(38, 1, 0, 0, 0) or os.getresuid() != (identity,) * 3:  # NO_NEW_PRIVS\n"
        "    sys.exit('the sandbox could not drop to its own user')\n"
        "os.execv(sys.argv[2], sys.argv[2:])")


def drop_to(identity: int | None) -> list[str]:
    """The command prefix that runs the rest as ``identity`` (uid and gid, no
    supplementary group, no capability, no way back: ``no_new_privs``); nothing for
    None. Run by root after whatever needs root (joining the sandbox's cgroups,
    bubblewrap's mounts), before the zygote's first instruction."""
    if identity is None:
        return []
    return [sys.executable, "-I", "-S", "-c", DROP, str(identity)]


SYSTEM_PREFIXES = ("/usr/", "/etc/", "/opt/", "/dev/", "/sys/", "/proc/", "/bin/", "/sbin/",
                   "/lib/", "/lib64/")


def sandbox_reads(device: str | None = None) -> list[str]:
    """What the grader hands the sandbox to read beyond the system's own directories:
    the sources of bubblewrap's binds (the Python environment, the helpers, the data
    sets, the font cache), as ``bwrap_arguments`` lists them."""
    arguments = bwrap_arguments(device)
    sources = [arguments[i + 1] for i, option in enumerate(arguments[:-2])
               if option in ("--ro-bind", "--ro-bind-try", "--bind", "--bind-try")]
    return [s for s in dict.fromkeys(sources)
            if os.path.exists(s) and not f"{s}/".startswith(SYSTEM_PREFIXES)]


def unreadable(path: str, enter_only: bool = False) -> bool:
    """True when a user who owns nothing and is in no group may not read ``path`` (a
    folder: list and enter it; only enter it, ``enter_only``)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False  # gone meanwhile, or a name inside what could not be listed
    return closed(mode, enter_only)


def closed(mode: int, enter_only: bool = False) -> bool:
    """``unreadable`` for a file of ``mode`` (a link never is: its target is judged
    where it lives)."""
    if stat.S_ISLNK(mode):
        return False
    needed = (stat.S_IXOTH if enter_only else stat.S_IROTH | stat.S_IXOTH) \
        if stat.S_ISDIR(mode) else stat.S_IROTH
    return mode & needed != needed


def first_unreadable(top: str) -> str | None:
    """``top`` or the first path below it that ``unreadable`` names, links not
    followed; None when there is none. One ``lstat`` per name, from ``os.scandir``
    (a root grader walks the Python environments, about 125 000 names, per process:
    ``os.walk`` and a path joined for each took 1.3 s of every worker's start)."""
    if unreadable(top):
        return top
    folders = [top]
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except OSError:  # not a folder, or gone meanwhile
            continue
        with entries:
            for entry in entries:
                try:
                    mode = entry.stat(follow_symlinks=False).st_mode
                except OSError:
                    continue
                if closed(mode):
                    return entry.path
                if stat.S_ISDIR(mode):
                    folders.append(entry.path)
    return None


def outermost(paths: Iterable[str]) -> list[str]:
    """``paths`` less those inside another of them (walked with it)."""
    paths = list(paths)
    return [p for p in paths
            if not any(q != p and p.startswith(q.rstrip("/") + "/") for q in paths)]


# identity_problem's answers in this process, {(device, through_bwrap): answer}; a local
# grading worker is handed the grader's (``adopt_identity_answers``)
_IDENTITY_ANSWERS: dict[tuple[str | None, bool], str | None] = {}


def identity_problem(device: str | None = None, through_bwrap: bool | None = None) -> str | None:
    """None when the sandbox's own user (``sandbox_identity``) can read everything the
    sandbox is given, else one line naming the first path it cannot: the grader then
    refuses to grade (its failure must never be a student's zero). Inside bubblewrap
    (``through_bwrap``, default: where it starts) only what is bound counts; without
    it, the folders above it too. Walked once per process and setting (the Python
    environment: 0.5 s as root) until ``forget_identity_answers`` (the grader's data
    check, after making its data), not at all in a local worker handed the grader's
    answer."""
    if through_bwrap is None:
        through_bwrap = bwrap_problem(device) is None
    key = (device, through_bwrap)
    if key not in _IDENTITY_ANSWERS:
        _IDENTITY_ANSWERS[key] = walk_identity_problem(device, through_bwrap)
    return _IDENTITY_ANSWERS[key]


def identity_answers() -> dict[tuple[str | None, bool], str | None]:
    """The answers ``identity_problem`` gave in this process (for a local worker)."""
    return dict(_IDENTITY_ANSWERS)


def adopt_identity_answers(answers: dict[tuple[str | None, bool], str | None]) -> None:
    """``identity_answers`` of the grader's process, taken as this process's own (a
    local grading worker: the same host, files and user, moments later)."""
    _IDENTITY_ANSWERS.update(answers)


def forget_identity_answers() -> None:
    _IDENTITY_ANSWERS.clear()


def walk_identity_problem(device: str | None, through_bwrap: bool) -> str | None:
    """``identity_problem``, walked."""
    identity = sandbox_identity()
    if identity is None:
        return None
    for top in outermost(sandbox_reads(device)):
        above = [] if through_bwrap else [str(p) for p in reversed(Path(top).parents)]
        path = next((p for p in above if unreadable(p, enter_only=True)), None) \
            or first_unreadable(top)
        if path is not None:
            fixes = "make it readable by all (chmod o+rX)" + (
                "" if through_bwrap else ", install bubblewrap (scripts/setup-sandbox)")
            return (f"student code runs as uid {identity}, not root, and that user cannot "
                    f"read {path} (the grader runs as root"
                    f"{'' if through_bwrap else ', without bubblewrap'}): {fixes}, or run "
                    "the grader as a normal user")
    return None


def bwrap_arguments(device: str | None = None, env: dict[str, str] | None = None,
                    identity: int | None = None) -> list[str]:
    """bubblewrap's command line, up to the command, for the course's policy
    (``policy.course_policy``): its environment is ``env`` and nothing else."""
    return bwrap_argv(course_policy(device, identity=identity, env=env or {}))


BWRAP_OPTIONS = {"ro": "--ro-bind", "ro-try": "--ro-bind-try", "dev-try": "--dev-bind-try",
                 "symlink": "--symlink"}


def bwrap_argv(policy: Policy) -> list[str]:
    """bubblewrap's command line for ``policy``, up to the command (``--clearenv``, then
    ``--setenv`` for each of its variables).

    Run by a normal user, bubblewrap maps that user to ``nobody`` in a user namespace
    of its own. Run by root for ``policy.identity`` (``sandbox_identity``), it makes no
    user namespace (one would map root in, or leave bubblewrap unable to reach a bind
    source below a folder only root may enter, such as root's pyenv Python or
    ``~/.cache/firstmlp``): it mounts as root, and the command it runs drops to the
    identity first (``drop_to``)."""
    if "user" in policy.namespaces:  # --unshare-all, the user namespace a must
        if set(policy.namespaces) != set(UNSHARE_ALL):
            raise ValueError(f"bubblewrap unshares all or none with a user namespace: "
                             f"{policy.namespaces}")
        arguments = ["bwrap", "--unshare-all", "--unshare-user", "--uid", str(policy.uid),
                     "--gid", str(policy.uid)]
    else:
        arguments = ["bwrap", *(f"--unshare-{name}{'-try' if name == 'cgroup' else ''}"
                                for name in policy.namespaces)]
    arguments += ["--die-with-parent", "--new-session", "--clearenv"]
    for name, value in policy.env:
        arguments += ["--setenv", name, value]
    arguments += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777",
                  "--size", str(policy.scratch_bytes), "--tmpfs", "/tmp",
                  "--hostname", policy.hostname]
    for bind in (*policy.binds, *policy.devices):
        arguments += (["--tmpfs", bind.dest, "--remount-ro", bind.dest] if bind.mode == "empty"
                      else [BWRAP_OPTIONS[bind.mode], bind.source, bind.dest])
    return arguments if policy.identity is None else open_parents(arguments)


def zygote_command(policy: Policy, fd: int, bubblewrap: bool, warm: bool = True,
                   optional: Iterable[str] | None = None) -> list[str]:
    """The zygote's command line: dropped to ``policy.identity`` as root, inside
    bubblewrap where it starts (``bubblewrap``), else a plain child of the worker (the
    fallback: the same environment, drop, cgroups and per-notebook layers); ``--cold``
    (not ``warm``) imports only what the pre-flight needs (``PREFLIGHT_MODULES``); ``--optional``
    names the optional heavy modules it imports (``notebook_process.OPTIONAL_MODULES``;
    None: all)."""
    command = [*drop_to(policy.identity), sys.executable, "-m", "autograder.sandbox.zygote",
               str(fd), *([] if warm else ["--cold"]),
               *([] if optional is None else ["--optional", ",".join(sorted(optional))])]
    return [*bwrap_argv(policy), "--", *command] if bubblewrap else command


BIND_OPTIONS = ("--bind", "--bind-try", "--ro-bind", "--ro-bind-try", "--dev-bind",
                "--dev-bind-try", "--symlink")
PLACE_OPTIONS = ("--tmpfs", "--proc", "--dev", "--dir", "--mqueue")


def open_parents(arguments: list[str]) -> list[str]:
    """``arguments`` with the folders above each bind's destination made first, 0755:
    bubblewrap run by root makes a missing one 0700, which the sandbox's own user could
    not enter. They are empty folders of the sandbox's own root, not the host's."""
    places = [arguments[i + 2] for i, a in enumerate(arguments[:-2]) if a in BIND_OPTIONS]
    places += [arguments[i + 1] for i, a in enumerate(arguments[:-1]) if a in PLACE_OPTIONS]

    def made(path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in places)

    parents = dict.fromkeys(str(parent) for i, a in enumerate(arguments[:-2])
                            if a in BIND_OPTIONS
                            for parent in reversed(Path(arguments[i + 2]).parents)
                            if str(parent) != "/" and not made(str(parent)))
    return [*arguments[:1], *(x for p in parents for x in ("--perms", "0755", "--dir", p)),
            *arguments[1:]]


@cache
def bwrap_problem(device: str | None = None) -> str | None:
    """None when bubblewrap starts a sandbox here, else why it cannot (one line)."""
    if os.environ.get("FIRSTMLP_NO_BUBBLEWRAP"):
        return "switched off by FIRSTMLP_NO_BUBBLEWRAP"
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    identity = sandbox_identity()
    try:
        result = subprocess.run([*bwrap_arguments(device, identity=identity), "--",
                                 *drop_to(identity), sys.executable, "-c", "pass"],
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

    def __init__(self, device: str | None = None, threads: int | None = None, use_bwrap: bool = True,
                 memory_mb: int | None = None, warm: bool = True,
                 optional: Iterable[str] | None = None) -> None:
        self.device, self.threads, self.use_bwrap = device, threads, use_bwrap
        self.warm = warm  # False: a zygote without the heavy imports (the pre-flight's)
        self.optional = None if optional is None else tuple(optional)  # None: all
        self.memory_mb = memory_mb or MEMORY_MB  # the run's (GradingRun.memory_mb), handed in
        self.process: subprocess.Popen[bytes] | None = None
        self.control: socket.socket | None = None
        self.log: IO[bytes] | None = None
        self.groups: list[ProcessGroup] = []
        self.missing: list[str] = []
        self.ids, self.oom_seen = 0, 0
        self.bubblewrap = False
        self.launched = False  # started, its hello not yet read (``wait_ready``)
        self.scratch_left: list[str] = []  # (a scratch left outlives a restart
        # without bubblewrap: it is on the host's /tmp)

    # ---- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self) -> None:
        """Start the zygote without waiting for it (``wait_ready``): its imports run
        while the caller does its own."""
        self.kill()
        problem = bwrap_problem(self.device) if self.use_bwrap else "not asked for"
        identity = sandbox_identity()  # as root: student code's own unprivileged user
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        policy = course_policy(self.device, self.threads, identity, memory_mb=self.memory_mb,
                               bubblewrap=problem is None)
        command = zygote_command(policy, child.fileno(), problem is None, self.warm,
                                 self.optional)
        env = dict(policy.env)
        name = f"{GROUP_PREFIX}{os.getpid()}-{time.monotonic_ns()}"
        root = os.geteuid() == 0  # the cgroups are joined as root, before the drop
        self.groups = [ProcessGroup(name, limit, controller)
                       for controller, limit in policy.cgroups] if root else []
        joined = [os.path.join(g.path, "cgroup.procs") for g in self.groups if g.path is not None]
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
        self.bubblewrap = problem is None
        refused = identity_problem(self.device, self.bubblewrap)  # while the zygote warms up
        if refused:
            self.kill()
            raise SandboxGone(refused)
        self.missing = missing(policy, problem, [bool(g.path) for g in self.groups])
        self.launched = True

    def wait_ready(self) -> None:
        """Wait for a launched zygote's hello (once its heavy modules are imported)."""
        if not self.launched:
            return
        self.launched = False
        hello = self.receive(STARTUP_SECONDS)
        if not hello.get("ready"):
            raise SandboxGone("the sandbox did not start")
        self.missing += [str(m) for m in hello.get("missing", [])]
        self.missing += self.scratch_left

    def oom_kills(self) -> int:
        """Processes killed so far for the sandbox's memory cap (0 where none is set)."""
        return sum(g.oom_kills() for g in self.groups if g.controller == "memory")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """Kill the sandbox (bwrap takes every process in it along)."""
        process = self.process
        if process is not None:
            kill: Callable[[], None]
            for kill in (lambda: os.killpg(process.pid, signal.SIGKILL), process.kill):
                try:
                    kill()
                except (ProcessLookupError, PermissionError, OSError):
                    pass
            process.wait()
        for group in self.groups:
            group.kill_all()
        if self.control is not None:
            self.control.close()
        if self.log is not None:
            self.log.close()
        self.process, self.control, self.log = None, None, None
        self.groups, self.launched = [], False

    def startup_error(self) -> str:
        """The last lines the zygote wrote to stderr (why it did not start)."""
        if self.log is None:
            return ""
        self.log.seek(0)
        lines = self.log.read()[-4000:].decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    # ---- messages ----------------------------------------------------------------------

    def receive(self, seconds: float) -> dict[str, Any]:
        assert self.control is not None, "called only once the zygote is started"
        self.control.settimeout(seconds)
        try:
            data = self.control.recv(64 << 10)
        except (TimeoutError, OSError) as error:
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

    def fail(self, reason: str) -> NoReturn:
        detail = self.startup_error()
        self.kill()
        raise SandboxGone(f"{reason}{': ' + detail if detail else ''}")

    # ---- notebooks -----------------------------------------------------------------------

    def open_notebook(self, timeout: float, limits: Limits | None = None, readable: Iterable[str] = (),
                      namespaces: bool = True) -> tuple[int, int, int, list[str]]:
        """A new notebook process: (id, wire read fd, wire write fd, missing);
        ``namespaces=False`` (for tests) forks it without namespaces of its own."""
        from dataclasses import asdict
        if not self.alive():
            self.start()
        self.wait_ready()  # launched by the worker, its hello not read yet
        self.ids += 1
        self.oom_seen = self.oom_kills()
        to_child_read, to_child_write = os.pipe()
        from_child_read, from_child_write = os.pipe()
        message = {"op": "start", "id": self.ids, "timeout": timeout,
                   "limits": asdict(limits) if limits else None, "readable": list(readable),
                   "namespaces": bool(namespaces)}
        try:
            assert self.control is not None, "start() made it"
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

    def close_notebook(self, notebook_id: int, grace: float = 5) -> str | None:
        """Stop a notebook (killed past ``grace`` s); None for a clean exit, else why it
        stopped. A zygote that does not answer is killed and started again later."""
        try:
            self.control.send(  # type: ignore[union-attr]  # None: no zygote, the AttributeError below
                json.dumps({"op": "stop", "id": notebook_id, "grace": grace}).encode())
            reply = self.receive(grace + REPLY_SECONDS)
        except (OSError, SandboxGone, AttributeError):
            self.kill()
            return "the sandbox stopped answering and was restarted"
        if reply.get("ended") != notebook_id:
            self.kill()
            return "the sandbox broke its protocol and was restarted"
        if reply.get("scratch_left"):  # its /tmp goes with it, and the next has all of it
            self.kill()
            if not self.bubblewrap:  # on the host's /tmp, it stays: later notebooks are told
                self.scratch_left = [f"{str(reply['scratch_left'])[:300]}: this notebook may "
                                     "have less scratch space"]
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


_SANDBOX: Sandbox | None = None


def worker_sandbox(device: str | None = None, threads: int | None = None,
                   memory_mb: int | None = None, optional: Iterable[str] | None = None) -> Sandbox:
    """This worker's sandbox (one zygote per grading worker), killed, cgroups and all,
    when the worker exits; ``optional``: the optional heavy modules its zygote imports
    (None: all), as the first call asks (a Dask worker that outlives its run is given
    another run's by ``pool.dask_worker_setup``, which starts its zygote again)."""
    global _SANDBOX
    if _SANDBOX is None:
        import atexit
        _SANDBOX = Sandbox(device,
                           threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0) or None,
                           memory_mb=memory_mb, optional=optional)
        atexit.register(_SANDBOX.kill)
    return _SANDBOX


def remove_stale_groups() -> None:
    """The cgroups of sandboxes whose worker is gone (a grader killed with SIGKILL)."""
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
    for prefix in (GROUP_PREFIX, "firstmlp-zygote-"):  # sandboxes; notebooks without bwrap
        ProcessGroup.remove_stale(prefix, alive)
